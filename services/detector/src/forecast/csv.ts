/**
 * Strict reader for the `regwatch forecast --series FILE.csv` input: a header `timestamp,value`,
 * then one row per sample. Timestamps are `YYYY-MM-DD HH:MM[:SS[.fff]]` (read as UTC) or ISO 8601
 * with `T` and an optional offset (`Z`, `+02:00`); value = used bytes (a non-negative number).
 * Rows must be in non-decreasing time order (equal timestamps are duplicates and allowed). Blank
 * lines are skipped. Pure: takes the file text.
 */
import { AppError } from '../../../../shared/src/errors.ts';

export interface SeriesPoint {
  /** ms since epoch, UTC. */
  readonly t: number;
  /** Used bytes. */
  readonly v: number;
}

const SPACE_TS = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)$/;
const ISO_TS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?$/i;

/**
 * Parses one timestamp as described above. A form without an offset is read as UTC.
 * @returns ms since epoch, or NaN when the text is not one of the accepted forms.
 */
export function parseTimestamp(text: string): number {
  const s = text.trim();
  const sp = SPACE_TS.exec(s);
  if (sp) return Date.parse(`${sp[1]}T${sp[2]}Z`);
  if (!ISO_TS.test(s)) return NaN;
  const hasOffset = /(?:Z|[+-]\d{2}:?\d{2})$/i.test(s);
  return Date.parse(hasOffset ? s : `${s}Z`);
}

const invalid = (msg: string, line?: number): AppError =>
  new AppError(
    'FORECAST_INPUT_INVALID',
    line === undefined ? msg : `line ${line}: ${msg}`,
    line === undefined ? {} : { context: { line } },
  );

/**
 * Parses the CSV text of a usage series.
 * @returns the points in file order.
 * @throws AppError FORECAST_INPUT_INVALID (not retriable) naming the 1-based line for: an empty
 *   file, a missing/wrong header, a row without exactly two fields, an unparseable timestamp, a
 *   non-numeric or negative value, or a row earlier than the row before it.
 */
export function parseSeriesCsv(text: string): SeriesPoint[] {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  let headerSeen = false;
  const out: SeriesPoint[] = [];
  for (let i = 0; i < lines.length; i++) {
    const raw = (lines[i] as string).trim();
    const line = i + 1;
    if (raw === '') continue;
    const fields = raw.split(',').map((f) => f.trim().replace(/^"(.*)"$/, '$1'));
    if (!headerSeen) {
      if (fields.length !== 2 || fields[0]?.toLowerCase() !== 'timestamp' || fields[1]?.toLowerCase() !== 'value') {
        throw invalid(`expected the header "timestamp,value", got "${raw.slice(0, 80)}"`, line);
      }
      headerSeen = true;
      continue;
    }
    if (fields.length !== 2) throw invalid(`expected 2 fields (timestamp,value), got ${fields.length}`, line);
    const [ts, val] = fields as [string, string];
    const t = parseTimestamp(ts);
    if (!Number.isFinite(t))
      throw invalid(`timestamp "${ts.slice(0, 40)}" is neither "YYYY-MM-DD HH:MM:SS" nor ISO 8601`, line);
    const v = val === '' ? NaN : Number(val);
    if (!Number.isFinite(v)) throw invalid(`value "${val.slice(0, 40)}" is not a number`, line);
    if (v < 0) throw invalid(`value ${v} is negative (used bytes)`, line);
    const prev = out[out.length - 1];
    if (prev !== undefined && t < prev.t) {
      throw invalid(
        `rows are not sorted by time: ${new Date(t).toISOString()} comes after ${new Date(prev.t).toISOString()}`,
        line,
      );
    }
    out.push({ t, v });
  }
  if (!headerSeen) throw invalid('the series file is empty');
  if (out.length === 0) throw invalid('the series file has a header but no rows');
  return out;
}
