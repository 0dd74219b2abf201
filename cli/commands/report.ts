/**
 * `regwatch report capacity --out DIR [--data-dir DIR] [--series FILE.csv --capacity BYTES --scope NAME]
 *   [--warn 0.85] [--horizon-days 365] [--stale-after 1d]`
 * Writes the weekly capacity report (capacity.md, capacity.html, capacity.svg, capacity.png) for
 * every scope in the local storage store (or one CSV series). Prints the written paths as JSON on
 * the last stdout line. Scopes whose last sample is older than the staleness threshold are flagged
 * at the top of the report and with a WARNING line on stderr; "stale" in the JSON lists them.
 */
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { AppError } from '../../shared/src/errors.ts';
import { parseSeriesCsv } from '../../services/detector/src/forecast/csv.ts';
import { forecastStorage } from '../../services/detector/src/forecast/model.ts';
import { buildCapacityReport, type CapacityScopeInput } from '../../services/detector/src/forecast/report.ts';
import { parseDurationSeconds } from '../../services/detector/src/forecast/staleness.ts';
import { staleWarning } from '../../services/detector/src/forecast/summary.ts';
import { localStorePath, readLocalSamples } from '../../services/detector/src/storage/sink.ts';

/**
 * Checks that `dataDir` exists and holds the local storage store (`<dataDir>/storage/samples.ndjson`,
 * written by `regwatch collect-storage` and the embedded mode).
 * @throws AppError INPUT_UNREADABLE naming what is missing (the directory, or the samples file).
 */
async function assertLocalStore(dataDir: string): Promise<void> {
  const missing = async (path: string): Promise<boolean> => {
    try {
      await stat(path);
      return false;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true;
      throw new AppError('INPUT_UNREADABLE', `cannot read ${path}: ${(err as Error).message}`, { cause: err });
    }
  };
  const hint = 'run `regwatch collect-storage` (or `regwatch run`) first, or pass --series FILE.csv --capacity BYTES';
  if (await missing(dataDir))
    throw new AppError('INPUT_UNREADABLE', `data directory ${dataDir} does not exist (--data-dir); ${hint}`);
  const file = localStorePath(dataDir);
  if (await missing(file))
    throw new AppError('INPUT_UNREADABLE', `${dataDir} has no storage samples file (${file}); ${hint}`);
}

export function register(program: Command): void {
  const report = program.command('report').description('reports');
  report
    .command('capacity')
    .description('weekly capacity report: table per storage scope and forecast chart (markdown, HTML, SVG, PNG)')
    .requiredOption('--out <dir>', 'output directory')
    .option('--data-dir <dir>', 'local store written by collect-storage', '.data')
    .option('--series <file>', 'a CSV series (timestamp,value) instead of the local store')
    .option('--capacity <bytes>', 'capacity for --series, bytes')
    .option('--scope <name>', 'scope name for --series', 'series')
    .option('--warn <ratio>', 'warning level', '0.85')
    .option('--horizon-days <days>', 'forecast horizon', '365')
    .option(
      '--stale-after <duration>',
      'flag a scope whose last sample is older than this (e.g. 36h, 2d); default max(2 × sampling interval, 1d)',
    )
    .action(
      async (opts: {
        out: string;
        dataDir: string;
        series?: string;
        capacity?: string;
        scope: string;
        warn: string;
        horizonDays: string;
        staleAfter?: string;
      }) => {
        const warn = Number(opts.warn);
        const horizonDays = Number(opts.horizonDays);
        if (!(warn > 0 && warn <= 1))
          throw new AppError('FORECAST_INPUT_INVALID', `--warn must be in (0, 1], got ${opts.warn}`);
        if (!(horizonDays > 0))
          throw new AppError('FORECAST_INPUT_INVALID', `--horizon-days must be > 0, got ${opts.horizonDays}`);
        const staleAfterSeconds = opts.staleAfter === undefined ? undefined : parseDurationSeconds(opts.staleAfter);
        const scopes: CapacityScopeInput[] = [];
        if (opts.series !== undefined) {
          const capacity = Number(opts.capacity);
          if (!(capacity > 0)) throw new AppError('FORECAST_INPUT_INVALID', '--series needs --capacity BYTES');
          let text: string;
          try {
            text = await readFile(opts.series, 'utf8');
          } catch (err) {
            throw new AppError('INPUT_UNREADABLE', `cannot read ${opts.series}: ${(err as Error).message}`, {
              cause: err,
            });
          }
          const pts = parseSeriesCsv(text);
          const samples = pts.map((p) => ({
            timestamp: new Date(p.t).toISOString(),
            used_bytes: p.v,
            capacity_bytes: capacity,
          }));
          scopes.push({
            scope: opts.scope,
            history: pts,
            result: forecastStorage(samples, { warn, horizonDays, capacityBytes: capacity }),
          });
        } else {
          await assertLocalStore(opts.dataDir);
          const { byScope, skipped } = await readLocalSamples(opts.dataDir);
          if (byScope.size === 0)
            throw new AppError(
              'FORECAST_INPUT_INVALID',
              `${localStorePath(opts.dataDir)} holds no storage samples${skipped > 0 ? ` (${skipped} unreadable line(s))` : ''}`,
            );
          if (skipped > 0) process.stderr.write(`report: skipped ${skipped} unreadable line(s) in the local store\n`);
          for (const [scope, samples] of byScope) {
            try {
              const result = forecastStorage(samples, { warn, horizonDays });
              scopes.push({
                scope,
                result,
                estimate: samples.some((s) => s.estimate === true),
                history: samples.map((s) => ({ t: Date.parse(s.timestamp), v: s.used_bytes })),
              });
            } catch (err) {
              if (!(err instanceof AppError)) throw err;
              process.stderr.write(`report: scope ${scope} left out: ${err.code}: ${err.message}\n`);
            }
          }
          if (scopes.length === 0)
            throw new AppError(
              'FORECAST_INPUT_INVALID',
              `no scope in ${opts.dataDir} has enough samples for a forecast`,
            );
        }
        const rep = buildCapacityReport({ generatedAt: new Date(), scopes, staleAfterSeconds });
        const stale: string[] = [];
        for (const [scope, st] of rep.staleness) {
          const w = staleWarning(st);
          if (w === null) continue;
          stale.push(scope);
          process.stderr.write(`report: scope ${scope}: ${w}\n`);
        }
        const files = {
          markdown: join(opts.out, 'capacity.md'),
          html: join(opts.out, 'capacity.html'),
          svg: join(opts.out, 'capacity.svg'),
          png: join(opts.out, 'capacity.png'),
        };
        try {
          await mkdir(opts.out, { recursive: true });
          await Promise.all([
            writeFile(files.markdown, rep.markdown),
            writeFile(files.html, rep.html),
            writeFile(files.svg, rep.svg),
            writeFile(files.png, rep.png),
          ]);
        } catch (err) {
          throw new AppError('OUTPUT_UNWRITABLE', `cannot write the report to ${opts.out}: ${(err as Error).message}`, {
            cause: err,
          });
        }
        process.stderr.write(`${rep.title}: ${scopes.length} scope(s) → ${opts.out}\n`);
        process.stdout.write(JSON.stringify({ title: rep.title, scopes: scopes.length, stale, files }) + '\n');
      },
    );
}
