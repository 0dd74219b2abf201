/**
 * Hash of `key` cut to 30 bits (small integers stay unboxed when passed between functions; a
 * 32-bit hash above 2³⁰ would be boxed as a heap number on every non-inlined call).
 *
 * Keys are event ids and request ids: 32–36 characters (hex ids, UUIDs) hashed twice per event,
 * so this reads four UTF-16 code units per multiply (xor-folded into one 32-bit word, murmur3-style
 * mixing, fmix32 finalizer) instead of one per multiply as FNV-1a does. Distribution only decides
 * chain lengths: lookups still compare the strings themselves, so answers stay exact. Not
 * persisted (a snapshot keeps the keys, and hashes are recomputed on restore).
 */
export function smiHash(key: string): number {
  const n = key.length;
  let h = n ^ 0x9747b28c;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    let k =
      key.charCodeAt(i) ^ (key.charCodeAt(i + 1) << 8) ^ (key.charCodeAt(i + 2) << 16) ^ (key.charCodeAt(i + 3) << 24);
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, 0x1b873593);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  for (; i < n; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h & 0x3fffffff;
}

/**
 * Exact, bounded memory of the most recent distinct string keys (event ids for duplicate
 * suppression, `http.request.id`s for the request join), each with a value, forgotten oldest
 * first once `capacity` keys are held.
 *
 * Hot path of the detector (one lookup and one insert per event), so it is built to touch little
 * memory and allocate nothing per operation: a ring of slots (key, value, 32-bit hash, chain link)
 * and a power-of-two table of chain heads indexed by the hash (separate chaining through the
 * ring). A lookup hashes the key ({@link smiHash}), reads one head and compares hashes along a
 * short chain (load ≤ 1), comparing the strings themselves only on a hash match, so answers are exact. The
 * arrays are allocated on first insert (an engine that never sees request ids pays nothing), the
 * value array on the first value. Memory when full: about 22 bytes per key (8 more with values)
 * plus the key strings themselves.
 */
export class RecentKeys<V> {
  readonly capacity: number;
  private keys: (string | undefined)[] = [];
  private values: (V | undefined)[] = [];
  private hashes = new Int32Array(0);
  private links = new Int32Array(0);
  private heads = new Int32Array(0);
  private mask = 0;
  private pos = 0;
  private count = 0;

  /** @throws RangeError when `capacity` is not a positive integer. */
  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be ≥ 1, got ${capacity}`);
    this.capacity = capacity;
  }

  /** Keys currently held (≤ capacity). */
  get size(): number {
    return this.count;
  }

  /** Remembers `key` unless it is held; returns true when it was added (it was not held). */
  addIfAbsent(key: string): boolean {
    const h = smiHash(key);
    if (this.find(key, h) >= 0) return false;
    this.insert(key, h, undefined);
    return true;
  }

  /**
   * The value held with `key`; when `key` is not held, remembers it with `value` and returns
   * undefined (one hash and one lookup for the pair).
   */
  getOrAdd(key: string, value: V): V | undefined {
    const h = smiHash(key);
    const i = this.find(key, h);
    if (i >= 0) return this.values[i];
    this.insert(key, h, value);
    return undefined;
  }

  /** True when `key` is among the remembered keys. */
  has(key: string): boolean {
    return this.find(key, smiHash(key)) >= 0;
  }

  /** The value remembered with `key`, or undefined when it is not (or no longer) held. */
  get(key: string): V | undefined {
    const i = this.find(key, smiHash(key));
    return i >= 0 ? this.values[i] : undefined;
  }

  /**
   * Remembers `key` (with `value`, if any), forgetting the oldest key when full. The caller checks
   * `has` first: adding a key already held stores a second entry (lookups find the newer one).
   */
  add(key: string, value?: V): void {
    this.insert(key, smiHash(key), value);
  }

  private insert(key: string, h: number, value: V | undefined): void {
    if (this.heads.length === 0) this.allocate();
    if (value !== undefined && this.values.length === 0)
      this.values = new Array<V | undefined>(this.capacity).fill(undefined);
    const p = this.pos;
    const old = this.keys[p];
    if (old !== undefined) this.unlink(p);
    else this.count++;
    const b = h & this.mask;
    this.keys[p] = key;
    if (this.values.length) this.values[p] = value;
    this.hashes[p] = h;
    this.links[p] = this.heads[b]!;
    this.heads[b] = p;
    this.pos = p + 1 === this.capacity ? 0 : p + 1;
  }

  /** The held keys, oldest first. */
  keysInOrder(): string[] {
    const out: string[] = [];
    const n = this.keys.length;
    for (let i = 0; i < n; i++) {
      const k = this.keys[(this.pos + i) % n];
      if (k !== undefined) out.push(k);
    }
    return out;
  }

  private find(key: string, h: number): number {
    if (this.count === 0) return -1;
    const s = h | 0;
    for (let i = this.heads[s & this.mask]!; i >= 0; i = this.links[i]!) {
      if (this.hashes[i] === s && this.keys[i] === key) return i;
    }
    return -1;
  }

  /** Removes ring slot `p` from its chain (it is the oldest entry, so normally the chain's tail). */
  private unlink(p: number): void {
    const b = this.hashes[p]! & this.mask;
    let i = this.heads[b]!;
    if (i === p) this.heads[b] = this.links[p]!;
    else {
      while (i >= 0) {
        const next = this.links[i]!;
        if (next === p) {
          this.links[i] = this.links[p]!;
          break;
        }
        i = next;
      }
    }
    this.keys[p] = undefined;
    if (this.values.length) this.values[p] = undefined;
  }

  private allocate(): void {
    let size = 8;
    while (size < this.capacity) size *= 2;
    this.mask = size - 1;
    this.heads = new Int32Array(size).fill(-1);
    this.hashes = new Int32Array(this.capacity);
    this.links = new Int32Array(this.capacity);
    this.keys = new Array<string | undefined>(this.capacity).fill(undefined);
  }
}
