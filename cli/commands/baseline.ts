import { assertTimeZone } from '../../services/detector/src/time.ts';
import { createReadStream } from 'node:fs';
import type { Command } from 'commander';
import { AppError } from '../../shared/src/errors.ts';
import type { Readable } from 'node:stream';
import { checkSeriesCsv, formatNumber, scoreSeriesCsv } from '../../services/detector/src/baseline/score-series.ts';

/** The score definition, shown in `--help` (and so in the README's generated CLI reference). */
const DESCRIPTION = `score a (timestamp,value) CSV series with the streaming baseline engine (no look-ahead)

Output per input point, in input order: timestamp,value,expected,lower,upper,score,anomaly — each
point scored only from the points before it.
  expected      robust seasonal prediction (median of the same phase in past cycles, or rolling)
  lower, upper  the band expected ± k·scale (scale: robust standard deviation from MADs)
  score         anomaly score in [0, 1] = 1 / (1 + exp(-2·(z - k))), z = |value - expected| / scale:
                monotone in the deviation; < 0.5 inside the band, 0.5 on its edge, > 0.5 outside
                (k = 3: 0.0025 at the expected value, 0.12 one scale inside the edge, 0.88 one
                scale beyond it, 0.998 three beyond)
  anomaly       true when the value is outside [lower, upper] (score > 0.5)
During the first --warmup points score is 0 and anomaly false. Bad rows: all are reported at once
(line numbers, first 20 listed), exit status 2, nothing printed for a bad file.`;

/**
 * `regwatch baseline --series FILE.csv [--format csv|ndjson]`: prints, per input point and in input
 * order, `timestamp,value,expected,lower,upper,score,anomaly` computed from the points before it
 * only (streaming, no look-ahead); `score` in [0, 1] is a logistic of the robust z beyond the band
 * (see DESCRIPTION and SeriesBaseline). A file is checked completely first, so a bad file prints
 * nothing and lists every bad row; `-` reads stdin (streamed: rows before the first bad line are
 * printed, then every bad line is listed).
 * @throws AppError BASELINE_INPUT_INVALID (bad options or rows), INPUT_UNREADABLE.
 */
export function register(program: Command): void {
  program
    .command('baseline')
    .summary('score a (timestamp,value) CSV series with the streaming baseline engine (no look-ahead)')
    .description(DESCRIPTION)
    .requiredOption('--series <file>', 'CSV with header timestamp,value (- for stdin)')
    .option('--format <format>', 'csv or ndjson', 'csv')
    .option('--tz <zone>', 'IANA time zone for timestamps without an offset', 'UTC')
    .option('--warmup <n>', 'points before scoring starts', '24')
    .option('--k <k>', 'band width in robust standard deviations', '3')
    .action(async (opts: { series: string; format: string; tz: string; warmup: string; k: string }) => {
      if (opts.format !== 'csv' && opts.format !== 'ndjson')
        throw new AppError('BASELINE_INPUT_INVALID', `--format must be csv or ndjson, got "${opts.format}"`);
      const warmup = Number(opts.warmup);
      const k = Number(opts.k);
      if (!Number.isInteger(warmup) || warmup < 0)
        throw new AppError('BASELINE_INPUT_INVALID', '--warmup must be a non-negative integer');
      if (!(k > 0)) throw new AppError('BASELINE_INPUT_INVALID', '--k must be a positive number');
      try {
        assertTimeZone(opts.tz);
      } catch {
        throw new AppError(
          'BASELINE_INPUT_INVALID',
          `--tz: "${opts.tz}" is not an IANA time zone (e.g. UTC, Europe/Berlin)`,
        );
      }
      const open = async (): Promise<Readable> => {
        const input = opts.series === '-' ? process.stdin : createReadStream(opts.series);
        await new Promise<void>((resolve, reject) => {
          if (opts.series === '-') resolve();
          input.once('error', (err: Error) =>
            reject(new AppError('INPUT_UNREADABLE', `cannot read ${opts.series}: ${err.message}`, { cause: err })),
          );
          input.once('readable', () => resolve());
        });
        return input;
      };
      // A file is checked whole first: a bad file prints nothing and lists all its bad rows.
      if (opts.series !== '-') await checkSeriesCsv(await open(), { zone: opts.tz });
      const input = await open();
      const out: string[] = [];
      const flush = async (): Promise<void> => {
        if (out.length === 0) return;
        const chunk = out.join('');
        out.length = 0;
        if (!process.stdout.write(chunk)) await new Promise<void>((r) => process.stdout.once('drain', () => r()));
      };
      if (opts.format === 'csv') out.push('timestamp,value,expected,lower,upper,score,anomaly\n');
      for await (const row of scoreSeriesCsv(input, { zone: opts.tz, warmup, k })) {
        if (opts.format === 'csv') {
          out.push(
            `${row.timestamp},${row.value},${formatNumber(row.expected)},${formatNumber(row.lower)},${formatNumber(row.upper)},${formatNumber(row.score)},${row.anomaly}\n`,
          );
        } else {
          out.push(
            JSON.stringify({
              timestamp: row.timestamp,
              value: Number(row.value),
              expected: row.expected ?? null,
              lower: row.lower ?? null,
              upper: row.upper ?? null,
              score: Number(formatNumber(row.score)),
              anomaly: row.anomaly,
            }) + '\n',
          );
        }
        if (out.length >= 512) await flush();
      }
      await flush();
    });
}
