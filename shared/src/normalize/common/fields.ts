/**
 * Hand-checked field reads for the per-line hot path (zod schemas document the same shapes and
 * are used for envelopes and in tests; see distribution/schemas.ts). The first type problem is
 * kept in `problem` so the caller can reject the line with `schema_mismatch`.
 */
export class FieldReader {
  readonly obj: Record<string, unknown>;
  problem: string | undefined;

  constructor(obj: Record<string, unknown>) {
    this.obj = obj;
    this.problem = undefined;
  }

  /** A string field; `null`/absent → undefined; numbers/booleans are stringified (logrus may print them). */
  str(key: string): string | undefined {
    const v = this.obj[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'string') return v;
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    this.problem ??= `${key}: expected a string, got ${Array.isArray(v) ? 'array' : typeof v}`;
    return undefined;
  }

  /** A non-negative integer field (number or digit string); anything else is a problem. */
  int(key: string): number | undefined {
    const v = this.obj[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return v;
    if (typeof v === 'string' && /^\d{1,15}$/.test(v)) return Number(v);
    this.problem ??= `${key}: expected a non-negative integer, got ${JSON.stringify(v)?.slice(0, 40) ?? typeof v}`;
    return undefined;
  }

  /** A value of any JSON type (used for `err.detail`, whose type varies). */
  any(key: string): unknown {
    return this.obj[key];
  }
}
