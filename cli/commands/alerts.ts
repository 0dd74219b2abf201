import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { AppError, ERROR_CODES, type ErrorCode } from '../../shared/src/errors.ts';
import {
  createEsClient,
  esConfigSchema,
  redactedNodes,
  toEsAppError,
  waitForElasticsearch,
} from '../../shared/src/es/client.ts';
import { DELIVERIES_INDEX } from '../../shared/src/es/names.ts';
import { createEsDeliveriesSink } from '../../services/alerts/src/deliveries-es.ts';
import { createFileDeliveriesSink } from '../../services/embedded/src/deliveries-file.ts';
import { dataDirLayout } from '../../services/embedded/src/data-dir.ts';
import { createLogger, silentLogger } from '../../shared/src/logger.ts';
import { findingSchema, type Finding } from '../../shared/src/model/finding.ts';
import { createFakeClock, systemClock } from '../../services/alerts/src/clock.ts';
import { createHttpClient } from '../../services/alerts/src/http.ts';
import { deliverCapacityReport } from '../../services/alerts/src/report.ts';
import { loadAlertsConfigFile, unknownRuleMatcherWarnings } from '../../services/alerts/src/config.ts';
import { loadEmbeddedAlertsConfig } from '../../services/embedded/src/pipeline.ts';
import { rules } from '../../services/detector/src/rules/index.ts';
import { STORAGE_RULE } from '../../services/detector/src/forecast/findings.ts';
import { STORAGE_STALE_RULE } from '../../services/detector/src/forecast/stale-findings.ts';
import type { Deliverer } from '../../services/alerts/src/delivery.ts';
import { createDeliverer } from '../../services/alerts/src/delivery.ts';
import { createEngine } from '../../services/alerts/src/engine.ts';
import { buildRouteTree, indexRoutes } from '../../services/alerts/src/route.ts';
import { createMemoryStore } from '../../services/alerts/src/store/memory.ts';
import { createMemoryDeliveriesSink, observedDeliveriesSink } from '../../services/alerts/src/deliveries.ts';
import { channels } from '../../services/alerts/src/channels/index.ts';
import type { HttpClient } from '../../services/alerts/src/http.ts';

/**
 * Reads findings from a file: one JSON object, a JSON array, or NDJSON.
 * @throws AppError INPUT_UNREADABLE when the file cannot be read; FINDING_INVALID (exit 2) when it
 *   is not JSON/NDJSON or a finding breaks the Finding contract (every problem listed).
 */
async function readFindings(path: string): Promise<Finding[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new AppError('INPUT_UNREADABLE', `cannot read ${path}: ${(err as Error).message}`);
  }
  let raw: unknown[];
  try {
    const t = text.trim();
    raw = t.startsWith('[')
      ? (JSON.parse(t) as unknown[])
      : t.startsWith('{') && !t.includes('\n{')
        ? [JSON.parse(t)]
        : t
            .split('\n')
            .filter((l) => l.trim())
            .map((l) => JSON.parse(l) as unknown);
  } catch (err) {
    throw new AppError('FINDING_INVALID', `${path} is not JSON / NDJSON: ${(err as Error).message}`);
  }
  const problems: string[] = [];
  const out: Finding[] = [];
  raw.forEach((r, i) => {
    const p = findingSchema.safeParse(r);
    if (p.success) out.push(p.data);
    else problems.push(...p.error.issues.map((x) => `finding ${i + 1}: ${x.path.join('.')}: ${x.message}`));
  });
  if (problems.length)
    throw new AppError('FINDING_INVALID', `invalid finding(s) in ${path}:\n  - ${problems.join('\n  - ')}`);
  return out;
}

/**
 * Every rule id a finding can carry: the detector's streaming rule registry, the storage
 * forecast's finding, and the release-day population-surge findings the pull spike rules
 * (rules/baseline-spike.ts, `pull.population_surge_<metric>`) emit instead of per-identity alerts.
 */
export const KNOWN_FINDING_RULE_IDS: readonly string[] = [
  ...rules.keys(),
  STORAGE_RULE,
  STORAGE_STALE_RULE,
  'pull.population_surge_pulls',
  'pull.population_surge_bytes',
];

interface SendReportOptions {
  dir: string;
  config: string;
  receiver: string;
  link?: string;
  esUrl?: string;
  deliveriesIndex?: string;
  deliveriesFile?: string;
  dataDir?: string;
}

interface DeliveriesTarget {
  readonly sink: ReturnType<typeof observedDeliveriesSink>;
  /** For the JSON output: `{ store: 'elasticsearch', index }` or `{ store: 'file', path }`. */
  readonly where: { store: 'elasticsearch'; index: string } | { store: 'file'; path: string };
  /** For the stderr summary. */
  readonly label: string;
  close(): Promise<void>;
}

/**
 * Where `send-report` records its delivery attempts, as the alerts service does: `--deliveries-file`
 * → that NDJSON file; else `--es-url` / `ES_URLS` → the Elasticsearch deliveries index
 * (`--deliveries-index`, `ES_DELIVERIES_INDEX`, default `regwatch-alert-deliveries`); else the
 * deliveries file of `regwatch run`'s data dir (`<data-dir>/alerts/deliveries.ndjson`). The target
 * is checked before anything is sent.
 * @throws AppError CONFIG_INVALID (file and ES both given, bad ES settings), ES_UNAVAILABLE
 *   (retriable; ES not reachable), OUTPUT_UNWRITABLE (the file cannot be appended to).
 */
async function openDeliveriesTarget(o: SendReportOptions): Promise<DeliveriesTarget> {
  if (o.deliveriesFile !== undefined && (o.esUrl !== undefined || o.deliveriesIndex !== undefined))
    throw new AppError(
      'CONFIG_INVALID',
      '--deliveries-file records to a file; it cannot be combined with --es-url / --deliveries-index',
    );
  const esUrls = o.esUrl
    ? [o.esUrl]
    : (process.env['ES_URLS'] ?? '')
        .split(',')
        .map((u) => u.trim())
        .filter(Boolean);
  if (o.deliveriesFile === undefined && esUrls.length > 0) {
    const es = esConfigSchema.safeParse({
      nodes: esUrls,
      ...(process.env['ES_USERNAME']
        ? { username: process.env['ES_USERNAME'], password: process.env['ES_PASSWORD'] }
        : {}),
      ...(process.env['ES_API_KEY'] ? { apiKey: process.env['ES_API_KEY'] } : {}),
    });
    if (!es.success)
      throw new AppError(
        'CONFIG_INVALID',
        `invalid Elasticsearch settings for delivery records: ${es.error.issues.map((i) => i.message).join('; ')}`,
      );
    const index = o.deliveriesIndex ?? (process.env['ES_DELIVERIES_INDEX'] || DELIVERIES_INDEX);
    const client = createEsClient(es.data);
    try {
      await waitForElasticsearch(client, { timeoutMs: 10_000 });
    } catch (err) {
      await client.close();
      const e = err instanceof AppError ? err : toEsAppError(err, 'delivery records');
      throw new AppError(
        e.code,
        `cannot record deliveries in Elasticsearch at ${redactedNodes(es.data).join(', ')}: ${e.message}; nothing was sent`,
        { retriable: e.retriable, cause: err },
      );
    }
    return {
      sink: observedDeliveriesSink(createEsDeliveriesSink({ client, index, refresh: true })),
      where: { store: 'elasticsearch', index },
      label: `Elasticsearch index ${index}`,
      close: () => client.close(),
    };
  }
  const path = o.deliveriesFile ?? dataDirLayout(o.dataDir ?? (process.env['REGWATCH_DATA_DIR'] || '.data')).deliveries;
  try {
    await mkdir(dirname(path), { recursive: true });
    await appendFile(path, '');
  } catch (err) {
    throw new AppError(
      'OUTPUT_UNWRITABLE',
      `cannot record deliveries in ${path}: ${(err as Error).message}; nothing was sent (give --deliveries-file or --es-url)`,
      { retriable: true, cause: err },
    );
  }
  return {
    sink: observedDeliveriesSink(createFileDeliveriesSink(path)),
    where: { store: 'file', path },
    label: path,
    close: async () => {},
  };
}

const noHttp: HttpClient = {
  post: async () => {
    throw new Error('dry run: nothing is sent');
  },
  close: async () => {},
};

export function register(program: Command): void {
  const alerts = program.command('alerts').description('Alert routing tools');
  alerts
    .command('test')
    .description('render what each receiver would get for the given findings, without sending anything')
    .requiredOption('-f, --finding <file>', 'finding(s): JSON object, JSON array or NDJSON')
    .option('-c, --config <file>', 'alerts config (YAML/JSON); default: console receiver')
    .action(async (o: { finding: string; config?: string }) => {
      // Without --config: what `regwatch run` uses (console receiver on stderr), so targets shown are the real ones.
      const config = await loadEmbeddedAlertsConfig(o.config, process.env);
      const findings = await readFindings(o.finding);
      const start = Math.max(...findings.map((f) => Date.parse(f.detected_at)));
      const clock = createFakeClock(start);
      const real = createDeliverer({
        config,
        channels,
        http: noHttp,
        clock,
        logger: silentLogger(),
        sink: createMemoryDeliveriesSink(),
        render: config.global.alerts_url ? { alertsUrl: config.global.alerts_url } : {},
        instanceId: 'dry-run',
      });
      const rendered: unknown[] = [];
      const dry: Deliverer = {
        ...real,
        async deliver(n, _done, onDone) {
          rendered.push({
            receiver: n.receiver,
            group_key: n.groupKey,
            notification_key: n.key,
            status: n.status,
            alerts: n.firing.length + n.resolved.length,
            requests: real.preview(n),
          });
          for (let i = 0; i < (config.receivers.find((r) => r.name === n.receiver)?.channels.length ?? 0); i++)
            await onDone(i);
          return [];
        },
      };
      const engine = createEngine({
        config,
        store: createMemoryStore(),
        clock,
        logger: silentLogger(),
        deliverer: dry,
        instanceId: 'dry-run',
      });
      await engine.ingest(findings);
      // Run the clock past the longest group_wait so every group produces its first notification (and no repeats).
      const maxWait = Math.max(...[...indexRoutes(buildRouteTree(config)).values()].map((r) => r.groupWaitMs));
      await engine.tick();
      await engine.idle();
      await clock.advance(maxWait);
      await engine.tick();
      await engine.idle();
      for (const r of rendered) process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
      process.stderr.write(`${findings.length} finding(s) → ${rendered.length} notification(s); nothing was sent\n`);
    });
  alerts
    .command('send-report')
    .description('deliver the capacity report written by `regwatch report` (capacity.md/.html/.png) to a receiver')
    .requiredOption('-d, --dir <dir>', 'directory holding capacity.md, capacity.html and capacity.png')
    .requiredOption('-c, --config <file>', 'alerts config (YAML/JSON)')
    .requiredOption('-r, --receiver <name>', 'receiver to deliver to')
    .option('--link <url>', 'where the report is published (shown by channels that cannot carry images)')
    .option(
      '--es-url <url>',
      'record delivery attempts in Elasticsearch at this URL (env ES_URLS; credentials ES_USERNAME/ES_PASSWORD or ES_API_KEY)',
    )
    .option(
      '--deliveries-index <name>',
      `Elasticsearch index of delivery records (env ES_DELIVERIES_INDEX, default ${DELIVERIES_INDEX})`,
    )
    .option(
      '--deliveries-file <path>',
      'record delivery attempts as NDJSON in this file instead (default without Elasticsearch: <data-dir>/alerts/deliveries.ndjson)',
    )
    .option(
      '--data-dir <dir>',
      'data directory of regwatch run, whose deliveries file is the default (env REGWATCH_DATA_DIR, default .data)',
    )
    .action(async (o: SendReportOptions) => {
      const config = await loadAlertsConfigFile(o.config, process.env);
      if (!config.receivers.some((r) => r.name === o.receiver))
        throw new AppError('CONFIG_INVALID', `no receiver "${o.receiver}" in ${o.config}`);
      // Where every delivery attempt is recorded (as the service does), checked before anything is sent.
      const target = await openDeliveriesTarget(o);
      const read = async (f: string): Promise<Buffer> => {
        try {
          return await readFile(join(o.dir, f));
        } catch (err) {
          throw new AppError('INPUT_UNREADABLE', `cannot read ${join(o.dir, f)}: ${(err as Error).message}`);
        }
      };
      const [md, html, png] = await Promise.all([read('capacity.md'), read('capacity.html'), read('capacity.png')]);
      const title = /^#+\s*(.+)$/m.exec(md.toString('utf8'))?.[1]?.trim() ?? 'Registry capacity report';
      const http = createHttpClient();
      const deliverer = createDeliverer({
        config,
        channels,
        http,
        clock: systemClock,
        logger: createLogger('regwatch-cli', { level: 'warn', destination: process.stderr as never }),
        sink: target.sink,
        render: {},
        instanceId: 'cli',
      });
      let results;
      try {
        results = await deliverCapacityReport(
          deliverer,
          { title, markdown: md.toString('utf8'), html: html.toString('utf8'), png },
          o.receiver,
          Date.now(),
          o.link,
        );
      } finally {
        await http.close();
        await target.close();
      }
      const recordError = target.sink.firstError();
      const deliveries = {
        ...target.where,
        records: target.sink.stored(),
        ...(recordError ? { error: recordError } : {}),
      };
      const out = results.map((r) => ({
        channel: r.channel,
        destination: r.destination,
        outcome: r.outcome.kind,
        attempts: r.attempts,
        ...(r.outcome.kind !== 'ok' ? { code: r.outcome.code, error: r.outcome.error } : {}),
      }));
      process.stdout.write(`${JSON.stringify({ receiver: o.receiver, title, results: out, deliveries })}\n`);
      const failedCount = out.filter((r) => r.outcome !== 'ok').length;
      process.stderr.write(
        `report "${title}" → ${o.receiver}: ${out.length - failedCount}/${out.length} channel(s) delivered; ${deliveries.records} delivery record(s) → ${target.label}\n`,
      );
      if (failedCount > 0)
        throw new AppError('ALERTS_CHANNEL_REJECTED', `${failedCount} channel(s) failed; see stdout`);
      if (recordError)
        throw new AppError(
          recordError.code in ERROR_CODES ? (recordError.code as ErrorCode) : 'OUTPUT_UNWRITABLE',
          `the report was delivered, but its delivery records could not be stored in ${target.label}: ${recordError.message}`,
          { retriable: true },
        );
    });
  alerts
    .command('check-config')
    .description('validate an alerts config file and list every problem')
    .requiredOption('-c, --config <file>', 'alerts config (YAML/JSON)')
    .action(async (o: { config: string }) => {
      const c = await loadAlertsConfigFile(o.config, process.env);
      const warnings = unknownRuleMatcherWarnings(c, KNOWN_FINDING_RULE_IDS);
      for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
      process.stdout.write(
        `${JSON.stringify({ ok: true, receivers: c.receivers.map((r) => r.name), inhibit_rules: c.inhibit_rules.length, time_intervals: c.time_intervals.map((t) => t.name), warnings })}\n`,
      );
      process.stderr.write(`${o.config}: valid${warnings.length ? ` (${warnings.length} warning(s))` : ''}\n`);
    });
}
