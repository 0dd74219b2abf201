/**
 * `regwatch report capacity --out DIR [--data-dir DIR | --es-url URL [--storage-index P] [--history-days 90]
 *   | --series FILE.csv --capacity BYTES --scope NAME] [--warn 0.85] [--horizon-days 365] [--stale-after 1d]`
 * Writes the weekly capacity report (capacity.md, capacity.html, capacity.svg, capacity.png) for
 * every scope in the local storage store (embedded mode), in Elasticsearch (full mode: the
 * `regwatch-storage*` samples ingest indexes from `regwatch.storage`, read as the detector's storage
 * job reads them — hourly maxima per scope) or one CSV series. Prints the written paths as JSON on
 * the last stdout line. Scopes whose last sample is older than the staleness threshold are flagged
 * at the top of the report and with a WARNING line on stderr; "stale" in the JSON lists them.
 */
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import { AppError } from '../../shared/src/errors.ts';
import { parseSeriesCsv } from '../../services/detector/src/forecast/csv.ts';
import { forecastStorage } from '../../services/detector/src/forecast/model.ts';
import { buildCapacityReport, type CapacityScopeInput } from '../../services/detector/src/forecast/report.ts';
import { parseDurationSeconds } from '../../services/detector/src/forecast/staleness.ts';
import { staleWarning } from '../../services/detector/src/forecast/summary.ts';
import { localStorePath, readLocalSamples } from '../../services/detector/src/storage/sink.ts';
import type { StorageSampleRecord } from '../../services/detector/src/storage/types.ts';
import { storageSeries } from '../../services/detector/src/jobs/es-queries.ts';
import {
  createEsClient,
  esConfigSchema,
  redactedNodes,
  toEsAppError,
  type EsConfig,
} from '../../shared/src/es/client.ts';
import { STORAGE_INDEX_PATTERN } from '../../shared/src/es/names.ts';

/** The three places samples can come from, for errors that must name them all. */
const SOURCES_HINT =
  'give --es-url URL (full mode: samples indexed in Elasticsearch, regwatch-storage*), ' +
  '--data-dir DIR (embedded mode / `regwatch collect-storage` without --brokers) ' +
  'or --series FILE.csv --capacity BYTES';

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
  const hint = `no storage samples to report on: ${SOURCES_HINT}`;
  if (await missing(dataDir))
    throw new AppError('INPUT_UNREADABLE', `data directory ${dataDir} does not exist (--data-dir); ${hint}`);
  const file = localStorePath(dataDir);
  if (await missing(file))
    throw new AppError('INPUT_UNREADABLE', `${dataDir} has no storage samples file (${file}); ${hint}`);
}

/**
 * Reads a secret (password, API key) from a file, trimmed.
 * @returns undefined when `file` is undefined.
 * @throws AppError CONFIG_INVALID when the file is empty; INPUT_UNREADABLE when it cannot be read.
 */
async function readSecretFile(file: string | undefined, what: string): Promise<string | undefined> {
  if (file === undefined) return undefined;
  let v: string;
  try {
    v = (await readFile(file, 'utf8')).trim();
  } catch (err) {
    throw new AppError('INPUT_UNREADABLE', `cannot read ${what} file ${file}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (!v) throw new AppError('CONFIG_INVALID', `${what} file ${file} is empty`);
  return v;
}

/** Elasticsearch options of `report capacity`. */
interface EsReportOptions {
  esUrl: string[];
  esUsername?: string;
  esPasswordFile?: string;
  esApiKeyFile?: string;
  esCaFile?: string;
}

/**
 * Elasticsearch settings from the flags, falling back to ES_USERNAME / ES_PASSWORD / ES_API_KEY.
 * @throws AppError CONFIG_INVALID listing every problem (bad URL, user without password, both auths).
 */
async function esSettings(opts: EsReportOptions): Promise<EsConfig> {
  const username = opts.esUsername ?? process.env.ES_USERNAME;
  const password = (await readSecretFile(opts.esPasswordFile, 'password')) ?? process.env.ES_PASSWORD;
  const apiKey = (await readSecretFile(opts.esApiKeyFile, 'API key')) ?? process.env.ES_API_KEY;
  const parsed = esConfigSchema.safeParse({
    nodes: opts.esUrl,
    ...(username ? { username } : {}),
    ...(password ? { password } : {}),
    ...(apiKey ? { apiKey } : {}),
    ...(opts.esCaFile !== undefined ? { caFile: opts.esCaFile } : {}),
  });
  if (!parsed.success)
    throw new AppError(
      'CONFIG_INVALID',
      `invalid Elasticsearch settings: ${parsed.error.issues.map((i) => i.message).join('; ')}`,
    );
  return parsed.data;
}

/**
 * Storage samples per scope from Elasticsearch over the last `historyDays` days before `nowMs`:
 * hourly maxima of used and capacity bytes (the detector's storageSeries query), each scope in
 * time order.
 * @throws AppError FORECAST_INPUT_INVALID when `index` matches nothing or holds no sample in the
 *   window; ES_UNAVAILABLE / ES_AUTH_FAILED from Elasticsearch.
 */
export async function readElasticsearchSamples(
  es: EsConfig,
  o: { index: string; historyDays: number; nowMs: number },
): Promise<Map<string, StorageSampleRecord[]>> {
  const client = createEsClient(es);
  const where = `${o.index} on ${redactedNodes(es).join(', ')}`;
  try {
    let matched: number;
    try {
      const r = await client.indices.resolveIndex({ name: o.index, expand_wildcards: ['open'] });
      matched = r.indices.length + r.aliases.length + r.data_streams.length;
    } catch (err) {
      if ((err as { meta?: { statusCode?: number } }).meta?.statusCode !== 404)
        throw toEsAppError(err, `resolving ${where}`);
      matched = 0;
    }
    if (matched === 0)
      throw new AppError(
        'FORECAST_INPUT_INVALID',
        `no index matches ${where} (--storage-index); the ingest service indexes regwatch.storage samples there in full mode (collect-storage --brokers, POST /v1/storage)`,
      );
    const series = await storageSeries(client, {
      index: o.index,
      fromMs: o.nowMs - o.historyDays * 86_400_000,
      toMs: o.nowMs,
    });
    if (series.size === 0)
      throw new AppError(
        'FORECAST_INPUT_INVALID',
        `${where} holds no storage samples in the last ${o.historyDays} day(s) (--history-days)`,
      );
    const out = new Map<string, StorageSampleRecord[]>();
    for (const [scope, samples] of series)
      out.set(
        scope,
        samples.map((s) => ({ ...s, scope })).sort((a, b) => Date.parse(a.timestamp) - Date.parse(b.timestamp)),
      );
    return out;
  } finally {
    await client.close();
  }
}

export function register(program: Command): void {
  const report = program.command('report').description('reports');
  report
    .command('capacity')
    .description('weekly capacity report: table per storage scope and forecast chart (markdown, HTML, SVG, PNG)')
    .requiredOption('--out <dir>', 'output directory')
    .option('--data-dir <dir>', 'local store written by collect-storage (embedded mode)', '.data')
    .addOption(
      new Option(
        '--es-url <url>',
        'read the samples from Elasticsearch instead (full mode; repeatable for several nodes)',
      ).argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), v]),
    )
    .option('--es-username <name>', 'Elasticsearch basic-auth user (default $ES_USERNAME)')
    .option('--es-password-file <file>', 'file holding the basic-auth password (without it: the ES_PASSWORD variable)')
    .option('--es-api-key-file <file>', 'file holding an Elasticsearch API key (without it: the ES_API_KEY variable)')
    .option('--es-ca-file <file>', 'PEM CA certificate for Elasticsearch TLS')
    .option('--storage-index <pattern>', 'storage samples index pattern (with --es-url)', STORAGE_INDEX_PATTERN)
    .option('--history-days <days>', 'days of samples read from Elasticsearch (with --es-url)', '90')
    .addOption(
      new Option('--series <file>', 'a CSV series (timestamp,value) instead of the local store').conflicts('esUrl'),
    )
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
        esUrl?: string[];
        esUsername?: string;
        esPasswordFile?: string;
        esApiKeyFile?: string;
        esCaFile?: string;
        storageIndex: string;
        historyDays: string;
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
          let byScope: Map<string, StorageSampleRecord[]>;
          let from: string;
          if (opts.esUrl !== undefined) {
            const historyDays = Number(opts.historyDays);
            if (!(historyDays > 0))
              throw new AppError('CONFIG_INVALID', `--history-days must be > 0, got ${opts.historyDays}`);
            const es = await esSettings({ ...opts, esUrl: opts.esUrl });
            byScope = await readElasticsearchSamples(es, {
              index: opts.storageIndex,
              historyDays,
              nowMs: Date.now(),
            });
            from = `${opts.storageIndex} on ${redactedNodes(es).join(', ')}`;
          } else {
            await assertLocalStore(opts.dataDir);
            const local = await readLocalSamples(opts.dataDir);
            byScope = local.byScope;
            from = opts.dataDir;
            if (byScope.size === 0)
              throw new AppError(
                'FORECAST_INPUT_INVALID',
                `${localStorePath(opts.dataDir)} holds no storage samples${local.skipped > 0 ? ` (${local.skipped} unreadable line(s))` : ''}`,
              );
            if (local.skipped > 0)
              process.stderr.write(`report: skipped ${local.skipped} unreadable line(s) in the local store\n`);
          }
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
            throw new AppError('FORECAST_INPUT_INVALID', `no scope in ${from} has enough samples for a forecast`);
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
