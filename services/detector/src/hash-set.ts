/** FNV-1a 32-bit hash of a string, optionally seeded (never 0: 0 marks an empty slot). */
export function hash32(s: string, seed = 0): number {
  let h = (0x811c9dc5 ^ Math.imul(seed, 0x9e3779b1)) >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h >>>= 0;
  return h === 0 ? 1 : h;
}

/**
 * A compact set of strings stored as 32-bit hashes (open addressing, linear probing): 4 bytes per
 * slot, load ≤ 0.7, for first-seen checks (identity → repository/network/client). A hash
 * `seed` separates kinds of values sharing one set (namespaces, networks, clients). A hash
 * collision makes a new value look already seen (probability ~ n/2³² per lookup): a missed
 * first-seen, never a false alarm.
 */
export class HashSet32 {
  private table: Uint32Array;
  private count = 0;

  constructor(capacity = 8, table?: Uint32Array) {
    this.table = table ?? new Uint32Array(capacity);
    if (table) for (const v of table) if (v !== 0) this.count++;
  }

  get size(): number {
    return this.count;
  }

  /** Adds `s`; returns true when it was not present before. */
  add(s: string, seed = 0): boolean {
    const h = hash32(s, seed);
    if ((this.count + 1) / this.table.length > 0.7) this.grow();
    return this.insert(h);
  }

  has(s: string, seed = 0): boolean {
    const h = hash32(s, seed);
    const t = this.table;
    const mask = t.length - 1;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      if (t[i] === 0) return false;
      if (t[i] === h) return true;
    }
  }

  /** The raw table (for snapshots). */
  raw(): Uint32Array {
    return this.table;
  }

  private insert(h: number): boolean {
    const t = this.table;
    const mask = t.length - 1;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      if (t[i] === 0) {
        t[i] = h;
        this.count++;
        return true;
      }
      if (t[i] === h) return false;
    }
  }

  private grow(): void {
    const old = this.table;
    this.table = new Uint32Array(old.length * 2);
    this.count = 0;
    for (const h of old) if (h !== 0) this.insert(h);
  }
}
