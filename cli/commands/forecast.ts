/**
 * `regwatch forecast --series FILE.csv --capacity BYTES [--warn 0.85] [--horizon-days 365]
 *   [--stale-after 1d] [--chart out.svg|out.png]`
 * Storage exhaustion forecast for one usage series (CSV `timestamp,value`, value = used bytes).
 * Prints a human summary on stderr (a stale-data warning first when the last sample is old, and
 * "already at/over" for a threshold already reached) and one JSON object on the last stdout line.
 */
import { readFile, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { AppError } from '../../shared/src/errors.ts';
import { parseSeriesCsv } from '../../services/detector/src/forecast/csv.ts';
import { forecastStorage } from '../../services/detector/src/forecast/model.ts';
import { assessStaleness, parseDurationSeconds } from '../../services/detector/src/forecast/staleness.ts';
import { summaryLines } from '../../services/detector/src/forecast/summary.ts';
import { chartFormatOf, renderForecastSvg, svgToPng } from '../../services/detector/src/forecast/chart.ts';

function positiveNumber(name: string, raw: string, max = Infinity): number {
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0 || n > max)
    throw new AppError('FORECAST_INPUT_INVALID', `${name} must be a number in (0, ${max}], got "${raw}"`);
  return n;
}

export function register(program: Command): void {
  program
    .command('forecast')
    .description('forecast days to the warning level and to full from a CSV usage series (timestamp,value)')
    .requiredOption(
      '--series <file>',
      'CSV with header timestamp,value (UTC "YYYY-MM-DD HH:MM:SS" or ISO 8601; used bytes)',
    )
    .requiredOption('--capacity <bytes>', 'capacity of the volume or quota, bytes')
    .option('--warn <ratio>', 'warning level as a fraction of capacity', '0.85')
    .option('--horizon-days <days>', 'look this many days ahead; beyond it the answer is null', '365')
    .option(
      '--stale-after <duration>',
      'warn when the last sample is older than this (e.g. 36h, 2d); default max(2 × sampling interval, 1d)',
    )
    .option('--chart <file>', 'also render the chart: .svg or .png')
    .action(
      async (opts: {
        series: string;
        capacity: string;
        warn: string;
        horizonDays: string;
        staleAfter?: string;
        chart?: string;
      }) => {
        const capacity = positiveNumber('--capacity', opts.capacity);
        const warn = positiveNumber('--warn', opts.warn, 1);
        const horizonDays = positiveNumber('--horizon-days', opts.horizonDays, 3650);
        const staleAfterSeconds = opts.staleAfter === undefined ? undefined : parseDurationSeconds(opts.staleAfter);
        const chartFormat = opts.chart === undefined ? undefined : chartFormatOf(opts.chart);
        let text: string;
        try {
          text = await readFile(opts.series, 'utf8');
        } catch (err) {
          throw new AppError('INPUT_UNREADABLE', `cannot read ${opts.series}: ${(err as Error).message}`, {
            cause: err,
          });
        }
        const points = parseSeriesCsv(text);
        const result = forecastStorage(
          points.map((p) => ({ timestamp: new Date(p.t).toISOString(), used_bytes: p.v, capacity_bytes: capacity })),
          { warn, horizonDays, capacityBytes: capacity },
        );
        if (opts.chart !== undefined) {
          const svg = renderForecastSvg({
            title: `Storage forecast (${opts.series.split('/').pop() ?? ''})`,
            history: points,
            result,
          });
          try {
            await writeFile(opts.chart, chartFormat === 'png' ? svgToPng(svg) : svg);
          } catch (err) {
            if (err instanceof AppError) throw err;
            throw new AppError('OUTPUT_UNWRITABLE', `cannot write ${opts.chart}: ${(err as Error).message}`, {
              cause: err,
            });
          }
          process.stderr.write(`chart written to ${opts.chart}\n`);
        }
        const st = assessStaleness(result, new Date(), { staleAfterSeconds });
        process.stderr.write(summaryLines(result, st).join('\n') + '\n');
        process.stdout.write(
          JSON.stringify({
            days_to_warn: result.days_to_warn,
            days_to_warn_lower: result.days_to_warn_lower,
            days_to_warn_upper: result.days_to_warn_upper,
            days_to_full: result.days_to_full,
            days_to_full_lower: result.days_to_full_lower,
            days_to_full_upper: result.days_to_full_upper,
            growth_bytes_per_day: Math.round(result.growth_bytes_per_day),
            last_gc: result.last_gc,
            method: result.method,
            level_bytes: Math.round(result.level_bytes),
            capacity_bytes: capacity,
            last_timestamp: result.last_timestamp,
            warn_reached: result.warn_reached,
            warn_reached_since: result.warn_reached_since,
            full_reached: result.full_reached,
            full_reached_since: result.full_reached_since,
            warn_at: st.warn_at,
            full_at: st.full_at,
            level_shifts: result.level_shifts.length,
            sampling_interval_seconds: result.sampling_interval_seconds,
            stale: st.stale,
            last_sample_age_seconds: Math.round(st.age_seconds),
            stale_after_seconds: st.threshold_seconds,
          }) + '\n',
        );
      },
    );
}
