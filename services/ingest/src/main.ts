/**
 * Composition root of the ingest service (receiver + indexer). The only file of the service that
 * reads `process.env` (see config.ts for every variable). Start:
 *   sh scripts/node.sh services/ingest/src/main.ts
 * Logs are pino JSON on stdout. Exit codes: 0 after a clean shutdown, 1 on a start-up failure
 * (the error code and message are logged: CONFIG_INVALID, KAFKA_UNAVAILABLE, ES_AUTH_FAILED,
 * HTTP_LISTEN_FAILED for a receiver address already in use, …).
 */
import type { Client } from '@elastic/elasticsearch';
import { hostname } from 'node:os';
import { createKafkaBus } from '../../../shared/src/bus/kafka.ts';
import type { OutgoingMessage, Publisher } from '../../../shared/src/bus/types.ts';
import { loadConfig } from '../../../shared/src/config.ts';
import { AppError, exitStatusForCode } from '../../../shared/src/errors.ts';
import { applyElasticsearchAssets, countSetupChanges } from '../../../shared/src/es/assets.ts';
import { detectCapabilities } from '../../../shared/src/es/capabilities.ts';
import { createEsClient, redactedNodes, waitForElasticsearch } from '../../../shared/src/es/client.ts';
import { createLogger, type Logger } from '../../../shared/src/logger.ts';
import { esBulk } from './es-bulk.ts';
import { ingestEnvSchema, type IngestConfig } from './config.ts';
import { kafkaLagReader } from './consumer-lag.ts';
import { createIndexer, indexerTopics, type Indexer } from './indexer.ts';
import { createIngestMetrics } from './metrics.ts';
import { createIngestNormalizer } from './normalizer.ts';
import { createPipelineStats, type LagReader, type PipelineBulkItem, type PipelineStats } from './pipeline-stats.ts';
import { buildReceiver, type Receiver, type ReadyState } from './receiver.ts';

/** Remembers whether the last Kafka write was acknowledged (receiver readiness). */
function trackingPublisher(inner: Publisher): Publisher & { healthy(): boolean } {
  let ok = true;
  return {
    healthy: () => ok,
    async publish(topic: string, messages: readonly OutgoingMessage[]) {
      try {
        await inner.publish(topic, messages);
        ok = true;
      } catch (err) {
        ok = false;
        throw err;
      }
    },
    close: () => inner.close(),
  };
}

/**
 * The start-up error for a receiver address that cannot be bound (EADDRINUSE, EACCES, unknown
 * host): HTTP_LISTEN_FAILED naming host:port and the system error code, not retriable (the operator
 * must free the port or change RECEIVER_HOST/RECEIVER_PORT).
 */
function listenFailed(err: unknown, host: string, port: number): AppError {
  const code = (err as { code?: string }).code;
  return new AppError(
    'HTTP_LISTEN_FAILED',
    `receiver cannot listen on ${host}:${port} (${code ?? (err as Error).message}); free the port or set RECEIVER_HOST/RECEIVER_PORT`,
    { cause: err, retriable: false, context: { host, port, code } },
  );
}

async function start(config: IngestConfig, log: Logger, cancel: AbortSignal): Promise<() => Promise<void>> {
  const metrics = createIngestMetrics();
  const bus = createKafkaBus({
    brokers: config.kafka.brokers,
    clientId: config.kafka.clientId,
    logger: log,
    publishTimeoutMs: config.kafka.publishTimeoutMs,
    lingerMs: config.kafka.lingerMs,
    sessionTimeoutMs: config.kafka.sessionTimeoutMs,
    heartbeatIntervalMs: config.kafka.heartbeatIntervalMs,
    // Two batches per partition in the indexer at once: the next bulk goes out while the previous
    // batch publishes to regwatch.events; offsets still commit in order (bench/ingest.ts).
    maxBatchesInFlight: 2,
    onConsumerLag: (_g, topic, partition, lag) => metrics.consumerLag.set({ topic, partition: String(partition) }, lag),
  });
  await bus.ensureTopics(Object.values(config.topics), config.kafka.partitions);
  const publisher = trackingPublisher(bus.publisher());

  let es: Client | null = null;
  let indexer: Indexer | null = null;
  let receiver: Receiver | null = null;
  let stats: PipelineStats | null = null;
  let lagReader: LagReader | null = null;
  /** Closes whatever was opened so far (start-up failed: the process exits right after). */
  const abandon = async (): Promise<void> => {
    await Promise.allSettled([
      stats?.stop(),
      lagReader?.close(),
      receiver?.close(),
      indexer?.stop(),
      publisher.close(),
      bus.close(),
      es?.close(),
    ]);
  };
  // The receiver binds its port first (before Elasticsearch and the consumer group, which can
  // take many seconds): a busy port fails the start at once, and a registry's deliveries are taken
  // into Kafka while the indexer is still starting (/readyz says "starting" until it runs).
  if (config.roles.receiver) {
    const withIndexer = config.roles.indexer;
    receiver = buildReceiver({
      publisher,
      topics: config.topics,
      config: config.receiver,
      logger: log,
      metrics,
      ready: (): ReadyState => {
        const checks: Record<string, string> = { kafka: publisher.healthy() ? 'ok' : 'last write not acknowledged' };
        let ready = publisher.healthy();
        if (indexer) {
          const r = indexer.ready();
          Object.assign(checks, r.checks);
          ready = ready && r.ready;
        } else if (withIndexer) {
          // Still waiting for Elasticsearch / applying its assets.
          checks['indexer'] = 'starting';
          ready = false;
        }
        return { ready, checks };
      },
    });
    let address: string;
    try {
      address = await receiver.listen({ host: config.receiver.host, port: config.receiver.port });
    } catch (err) {
      await abandon();
      throw listenFailed(err, config.receiver.host, config.receiver.port);
    }
    log.info({ address, auth: config.receiver.tokens.length > 0 ? 'bearer' : 'none' }, 'receiver listening');
  }
  if (config.roles.indexer) {
    try {
      es = createEsClient(config.es);
      log.info({ nodes: redactedNodes(config.es) }, 'waiting for Elasticsearch');
      await waitForElasticsearch(es, { timeoutMs: config.esStartupTimeoutMs, signal: cancel });
      const capabilities = await detectCapabilities(es);
      const report = await applyElasticsearchAssets(es, {
        namespace: config.indices.namespace,
        logger: log,
        capabilities,
      });
      // Each warning was logged once by applyElasticsearchAssets (component es-setup).
      log.info(
        {
          capabilities,
          // changed = created + updated; a skipped asset (ILM policy without ILM) is not a change.
          ...countSetupChanges(report),
          warnings: report.warnings.length,
        },
        'Elasticsearch assets applied',
      );
      const client = es;
      indexer = createIndexer({
        bus,
        publisher,
        bulk: esBulk(client),
        normalizer: createIngestNormalizer(),
        topics: config.topics,
        indices: config.indices,
        groupId: config.kafka.groupId,
        options: config.indexer,
        logger: log,
        metrics,
      });
      await indexer.start();
      if (config.pipelineStats.intervalMs > 0) {
        lagReader = kafkaLagReader({
          brokers: config.kafka.brokers,
          clientId: config.kafka.clientId,
          groupId: config.kafka.groupId,
          topics: indexerTopics(config.topics),
        });
        stats = createPipelineStats({
          lag: lagReader,
          metrics,
          bulk: async (operations) => {
            const res = await client.bulk({ operations: operations as never[], refresh: false });
            return res.items.map((item) => Object.values(item)[0] as PipelineBulkItem);
          },
          clock: Date.now,
          logger: log,
          options: {
            intervalMs: config.pipelineStats.intervalMs,
            index: config.pipelineStats.index,
            groupId: config.kafka.groupId,
            serviceName: 'ingest',
            nodeName: config.pipelineStats.nodeName ?? `${hostname()}:${process.pid}`,
          },
        });
        stats.start();
      }
    } catch (err) {
      await abandon();
      throw err;
    }
  }
  log.info(
    {
      roles: config.roles,
      topics: config.topics,
      pipelineStatsIntervalMs: stats ? config.pipelineStats.intervalMs : 0,
    },
    'ingest started',
  );

  // Fixed order: stop the pipeline health sampler (its in-flight sample finishes) → stop taking
  // HTTP requests → drain the in-flight batch and leave the group (offsets of finished batches
  // are already committed) → close the producer → close ES.
  return async () => {
    if (stats) await stats.stop();
    if (lagReader) await lagReader.close();
    if (receiver) await receiver.close();
    if (indexer) await indexer.stop();
    await publisher.close();
    await bus.close();
    if (es) await es.close();
  };
}

async function main(): Promise<void> {
  let log: Logger = createLogger('ingest');
  let stop: (() => Promise<void>) | null = null;
  let stopping = false;
  let timeoutMs = 20_000;
  // Aborted by a shutdown during start-up: the wait for Elasticsearch ends at once.
  const starting = new AbortController();
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      log.error({ timeoutMs }, 'shutdown timed out');
      process.exit(1);
    }, timeoutMs);
    timer.unref();
    if (!stop) {
      // Still starting: start() ends (cancelled, or finished and then stopped by main) and main
      // logs how it stopped.
      starting.abort(new Error(`start-up cancelled by ${signal}`));
      return;
    }
    void stop()
      .then(() => {
        log.info('stopped');
        log.flush();
        process.exitCode = 0;
      })
      .catch((err: unknown) => {
        log.error({ err }, 'error during shutdown');
        process.exitCode = 1;
      });
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
  try {
    const config = loadConfig(ingestEnvSchema, process.env, 'ingest environment');
    log = createLogger('ingest', { level: config.logLevel });
    timeoutMs = config.shutdownTimeoutMs;
    stop = await start(config, log, starting.signal);
    if (stopping) {
      // The signal came during a part of start-up that cannot be cancelled: stop now.
      await stop();
      log.info('stopped');
      log.flush();
    }
  } catch (err) {
    if (starting.signal.aborted) {
      // A shutdown during start-up (start closed what it had opened): a clean stop, not a failure.
      log.info('stopped during start-up');
      log.flush();
      process.exit(0);
    }
    const e =
      err instanceof AppError ? err : new AppError('INTERNAL', (err as Error).message ?? String(err), { cause: err });
    log.fatal(
      { code: e.code, retriable: e.retriable, err: { message: e.message } },
      `ingest failed to start: ${e.message}`,
    );
    process.stderr.write(`regwatch ingest: ${e.code}: ${e.message}\n`);
    log.flush();
    process.exit(exitStatusForCode(e.code));
  }
}

await main();
