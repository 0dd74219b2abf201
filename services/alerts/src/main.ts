/**
 * Composition root of the alerts service (full mode). The only file of the service that reads
 * `process.env`. Start: `sh scripts/node.sh services/alerts/src/main.ts`.
 *
 * Environment (validated at boot, every problem listed):
 * - `REGWATCH_ALERTS_CONFIG`: alerts config file (YAML/JSON; `${VAR}` taken from the environment). Default: console receiver.
 * - `REGWATCH_ALERTS_TOKEN`: bearer token(s) for the silences API, comma list (secret, ≥ 16 chars). Required.
 * - `REGWATCH_ALERTS_HOST` / `REGWATCH_ALERTS_PORT`: API listen address (default 127.0.0.1:9095).
 * - `REGWATCH_ALERTS_PUBLIC_URL`: API URL printed as `--url` in each alert's silence command
 *   (default: `global.alerts_url` of the config file, else the listen address).
 * - `REGWATCH_ALERTS_STORE`: `elasticsearch` (default; shared by instances) or `sqlite` (single instance).
 * - `REGWATCH_ALERTS_SQLITE_PATH`: sqlite file (default .data/alerts.sqlite).
 * - `REGWATCH_ALERTS_GROUP_ID` (default `<REGWATCH_TOPIC_PREFIX>alerts`), `REGWATCH_ALERTS_TICK_MS` (default 250),
 *   `REGWATCH_ALERTS_INSTANCE_ID` (default random), `REGWATCH_TOPIC_PREFIX` (topic isolation).
 * - Kafka: `KAFKA_BROKERS`. Elasticsearch: `ES_URLS`, `ES_USERNAME`, `ES_PASSWORD`, `ES_API_KEY`,
 *   `ES_CA_FILE`, `ES_TLS_REJECT_UNAUTHORIZED`, `ES_ALERT_STATE_INDEX`, `ES_DELIVERIES_INDEX`.
 * Exit codes: 0 after a clean shutdown (SIGTERM/SIGINT), 1 on a start-up failure (code logged).
 */
import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { createKafkaBus } from '../../../shared/src/bus/kafka.ts';
import { loadConfig } from '../../../shared/src/config.ts';
import { AppError, exitStatusForCode } from '../../../shared/src/errors.ts';
import { createEsClient, esConfigSchema, redactedNodes, waitForElasticsearch } from '../../../shared/src/es/client.ts';
import { createLogger } from '../../../shared/src/logger.ts';
import { TOPICS } from '../../../shared/src/topics.ts';
import { buildApi } from './api.ts';
import { alertsEnvSchema, alertsGroupId, alertsPublicUrl } from './env-config.ts';
import { systemClock } from './clock.ts';
import { DEFAULT_ALERTS_CONFIG_TEXT, loadAlertsConfigFile, parseAlertsConfig } from './config.ts';
import { createEsDeliveriesSink } from './deliveries-es.ts';
import { createAlerts } from './service.ts';
import { createEsStore } from './store/elasticsearch.ts';
import { createSqliteStore } from './store/sqlite.ts';

const log = createLogger('alerts', { level: process.env['LOG_LEVEL'] ?? 'info' });

/**
 * The start-up error for an API address that cannot be bound (EADDRINUSE, EACCES, unknown host):
 * HTTP_LISTEN_FAILED naming host:port and the system error code, not retriable (free the port or
 * change REGWATCH_ALERTS_HOST/REGWATCH_ALERTS_PORT).
 */
function listenFailed(err: unknown, host: string, port: number): AppError {
  const code = (err as { code?: string }).code;
  return new AppError(
    'HTTP_LISTEN_FAILED',
    `alerts API cannot listen on ${host}:${port} (${code ?? (err as Error).message}); free the port or set REGWATCH_ALERTS_HOST/REGWATCH_ALERTS_PORT`,
    { cause: err, retriable: false, context: { host, port, code } },
  );
}

/** The port the API actually bound (REGWATCH_ALERTS_PORT=0 picks a free one). */
function boundPort(api: FastifyInstance): number {
  return (api.server.address() as AddressInfo).port;
}

async function main(): Promise<void> {
  const cfg = loadConfig(alertsEnvSchema, process.env, 'alerts environment');
  const config = cfg.REGWATCH_ALERTS_CONFIG
    ? await loadAlertsConfigFile(cfg.REGWATCH_ALERTS_CONFIG, process.env)
    : parseAlertsConfig(DEFAULT_ALERTS_CONFIG_TEXT);
  const es = createEsClient(
    loadConfig(
      esConfigSchema,
      {
        nodes: cfg.ES_URLS,
        ...(cfg.ES_USERNAME ? { username: cfg.ES_USERNAME } : {}),
        ...(cfg.ES_PASSWORD ? { password: cfg.ES_PASSWORD } : {}),
        ...(cfg.ES_API_KEY ? { apiKey: cfg.ES_API_KEY } : {}),
        ...(cfg.ES_CA_FILE ? { caFile: cfg.ES_CA_FILE } : {}),
        tlsRejectUnauthorized: cfg.ES_TLS_REJECT_UNAUTHORIZED,
      },
      'Elasticsearch settings',
    ),
  );
  log.info({ nodes: redactedNodes({ nodes: cfg.ES_URLS }) }, 'waiting for Elasticsearch');
  await waitForElasticsearch(es, { timeoutMs: 60_000 });
  let store;
  if (cfg.REGWATCH_ALERTS_STORE === 'sqlite') {
    mkdirSync(dirname(cfg.REGWATCH_ALERTS_SQLITE_PATH), { recursive: true });
    store = createSqliteStore(cfg.REGWATCH_ALERTS_SQLITE_PATH);
  } else store = createEsStore({ client: es, index: cfg.ES_ALERT_STATE_INDEX });
  const topic = `${cfg.REGWATCH_TOPIC_PREFIX}${TOPICS.findings}`;
  const bus = createKafkaBus({ brokers: cfg.KAFKA_BROKERS, clientId: 'regwatch-alerts', logger: log });
  await bus.ensureTopics([topic], cfg.KAFKA_TOPIC_PARTITIONS);
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // Not ready until the consumer is subscribed, and again from the first shutdown signal.
  let readiness: string | undefined = 'starting';
  const api = buildApi({
    store,
    clock: systemClock,
    logger: log,
    tokens: cfg.REGWATCH_ALERTS_TOKEN,
    registry,
    notReady: () => readiness,
  });
  // Listening before the consumer starts: a busy port fails the start before any finding is taken.
  let address: string;
  try {
    address = await api.listen({ host: cfg.REGWATCH_ALERTS_HOST, port: cfg.REGWATCH_ALERTS_PORT });
  } catch (err) {
    await Promise.allSettled([api.close(), bus.close(), store.close(), es.close()]);
    throw listenFailed(err, cfg.REGWATCH_ALERTS_HOST, cfg.REGWATCH_ALERTS_PORT);
  }
  const alerts = createAlerts({
    bus,
    store,
    clock: systemClock,
    config,
    logger: log,
    deliveriesSink: createEsDeliveriesSink({ client: es, index: cfg.ES_DELIVERIES_INDEX }),
    topic,
    groupId: alertsGroupId(cfg),
    tickMs: cfg.REGWATCH_ALERTS_TICK_MS,
    ...(cfg.REGWATCH_ALERTS_INSTANCE_ID ? { instanceId: cfg.REGWATCH_ALERTS_INSTANCE_ID } : {}),
    registry,
    // The silence command in each alert names this API (`--url`) and the token variable.
    render: { alertsUrl: alertsPublicUrl(cfg, config.global.alerts_url, boundPort(api)), tokenHint: true },
  });
  await alerts.start();
  readiness = undefined;
  log.info({ address, instance: alerts.instanceId, store: cfg.REGWATCH_ALERTS_STORE }, 'alerts API listening');
  let stopping = false;
  const shutdown = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    readiness = 'stopping';
    log.info({ signal }, 'shutting down');
    await api.close();
    await alerts.stop();
    await bus.close();
    await store.close();
    await es.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  const e =
    err instanceof AppError
      ? { code: err.code, retriable: err.retriable, message: err.message }
      : { code: 'INTERNAL', retriable: false, message: (err as Error)?.message };
  log.fatal(e, 'alerts service failed to start');
  process.stderr.write(`regwatch alerts: ${e.code}: ${e.message}\n`);
  setTimeout(() => process.exit(exitStatusForCode(e.code)), 100);
});
