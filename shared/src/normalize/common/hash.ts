import { createHash } from 'node:crypto';

/**
 * Deterministic dedupe id: SHA-256 over the parts joined with U+001F (unit separator; `undefined`
 * becomes an empty field), as the first 32 lower-case hex characters (128 bits).
 * Used for `event.id` where the source has no id of its own (FORMATS.md "Dedupe and correlation keys").
 */
export function stableId(...parts: (string | number | undefined)[]): string {
  const h = createHash('sha256');
  for (let i = 0; i < parts.length; i++) {
    if (i > 0) h.update('\u001f');
    const p = parts[i];
    if (p !== undefined) h.update(typeof p === 'number' ? String(p) : p);
  }
  return h.digest('hex').slice(0, 32);
}
