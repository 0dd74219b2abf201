/**
 * Hand-checked field reads for the per-line hot path (zod schemas document the same shapes and
 * are used for envelopes and in tests; see distribution/schemas.ts). The first type problem is
 * kept in `problem` so the caller can reject the line with `schema_mismatch`.
 *
 * Fields come from a parsed JSON object, or from a Map (logfmt lines: building an object from
 * parsed keys would cost a property-name interning per key and a slow dictionary-mode object).
 */
export class FieldReader {
  /** The JSON object read from; an empty object when the reader wraps a Map. */
  readonly obj: Record<string, unknown>;
  /** The logfmt fields read from, when the reader wraps a Map. */
  readonly fields: ReadonlyMap<string, unknown> | undefined;
  problem: string | undefined;

  constructor(source: Record<string, unknown> | ReadonlyMap<string, unknown>) {
    if (source instanceof Map) {
      this.obj = NO_FIELDS;
      this.fields = source as ReadonlyMap<string, unknown>;
    } else {
      this.obj = source as Record<string, unknown>;
      this.fields = undefined;
    }
    this.problem = undefined;
  }

  /** A string field; `null`/absent → undefined; numbers/booleans are stringified (logrus may print them). */
  str(key: string): string | undefined {
    const v = this.any(key);
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'string') return v;
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    this.problem ??= `${key}: expected a string, got ${Array.isArray(v) ? 'array' : typeof v}`;
    return undefined;
  }

  /** A non-negative integer field (number or digit string); anything else is a problem. */
  int(key: string): number | undefined {
    const v = this.any(key);
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return v;
    if (typeof v === 'string' && isDigits(v)) return Number(v);
    this.problem ??= `${key}: expected a non-negative integer, got ${JSON.stringify(v)?.slice(0, 40) ?? typeof v}`;
    return undefined;
  }

  /** A value of any JSON type (used for `err.detail`, whose type varies). */
  any(key: string): unknown {
    return this.fields === undefined ? this.obj[key] : this.fields.get(key);
  }
}

const NO_FIELDS: Record<string, unknown> = Object.freeze({});

/** `/^\d{1,15}$/` without the regex. */
function isDigits(v: string): boolean {
  if (v.length === 0 || v.length > 15) return false;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/**
 * {@link FieldReader} over a fixed key list: the values are gathered by ONE pass over the record's
 * own keys (see {@link collectSlots}) into an array indexed by the key's position in `keys`, so
 * each read is an array load instead of a property lookup by name (on JSON objects of many shapes
 * those lookups are megamorphic, and most of the ~40 keys read are absent). `str`/`int`/`any` have
 * exactly FieldReader's semantics and problem texts; reads take the key's index.
 */
export class SlotReader {
  /** Key names by index (for problem texts). */
  readonly keys: readonly string[];
  /** Raw values by key index; undefined when the record lacks the key. */
  readonly vals: unknown[];
  problem: string | undefined;

  constructor(keys: readonly string[], vals: unknown[]) {
    this.keys = keys;
    this.vals = vals;
    this.problem = undefined;
  }

  /** A string field; `null`/absent → undefined; numbers/booleans are stringified (logrus may print them). */
  str(i: number): string | undefined {
    const v = this.vals[i];
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'string') return v;
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    this.problem ??= `${this.keys[i] ?? i}: expected a string, got ${Array.isArray(v) ? 'array' : typeof v}`;
    return undefined;
  }

  /** A non-negative integer field (number or digit string); anything else is a problem. */
  int(i: number): number | undefined {
    const v = this.vals[i];
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return v;
    if (typeof v === 'string' && isDigits(v)) return Number(v);
    this.problem ??= `${this.keys[i] ?? i}: expected a non-negative integer, got ${JSON.stringify(v)?.slice(0, 40) ?? typeof v}`;
    return undefined;
  }

  /** A value of any JSON type. */
  any(i: number): unknown {
    return this.vals[i];
  }
}

/**
 * Gathers the values of the keys a {@link SlotReader} reads, in one pass over a parsed JSON object
 * (`for…in`: V8 reads each value by field index, no name lookup) or a logfmt Map.
 * @param slotOf index of a key in the reader's key list, or -1 for keys not read.
 * @param empty an array of `undefined` as long as the key list (copied, never modified).
 */
export function collectSlots(
  source: Record<string, unknown> | ReadonlyMap<string, unknown>,
  slotOf: (key: string) => number,
  empty: readonly unknown[],
): unknown[] {
  const vals = empty.slice();
  if (source instanceof Map) {
    for (const [k, v] of source as ReadonlyMap<string, unknown>) {
      const i = slotOf(k);
      if (i >= 0) vals[i] = v;
    }
    return vals;
  }
  const obj = source as Record<string, unknown>;
  for (const k in obj) {
    const i = slotOf(k);
    if (i >= 0) vals[i] = obj[k];
  }
  return vals;
}
