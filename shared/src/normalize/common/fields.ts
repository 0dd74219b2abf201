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
