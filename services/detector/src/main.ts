/**
 * Composition root of the detector service (full mode): Kafka `regwatch.events` (group
 * `<REGWATCH_TOPIC_PREFIX>detector` unless DETECTOR_GROUP_ID is set) → streaming rules → `regwatch.findings`, plus node-cron jobs over Elasticsearch
 * (hourly baseline evaluation, SLO checks, storage exhaustion forecast), and the operational
 * endpoints `/healthz`, `/readyz`, `/metrics` on DETECTOR_HTTP_HOST:DETECTOR_HTTP_PORT (http.ts,
 * metrics.ts; listening first, so a busy port fails the start before anything is consumed; closed
 * first on SIGTERM). The only detector file that reads `process.env` (variables: env-config.ts). Start:
 *   sh scripts/node.sh services/detector/src/main.ts
 * Exit codes: 0 after a clean shutdown (SIGTERM/SIGINT), 1 on a start-up failure (logged with code).
 */
import type { Client } from '@elastic/elasticsearch';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { createKafkaBus } from '../../../shared/src/bus/kafka.ts';
import { loadConfig } from '../../../shared/src/config.ts';
import { AppError, exitStatusForCode } from '../../../shared/src/errors.ts';
import { createEsClient, esConfigSchema } from '../../../shared/src/es/client.ts';
import { FORECASTS_INDEX } from '../../../shared/src/es/names.ts';
import { createLogger } from '../../../shared/src/logger.ts';
import { TOPICS } from '../../../shared/src/topics.ts';
import { parseDetectionConfig } from './config.ts';
import { esForecastWriter } from './forecast/es-writer.ts';
import { storageStatusesFromFindings } from './forecast/previous-statuses.ts';
import { detectorEnvSchema, detectorEventsIndex, detectorGroupId } from './env-config.ts';
import { backfillFromElasticsearch, runHourlyBaselineJob, runSloJob, runStorageJob } from './jobs/hourly-jobs.ts';
import { startScheduler, type ScheduledJob } from './jobs/scheduler.ts';
import { buildDetectorHttp, listenDetectorHttp } from './http.ts';
import { createDetectorMetrics } from './metrics.ts';
import { createDetector, type Detector } from './service.ts';
import type { DetectorEngine } from './engine.ts';
import { esStore } from './state/es-store.ts';
import { sqliteStore } from './state/sqlite-store.ts';

// Created before the environment is validated (it logs the start-up failure): a LOG_LEVEL pino does
// not know falls back to info here and is reported with the other CONFIG_INVALID problems.
const log = createLogger('detector', { level: process.env.LOG_LEVEL ?? 'info' });

async function main(): Promise<() => Promise<void>> {
  const cfg = loadConfig(detectorEnvSchema, process.env, 'detector environment');
  let fileCfg: { settings?: Record<string, unknown> } = {};
  if (cfg.DETECTOR_CONFIG) {
    try {
      fileCfg = (parseYaml(readFileSync(cfg.DETECTOR_CONFIG, 'utf8')) as typeof fileCfg | null) ?? {};
    } catch (err) {
      throw new AppError(
        'CONFIG_INVALID',
        `cannot read DETECTOR_CONFIG ${cfg.DETECTOR_CONFIG}: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }
  const detection = parseDetectionConfig({
    ...fileCfg,
    settings: { ...(fileCfg.settings ?? {}), ...(cfg.KIBANA_URL ? { kibanaUrl: cfg.KIBANA_URL } : {}) },
  });
  let es: Client | undefined;
  if (cfg.ES_URLS) {
    es = createEsClient(
      loadConfig(
        esConfigSchema,
        {
          nodes: cfg.ES_URLS,
          ...(cfg.ES_USERNAME ? { username: cfg.ES_USERNAME, password: cfg.ES_PASSWORD } : {}),
          ...(cfg.ES_API_KEY ? { apiKey: cfg.ES_API_KEY } : {}),
        },
        'Elasticsearch settings',
      ),
    );
  }
  const groupId = detectorGroupId(cfg);
  const eventsIndex = detectorEventsIndex(cfg);
  const store =
    cfg.DETECTOR_STATE === 'elasticsearch'
      ? esStore(es!, `detector-${groupId}`)
      : sqliteStore(cfg.DETECTOR_STATE, groupId);
  const bus = createKafkaBus({ brokers: cfg.KAFKA_BROKERS, clientId: cfg.KAFKA_CLIENT_ID, logger: log });
  const topic = (name: string): string => `${cfg.REGWATCH_TOPIC_PREFIX}${name}`;
  // Operational endpoints before the (possibly long) state restore: /healthz answers, /readyz says why
  // not yet. A port that cannot be bound fails the start here, before anything is consumed.
  const live: { detector?: Detector } = {};
  let phase: 'starting' | 'running' | 'stopping' = 'starting';
  const metrics = createDetectorMetrics({ source: () => live.detector });
  const http = buildDetectorHttp({
    logger: log,
    registry: metrics.registry,
    ready: () => (phase === 'running' ? { ready: true } : { ready: false, reason: phase }),
  });
  let url: string;
  try {
    url = await listenDetectorHttp(http, cfg.DETECTOR_HTTP_HOST, cfg.DETECTOR_HTTP_PORT);
  } catch (err) {
    await Promise.allSettled([store.close(), bus.close(), es?.close()]);
    throw err;
  }
  log.info({ url }, 'detector http listening');

  const detector = createDetector({
    bus,
    store,
    clock: Date.now,
    config: detection,
    logger: log,
    groupId,
    partitions: cfg.KAFKA_TOPIC_PARTITIONS,
    checkpoint: { intervalMs: cfg.DETECTOR_CHECKPOINT_INTERVAL_MS },
    idle: { advanceAfterMs: cfg.DETECTOR_IDLE_ADVANCE_MS },
    // The same prefix as ingest (which publishes regwatch.events) and alerts (which reads findings).
    topics: { events: topic(TOPICS.events), findings: topic(TOPICS.findings) },
    // First start without saved state: seed baselines from 28 days of Elasticsearch history.
    ...(es
      ? {
          backfill: (engine: DetectorEngine) =>
            backfillFromElasticsearch(es!, engine, { index: eventsIndex, now: Date.now() }),
        }
      : {}),
    metrics,
  });
  live.detector = detector;
  try {
    await detector.start();
  } catch (err) {
    // Nothing may keep the process alive after a failed start.
    await Promise.allSettled([http.close(), detector.stop(), bus.close(), es?.close()]);
    throw err;
  }

  let stopJobs: (() => Promise<void>) | undefined;
  if (es && cfg.DETECTOR_JOBS) {
    const client = es;
    const publisher = bus.publisher();
    const previousStorage = new Map<string, 'firing' | 'resolved'>();
    // After a restart, the last storage finding statuses come back from the findings index (a
    // scope that recovered while the detector was down still gets its resolved notice). Loaded by
    // the first run, so Elasticsearch being down at start only delays it to the next run.
    let statusesRestored = false;
    const restoreStorageStatuses = async (): Promise<void> => {
      if (statusesRestored) return;
      const restored = await storageStatusesFromFindings(client, { index: cfg.DETECTOR_FINDINGS_INDEX });
      for (const [k, v] of restored) if (!previousStorage.has(k)) previousStorage.set(k, v);
      statusesRestored = true;
      log.info({ statuses: restored.size, index: cfg.DETECTOR_FINDINGS_INDEX }, 'storage finding statuses restored');
    };
    // Every storage forecast is also indexed for the Capacity dashboard (regwatch-forecasts).
    const forecasts = esForecastWriter(client, { index: FORECASTS_INDEX });
    const jobs: ScheduledJob[] = [
      {
        name: 'baseline.hourly',
        schedule: cfg.DETECTOR_BASELINE_CRON,
        run: (now) => runHourlyBaselineJob(client, { index: eventsIndex, config: detection, now }),
      },
      {
        name: 'slo.hourly',
        schedule: cfg.DETECTOR_SLO_CRON,
        run: (now) => runSloJob(client, { index: eventsIndex, config: detection, now }),
      },
      {
        name: 'storage.exhaustion',
        schedule: cfg.DETECTOR_STORAGE_CRON,
        run: async (now) => {
          await restoreStorageStatuses();
          return runStorageJob(client, {
            index: cfg.DETECTOR_STORAGE_INDEX,
            now,
            previous: previousStorage,
            forecasts,
            logger: log,
            staleAfterSeconds: cfg.DETECTOR_STORAGE_STALE_AFTER,
          });
        },
      },
    ];
    const stop = startScheduler(jobs, {
      publish: async (fs) => {
        await publisher.publish(
          topic(TOPICS.findings),
          fs.map((f) => ({ key: `${f.entity.type}:${f.entity.id}`, value: JSON.stringify(f) })),
        );
        metrics.findingsPublished(fs);
      },
      clock: Date.now,
      logger: log,
      onRun: (job, outcome, seconds) => metrics.jobRun(job, outcome, seconds),
    });
    stopJobs = async () => {
      await stop();
      await publisher.close();
    };
  }
  phase = 'running';
  return async () => {
    // The HTTP endpoints close first (readiness fails, scrapes stop) before the consumer stops.
    phase = 'stopping';
    await http.close();
    await stopJobs?.();
    await detector.stop();
    await bus.close();
    await es?.close();
  };
}

try {
  const stop = await main();
  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
} catch (err) {
  const e =
    err instanceof AppError ? err : new AppError('INTERNAL', (err as Error)?.message ?? String(err), { cause: err });
  log.fatal(
    { code: e.code, retriable: e.retriable, err: { message: e.message } },
    `detector failed to start: ${e.message}`,
  );
  // Like ingest and alerts: one readable line on stderr besides the JSON log on stdout.
  process.stderr.write(`regwatch detector: ${e.code}: ${e.message}\n`);
  log.flush();
  process.exitCode = exitStatusForCode(e.code);
}
