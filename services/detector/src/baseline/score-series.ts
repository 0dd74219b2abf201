import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { AppError } from '../../../../shared/src/errors.ts';
import { SeriesBaseline, type SeriesBaselineOptions } from './series-baseline.ts';
import { parseSeriesTimestamp } from './timestamp.ts';

export interface SeriesRow {
  /** Timestamp exactly as written in the input. */
  readonly timestamp: string;
  /** Value exactly as written in the input. */
  readonly value: string;
  readonly expected: number | undefined;
  readonly lower: number | undefined;
  readonly upper: number | undefined;
  /** Anomaly score in [0, 1]: 1 / (1 + exp(−2·(z − k))), < 0.5 inside the band (see SeriesBaseline). */
  readonly score: number;
  /** The value is outside [lower, upper] (score > 0.5); false during warm-up. */
  readonly anomaly: boolean;
}

export interface ScoreSeriesOptions extends SeriesBaselineOptions {
  /** IANA zone for timestamps written without an offset. Default UTC. */
  zone?: string;
}

function stripQuotes(s: string): string {
  const t = s.trim();
  return t.length >= 2 && t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1) : t;
}

/** At most this many bad rows are listed in a BASELINE_INPUT_INVALID error (all are counted). */
export const MAX_LISTED_PROBLEMS = 20;

/** One bad line of a series CSV: 1-based line number and what is wrong with it. */
export interface SeriesProblem {
  readonly line: number;
  readonly message: string;
}

/** A parsed data row, or a problem with one line. */
type Parsed =
  | {
      readonly ok: true;
      readonly line: number;
      readonly t: number;
      readonly v: number;
      readonly tsText: string;
      readonly valueText: string;
    }
  | { readonly ok: false; readonly problem: SeriesProblem };

/**
 * Parses a series CSV line by line (header `timestamp,value`, then data rows; blank lines and a
 * UTF-8 BOM are skipped). Every bad line is yielded as a problem and parsing goes on, so one pass
 * finds them all. A wrong header is a problem of line 1 and ends parsing (the rows cannot be read).
 */
async function* parseSeriesCsv(input: Readable, zone: string | undefined): AsyncGenerator<Parsed> {
  const rl = createInterface({ input, crlfDelay: Infinity });
  let lineNo = 0;
  let header = false;
  let rows = 0;
  let prevT = -Infinity;
  const bad = (message: string): Parsed => ({ ok: false, problem: { line: lineNo, message } });
  for await (const raw of rl) {
    lineNo++;
    const line = raw.replace(/^\uFEFF/, '');
    if (line.trim() === '') continue;
    const parts = line.split(',');
    if (!header) {
      const names = parts.map((p) => stripQuotes(p).toLowerCase());
      if (names.length !== 2 || names[0] !== 'timestamp' || names[1] !== 'value') {
        yield bad(`expected the header "timestamp,value", got "${line.slice(0, 80)}"`);
        rl.close();
        return;
      }
      header = true;
      continue;
    }
    rows++;
    if (parts.length !== 2) {
      yield bad(`expected 2 fields (timestamp,value), got ${parts.length}`);
      continue;
    }
    const tsText = stripQuotes(parts[0]!);
    const valueText = stripQuotes(parts[1]!);
    const t = parseSeriesTimestamp(tsText, zone);
    const v = valueText === '' ? NaN : Number(valueText);
    const why: string[] = [];
    if (t === undefined)
      why.push(`unparseable timestamp "${tsText.slice(0, 40)}" (ISO 8601, "YYYY-MM-DD HH:MM:SS" or epoch seconds)`);
    if (!Number.isFinite(v)) why.push(`value "${valueText.slice(0, 40)}" is not a finite number`);
    if (t !== undefined && t < prevT)
      why.push(`timestamp "${tsText}" is earlier than the previous row (series must be in time order)`);
    if (t !== undefined && t > prevT) prevT = t;
    if (why.length > 0) {
      yield bad(why.join('; '));
      continue;
    }
    yield { ok: true, line: lineNo, t: t!, v, tsText, valueText };
  }
  if (!header) yield { ok: false, problem: { line: 1, message: 'empty input: expected the header "timestamp,value"' } };
  else if (rows === 0) yield { ok: false, problem: { line: lineNo, message: 'the series has a header but no rows' } };
}

/**
 * The error for a series with problems: every bad line in one message (the first
 * MAX_LISTED_PROBLEMS listed with their line numbers, the rest counted), `context.problems`
 * (listed ones) and `context.count` (all).
 */
function seriesInvalid(problems: readonly SeriesProblem[], count: number): AppError {
  const listed = problems.map((p) => `line ${p.line}: ${p.message}`);
  const more = count > problems.length ? `\n  … and ${count - problems.length} more` : '';
  const head = count === 1 ? listed[0]! : `${count} bad rows:\n  ${listed.join('\n  ')}${more}`;
  return new AppError('BASELINE_INPUT_INVALID', head, {
    context: { count, problems: problems.map((p) => ({ line: p.line, message: p.message })), line: problems[0]?.line },
  });
}

/**
 * Checks a whole series CSV without scoring it (one pass, constant memory), so a caller can refuse
 * a bad file before printing anything.
 * @returns nothing when the series is valid.
 * @throws AppError BASELINE_INPUT_INVALID (not retriable) listing every bad line (see `scoreSeriesCsv`).
 */
export async function checkSeriesCsv(input: Readable, options: Pick<ScoreSeriesOptions, 'zone'> = {}): Promise<void> {
  const problems: SeriesProblem[] = [];
  let count = 0;
  for await (const p of parseSeriesCsv(input, options.zone)) {
    if (p.ok) continue;
    count++;
    if (problems.length < MAX_LISTED_PROBLEMS) problems.push(p.problem);
  }
  if (count > 0) throw seriesInvalid(problems, count);
}

/**
 * Streams a CSV series (header `timestamp,value`) and yields one scored row per input point, in
 * input order, each scored only from the points before it (see SeriesBaseline for `score` and
 * `anomaly`). Once a bad line is met nothing more is yielded, but the rest of the input is still
 * read so that every bad line is reported at once.
 * @throws AppError BASELINE_INPUT_INVALID (not retriable) after the whole input was read, listing
 *   every bad line with its 1-based line number (at most MAX_LISTED_PROBLEMS listed, all counted):
 *   missing/wrong header, a row without two fields, an unparseable timestamp, a non-numeric value,
 *   a timestamp earlier than the previous row, or an empty series.
 */
export async function* scoreSeriesCsv(input: Readable, options: ScoreSeriesOptions = {}): AsyncGenerator<SeriesRow> {
  const engine = new SeriesBaseline(options);
  const problems: SeriesProblem[] = [];
  let count = 0;
  for await (const p of parseSeriesCsv(input, options.zone)) {
    if (!p.ok) {
      count++;
      if (problems.length < MAX_LISTED_PROBLEMS) problems.push(p.problem);
      continue;
    }
    if (count > 0) continue;
    const s = engine.next(p.t, p.v);
    yield {
      timestamp: p.tsText,
      value: p.valueText,
      expected: s.expected,
      lower: s.lower,
      upper: s.upper,
      score: s.score,
      anomaly: s.anomaly,
    };
  }
  if (count > 0) throw seriesInvalid(problems, count);
}

/** Formats a number for CSV/NDJSON output: up to 6 decimals, no trailing zeros; '' when absent. */
export function formatNumber(x: number | undefined): string {
  if (x === undefined) return '';
  return String(Number(x.toFixed(6)));
}
