/**
 * Small structural predicates for hand-written hot-path checks that stand in for zod schemas
 * (each check built from these must accept a SUBSET of what its schema accepts; the schema stays
 * the documented contract, runs on the failure path for the error text, and property tests in
 * test/unit/normalize/ compare the two).
 */

/** A plain JSON object (not null, not an array). */
export function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `z.string().nullish()`: absent, null or a string. */
export function nullishStr(v: unknown): boolean {
  return v === undefined || v === null || typeof v === 'string';
}

/** `z.number().nullish()` (finite; JSON numbers always are). */
export function nullishNum(v: unknown): boolean {
  return v === undefined || v === null || (typeof v === 'number' && Number.isFinite(v));
}

/** `z.number().int().nullish()` (safe integers). */
export function nullishInt(v: unknown): boolean {
  return v === undefined || v === null || (typeof v === 'number' && Number.isSafeInteger(v));
}

/** `z.boolean().nullish()`. */
export function nullishBool(v: unknown): boolean {
  return v === undefined || v === null || typeof v === 'boolean';
}

/** `z.record(z.string(), z.unknown()).nullish()`: absent, null or a plain object. */
export function nullishRecord(v: unknown): boolean {
  return v === undefined || v === null || isObj(v);
}
