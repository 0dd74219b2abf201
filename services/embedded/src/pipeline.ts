import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { parse as parseYaml } from 'yaml';
import { createMemoryBus } from '../../../shared/src/bus/memory.ts';
import type { MessageBus, Publisher } from '../../../shared/src/bus/types.ts';
import { AppError } from '../../../shared/src/errors.ts';
import type { Logger } from '../../../shared/src/logger.ts';
import type { Finding } from '../../../shared/src/model/finding.ts';
import { TOPICS } from '../../../shared/src/topics.ts';
import { systemClock, type Clock } from '../../alerts/src/clock.ts';
import { loadAlertsConfigFile, parseAlertsConfig, type AlertsConfig } from '../../alerts/src/config.ts';
import type { DeliveryRecord } from '../../alerts/src/deliveries.ts';
import { createAlerts, type Alerts } from '../../alerts/src/service.ts';
import { createSqliteStore } from '../../alerts/src/store/sqlite.ts';
import type { AlertStore } from '../../alerts/src/store/types.ts';
import { parseDetectionConfig, type DetectionConfig } from '../../detector/src/config.ts';
import { createDetector, type Detector } from '../../detector/src/service.ts';
import { sqliteStore } from '../../detector/src/state/sqlite-store.ts';
import { createIngestMetrics } from '../../ingest/src/metrics.ts';
import { buildReceiver, type Receiver } from '../../ingest/src/receiver.ts';
import type { EmbeddedConfig } from './config.ts';
import { dataDirLayout, prepareDataDir, type DataDirLayout } from './data-dir.ts';
import { createFileDeliveriesSink } from './deliveries-file.ts';
import { createFindingsOutput, type FindingsOutput } from './findings-output.ts';
import { followInputs, readInputFile, type FollowInputs } from './inputs.ts';
import { createNormalizeStage, type NormalizeStage } from './normalize-stage.ts';
import { startAlertsApi, type EmbeddedAlertsApi } from './alerts-api.ts';
import { createStorageStage, runLocalStorageForecast, type StorageStage } from './storage-stage.ts';
import { startScheduler } from '../../detector/src/jobs/scheduler.ts';
import { readStatusesFile, writeStatusesFile } from '../../detector/src/forecast/previous-statuses.ts';

/**
 * The embedded default's alerts configuration: every finding to the console channel on stderr
 * (stdout carries the findings NDJSON), grouped per rule and entity, Alertmanager-style timers
 * shortened for a single laptop process; a brute force from one IP (`auth.bruteforce_ip`) inhibits
 * the per-user brute-force findings whose top source IP it is (services/alerts/README.md example).
 */
export const EMBEDDED_ALERTS_CONFIG_TEXT = `
route:
  receiver: console
  group_by: [rule, entity]
  group_wait: 10s
  group_interval: 5m
  repeat_interval: 4h
receivers:
  - name: console
    channels:
      - type: console
        stream: stderr
inhibit_rules:
  - source_matchers: ['rule=auth.bruteforce_ip']
    target_matchers: ['rule=auth.bruteforce_user']
    equal: [source_ip]
`;

export interface EmbeddedDeps {
  readonly logger: Logger;
  /** Where findings go when `config.findings` is not set. Default process.stdout. */
  readonly findingsStream?: Writable;
  /** Environment for `${VAR}` substitution in the alerts config (secrets stay out of files). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly clock?: Clock;
  /** Called for each finding written to the output. */
  readonly onFinding?: (f: Finding) => void;
  /** Called for each alert delivery record (every attempt). */
  readonly onDelivery?: (r: DeliveryRecord) => void;
  /** Aborted = stop start-up work early (SIGTERM while `--input` files are read). */
  readonly signal?: AbortSignal;
}

export interface Embedded {
  /** `http://host:port` of the receiver, or null when it is off. */
  readonly url: string | null;
  readonly layout: DataDirLayout;
  readonly bus: MessageBus;
  readonly publisher: Publisher;
  readonly normalize: NormalizeStage;
  readonly detector: Detector;
  readonly output: FindingsOutput;
  /** The silences API (`regwatch silence …`), or null when off. */
  readonly alertsApi: Pick<EmbeddedAlertsApi, 'url' | 'tokenFile'> | null;
  /** `regwatch.storage` → `<dataDir>/storage/samples.ndjson`. */
  readonly storage: StorageStage;
  /**
   * Runs the `storage.exhaustion` forecast over the stored samples now (as the `storageCron`
   * schedule does) and publishes its findings to `regwatch.findings`.
   * @param now epoch ms (default: the clock).
   * @returns the findings published.
   */
  runStorageForecast(now?: number): Promise<Finding[]>;
  /** Ordered, graceful shutdown (see `startEmbedded`). Idempotent. */
  stop(): Promise<void>;
}

/** All topics of the embedded bus (the full mode's names, no prefix). */
export const EMBEDDED_TOPICS = TOPICS;

/**
 * The detection configuration: the file at `path` (YAML/JSON) or the built-in defaults, with
 * `kibanaUrl` (when given) as `settings.kibanaUrl` — the base of each finding's Discover link.
 * @throws AppError INPUT_UNREADABLE (file), CONFIG_INVALID (not YAML/JSON, or invalid settings).
 */
async function loadDetection(path: string | undefined, kibanaUrl: string | undefined): Promise<DetectionConfig> {
  const withKibana = (raw: unknown): unknown => {
    if (kibanaUrl === undefined) return raw;
    const obj = raw !== null && typeof raw === 'object' && !Array.isArray(raw) ? (raw as Record<string, unknown>) : {};
    const settings = obj['settings'];
    return {
      ...obj,
      settings: {
        ...(settings !== null && typeof settings === 'object' ? (settings as Record<string, unknown>) : {}),
        kibanaUrl,
      },
    };
  };
  if (!path) return parseDetectionConfig(withKibana({}));
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new AppError('INPUT_UNREADABLE', `cannot read detection config ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new AppError('CONFIG_INVALID', `invalid detection config ${path}: not YAML/JSON: ${(err as Error).message}`);
  }
  return parseDetectionConfig(withKibana(raw));
}

/** Alerts config for the embedded mode: the file, or EMBEDDED_ALERTS_CONFIG_TEXT. */
export async function loadEmbeddedAlertsConfig(
  path: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
): Promise<AlertsConfig> {
  return path
    ? loadAlertsConfigFile(path, env)
    : parseAlertsConfig(EMBEDDED_ALERTS_CONFIG_TEXT, {}, 'embedded default alerts config');
}

/**
 * Starts the embedded default in this process: the in-process bus persisted under
 * `<dataDir>/bus` (same topics, keys, per-key order and at-least-once commits as Kafka), the
 * normalize stage (raw topics → `regwatch.events`, rejects → `regwatch.dlq`), the detector
 * (`regwatch.events` → `regwatch.findings`, state under `<dataDir>/detector`), the alerts service
 * (SQLite state under `<dataDir>/alerts`, so nothing is re-alerted after a restart), the findings
 * output (NDJSON to stdout or a file), the silences API over the alert store (`alertsApi`, token
 * configured or generated into `<dataDir>/alerts-api.token`, URL in `<dataDir>/alerts-api.url`),
 * the storage stage (`regwatch.storage` → `<dataDir>/storage/samples.ndjson`) with the
 * `storage.exhaustion` forecast on `storageCron`, and the inputs: the ingest receiver (HTTP, same
 * routes and status rules as the full mode), `--input` files read once (a restart skips or resumes
 * them, positions in `<dataDir>/inputs`), `--follow` files tailed.
 * Consumers start before producers so nothing waits.
 *
 * `stop()` order: followers and receiver (no new input) → forecast schedule → storage stage →
 * normalize → detector (state saved) → silences API → alerts (in-flight deliveries finish) →
 * findings output → alert store → bus → data-dir lock.
 * @throws AppError CONFIG_INVALID (alerts/detection config), INPUT_UNREADABLE,
 *   EMBEDDED_START_FAILED (data dir locked, port in use). Everything started so far is stopped.
 */
export async function startEmbedded(config: EmbeddedConfig, deps: EmbeddedDeps): Promise<Embedded> {
  const log = deps.logger;
  const clock = deps.clock ?? systemClock;
  const env = deps.env ?? {};
  // Validate configuration before touching the data directory.
  const alertsConfig = await loadEmbeddedAlertsConfig(config.alertsConfig, env);
  const detectionConfig = await loadDetection(config.detectionConfig, config.kibanaUrl);
  const layout = dataDirLayout(config.dataDir);
  const release = prepareDataDir(layout);

  const stops: { name: string; fn: () => Promise<void> }[] = [];
  const runStops = async (): Promise<void> => {
    for (const s of stops.splice(0).reverse()) {
      try {
        await s.fn();
      } catch (err) {
        log.error({ err, component: s.name }, 'error while stopping');
      }
    }
  };
  try {
    const bus = createMemoryBus({ dataDir: layout.bus, logger: log });
    stops.push({ name: 'bus', fn: () => bus.close() });
    await bus.ensureTopics(Object.values(TOPICS), config.partitions);
    const publisher = bus.publisher();
    stops.push({ name: 'publisher', fn: () => publisher.close() });
    const store: AlertStore = createSqliteStore(join(layout.alerts, 'alerts.db'));
    stops.push({ name: 'alert-store', fn: () => store.close() });

    const output: FindingsOutput = createFindingsOutput({
      bus,
      topic: TOPICS.findings,
      target: config.findings
        ? { kind: 'file', path: config.findings }
        : { kind: 'stream', stream: deps.findingsStream ?? process.stdout },
      stateFile: layout.findingsSeen,
      logger: log,
      ...(deps.onFinding ? { onFinding: deps.onFinding } : {}),
    });
    await output.start();
    stops.push({ name: 'findings-output', fn: () => output.stop() });

    const alerts: Alerts = createAlerts({
      bus,
      store,
      clock,
      config: alertsConfig,
      logger: log,
      deliveriesSink: createFileDeliveriesSink(layout.deliveries, deps.onDelivery),
      topic: TOPICS.findings,
      ...(config.dataDir !== '.data' ? { render: { dataDir: config.dataDir } } : {}),
    });
    await alerts.start();
    stops.push({ name: 'alerts', fn: () => alerts.stop() });

    // The detector service itself, its state (engine snapshot + processed offsets) in SQLite.
    const detector: Detector = createDetector({
      bus,
      store: sqliteStore(join(layout.detector, 'state.db')),
      clock: () => clock.now(),
      config: detectionConfig,
      logger: log,
      topics: { events: TOPICS.events, findings: TOPICS.findings },
    });
    await detector.start();
    stops.push({ name: 'detector', fn: () => detector.stop() });

    let alertsApi: EmbeddedAlertsApi | null = null;
    if (config.alertsApi === 'on') {
      const api = await startAlertsApi({
        host: config.alertsHost,
        port: config.alertsPort,
        tokens: config.alertsToken,
        layout,
        store,
        clock,
        logger: log,
      });
      alertsApi = api;
      stops.push({ name: 'alerts-api', fn: () => api.close() });
    }

    // One metrics registry for the run: the receiver's /metrics also shows the normalize stage's
    // consumed / dead-lettered / ignored counters (no Kafka or Elasticsearch here: their up gauges
    // and the indexer's Elasticsearch metrics would only ever say 1 or 0, so they are not exported).
    const ingestMetrics = createIngestMetrics({ defaultMetrics: false, engines: false });
    const normalize = createNormalizeStage({ bus, publisher, topics: TOPICS, logger: log, metrics: ingestMetrics });
    await normalize.start();
    stops.push({ name: 'normalize', fn: () => normalize.stop() });

    const storage = createStorageStage({
      bus,
      publisher,
      topics: { storage: TOPICS.storage, dlq: TOPICS.dlq },
      dataDir: layout.root,
      logger: log,
    });
    await storage.start();
    stops.push({ name: 'storage', fn: () => storage.stop() });
    // Last storage finding statuses, kept across restarts beside the samples (a scope that
    // recovered while regwatch was stopped still gets its resolved notice).
    const statusesPath = join(layout.root, 'storage', 'finding-statuses.json');
    const previousStorage = await readStatusesFile(statusesPath);
    const publishFindings = (fs: readonly Finding[]): Promise<void> =>
      publisher.publish(
        TOPICS.findings,
        fs.map((f) => ({ key: `${f.entity.type}:${f.entity.id}`, value: JSON.stringify(f) })),
      );
    const storageForecast = async (now: number): Promise<Finding[]> => {
      const fs = await runLocalStorageForecast({
        dataDir: layout.root,
        now,
        previous: previousStorage,
        staleAfterSeconds: config.storageStaleAfter,
        logger: log,
      });
      await writeStatusesFile(statusesPath, previousStorage);
      return fs;
    };
    const runStorageForecast = async (now?: number): Promise<Finding[]> => {
      const fs = await storageForecast(now ?? clock.now());
      if (fs.length > 0) await publishFindings(fs);
      return fs;
    };
    const stopSchedule = startScheduler(
      [{ name: 'storage.exhaustion', schedule: config.storageCron, run: storageForecast }],
      { publish: publishFindings, clock: () => clock.now(), logger: log },
    );
    stops.push({ name: 'storage-forecast', fn: stopSchedule });

    let receiver: Receiver | null = null;
    let url: string | null = null;
    let stopping = false;
    if (config.receiver === 'on') {
      if (config.tokens.length === 0)
        log.warn(
          { host: config.host },
          'receiver has no bearer token: open to anyone who can reach it (loopback only); set --token for shared hosts',
        );
      receiver = buildReceiver({
        publisher,
        topics: TOPICS,
        config: {
          host: config.host,
          port: config.port,
          tokens: [...config.tokens],
          bodyLimitBytes: config.bodyLimitBytes,
          rateLimit: null,
          retryAfterSeconds: 5,
        },
        bodyLimitHint: 'raise REGWATCH_BODY_LIMIT_BYTES or --body-limit-bytes of regwatch run',
        logger: log,
        metrics: ingestMetrics,
        ready: () => ({ ready: !stopping, checks: { bus: stopping ? 'stopping' : 'ok', mode: 'embedded' } }),
      });
      try {
        url = await receiver.listen({ host: config.host, port: config.port });
      } catch (err) {
        throw new AppError(
          'EMBEDDED_START_FAILED',
          `receiver cannot listen on ${config.host}:${config.port}: ${(err as Error).message}`,
          { cause: err },
        );
      }
      const r = receiver;
      stops.push({
        name: 'receiver',
        fn: async () => {
          stopping = true;
          await r.close();
        },
      });
    }

    // Each file's identity and read position is kept in <dataDir>/inputs: a restart skips a file
    // read completely before and resumes one read partly, so no line is published twice.
    for (const path of config.input) {
      const r = await readInputFile(path, publisher, TOPICS, {
        stateDir: layout.inputs,
        logger: log,
        ...(deps.signal ? { signal: deps.signal } : {}),
      });
      const fields = { path, ...r.counts, resume: r.resume, skippedLines: r.skippedLines, complete: r.complete };
      if (r.resume === 'skipped') log.info(fields, 'input file already read completely by an earlier run: skipped');
      else if (r.resume === 'resumed')
        log.info(fields, 'input file resumed: lines published by an earlier run were skipped');
      else if (r.resume === 'changed')
        log.info(fields, 'input file changed since an earlier run: read again from the start');
      else log.info(fields, 'input file read');
    }
    let follow: FollowInputs | null = null;
    if (config.follow.length > 0) {
      follow = await followInputs({
        paths: config.follow,
        publisher,
        topics: TOPICS,
        stateDir: layout.inputs,
        logger: log,
      });
      const f = follow;
      stops.push({ name: 'follow', fn: () => f.stop() });
    }

    let stopPromise: Promise<void> | null = null;
    return {
      url,
      layout,
      bus,
      publisher,
      normalize,
      detector,
      output,
      alertsApi: alertsApi ? { url: alertsApi.url, tokenFile: alertsApi.tokenFile } : null,
      storage,
      runStorageForecast,
      stop() {
        stopPromise ??= (async () => {
          await runStops();
          release();
        })();
        return stopPromise;
      },
    };
  } catch (err) {
    await runStops();
    release();
    throw err;
  }
}
