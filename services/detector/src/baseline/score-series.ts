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
  /** Anomaly score in [0, 1]. */
  readonly score: number;
}

export interface ScoreSeriesOptions extends SeriesBaselineOptions {
  /** IANA zone for timestamps written without an offset. Default UTC. */
  zone?: string;
}

function stripQuotes(s: string): string {
  const t = s.trim();
  return t.length >= 2 && t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1) : t;
}

/**
 * Streams a CSV series (header `timestamp,value`) and yields one scored row per input point, in
 * input order, each scored only from the points before it.
 * @throws AppError BASELINE_INPUT_INVALID (not retriable) naming the line: missing/wrong header,
 *   a row without two fields, an unparseable timestamp, a non-numeric value, a timestamp earlier
 *   than the previous one, or an empty series.
 */
export async function* scoreSeriesCsv(input: Readable, options: ScoreSeriesOptions = {}): AsyncGenerator<SeriesRow> {
  const rl = createInterface({ input, crlfDelay: Infinity });
  const engine = new SeriesBaseline(options);
  let lineNo = 0;
  let header = false;
  let rows = 0;
  let prevT = -Infinity;
  const fail = (msg: string): never => {
    throw new AppError('BASELINE_INPUT_INVALID', `line ${lineNo}: ${msg}`, { context: { line: lineNo } });
  };
  for await (const raw of rl) {
    lineNo++;
    const line = raw.replace(/^\uFEFF/, '');
    if (line.trim() === '') continue;
    const parts = line.split(',');
    if (!header) {
      const names = parts.map((p) => stripQuotes(p).toLowerCase());
      if (names.length !== 2 || names[0] !== 'timestamp' || names[1] !== 'value')
        fail(`expected the header "timestamp,value", got "${line.slice(0, 80)}"`);
      header = true;
      continue;
    }
    if (parts.length !== 2) fail(`expected 2 fields (timestamp,value), got ${parts.length}`);
    const tsText = stripQuotes(parts[0]!);
    const valueText = stripQuotes(parts[1]!);
    const t = parseSeriesTimestamp(tsText, options.zone);
    if (t === undefined)
      fail(`unparseable timestamp "${tsText.slice(0, 40)}" (ISO 8601, "YYYY-MM-DD HH:MM:SS" or epoch seconds)`);
    const v = valueText === '' ? NaN : Number(valueText);
    if (!Number.isFinite(v)) fail(`value "${valueText.slice(0, 40)}" is not a finite number`);
    if (t! < prevT) fail(`timestamp "${tsText}" is earlier than the previous row (series must be in time order)`);
    prevT = t!;
    const p = engine.next(t!, v);
    rows++;
    yield { timestamp: tsText, value: valueText, expected: p.expected, lower: p.lower, upper: p.upper, score: p.score };
  }
  if (!header) throw new AppError('BASELINE_INPUT_INVALID', 'empty input: expected the header "timestamp,value"');
  if (rows === 0) throw new AppError('BASELINE_INPUT_INVALID', 'the series has a header but no rows');
}

/** Formats a number for CSV/NDJSON output: up to 6 decimals, no trailing zeros; '' when absent. */
export function formatNumber(x: number | undefined): string {
  if (x === undefined) return '';
  return String(Number(x.toFixed(6)));
}
