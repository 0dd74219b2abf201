import { assertTimeZone } from '../../services/detector/src/time.ts';
import { createReadStream } from 'node:fs';
import type { Command } from 'commander';
import { AppError } from '../../shared/src/errors.ts';
import { formatNumber, scoreSeriesCsv } from '../../services/detector/src/baseline/score-series.ts';

/**
 * `regwatch baseline --series FILE.csv [--format csv|ndjson]`: prints, per input point and in input
 * order, `timestamp,value,expected,lower,upper,score` (score in [0, 1]) computed from the points
 * before it only (streaming, no look-ahead). `-` reads stdin.
 */
export function register(program: Command): void {
  program
    .command('baseline')
    .description('score a (timestamp,value) CSV series with the streaming baseline engine (no look-ahead)')
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
      const input = opts.series === '-' ? process.stdin : createReadStream(opts.series);
      const opened = new Promise<void>((resolve, reject) => {
        if (opts.series === '-') resolve();
        input.once('error', (err: Error) =>
          reject(new AppError('INPUT_UNREADABLE', `cannot read ${opts.series}: ${err.message}`, { cause: err })),
        );
        input.once('readable', () => resolve());
      });
      await opened;
      const out: string[] = [];
      const flush = async (): Promise<void> => {
        if (out.length === 0) return;
        const chunk = out.join('');
        out.length = 0;
        if (!process.stdout.write(chunk)) await new Promise<void>((r) => process.stdout.once('drain', () => r()));
      };
      if (opts.format === 'csv') out.push('timestamp,value,expected,lower,upper,score\n');
      for await (const row of scoreSeriesCsv(input, { zone: opts.tz, warmup, k })) {
        if (opts.format === 'csv') {
          out.push(
            `${row.timestamp},${row.value},${formatNumber(row.expected)},${formatNumber(row.lower)},${formatNumber(row.upper)},${formatNumber(row.score)}\n`,
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
            }) + '\n',
          );
        }
        if (out.length >= 512) await flush();
      }
      await flush();
    });
}
