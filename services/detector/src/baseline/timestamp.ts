import { DateTime } from 'luxon';

/**
 * Parses a series timestamp to ms since epoch. Accepted: ISO 8601 (`2026-03-02T14:00:00Z`,
 * offsets, fractions), SQL-style `2026-03-02 14:00:00[.fff]` and both without an offset, which are
 * read in `zone` (IANA name, default UTC; DST gaps resolve forward as luxon does), and bare epoch
 * seconds (`1772460000`, fractions allowed).
 * @returns ms since epoch, or undefined when the text is not a timestamp.
 */
export function parseSeriesTimestamp(text: string, zone = 'UTC'): number | undefined {
  const s = text.trim();
  if (s === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(s)) return Math.round(Number(s) * 1000);
  let dt = DateTime.fromISO(s.replace(' ', 'T'), { zone });
  if (!dt.isValid) dt = DateTime.fromSQL(s, { zone });
  return dt.isValid ? dt.toMillis() : undefined;
}
