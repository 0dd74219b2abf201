/**
 * Test harness: the ingest service's parts wired in-process against the real Kafka and
 * Elasticsearch (unique topics, group, data-stream namespace and indices per call).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@elastic/elasticsearch';
import kafkajs from 'kafkajs';
import { createKafkaBus } from '../../../shared/src/bus/kafka.ts';
import type { BusMessage, MessageBus } from '../../../shared/src/bus/types.ts';
import { applyElasticsearchAssets } from '../../../shared/src/es/assets.ts';
import { createEsClient, waitForElasticsearch } from '../../../shared/src/es/client.ts';
import { silentLogger, type Logger } from '../../../shared/src/logger.ts';
import { TOPICS } from '../../../shared/src/topics.ts';
import { esBulk as serviceEsBulk } from '../../../services/ingest/src/es-bulk.ts';
import type { IngestTopics } from '../../../services/ingest/src/config.ts';
import { createIndexer, type BulkFn, type Indexer } from '../../../services/ingest/src/indexer.ts';
import { createIngestMetrics, type IngestMetrics } from '../../../services/ingest/src/metrics.ts';
import { createIngestNormalizer } from '../../../services/ingest/src/normalizer.ts';
import { buildReceiver, type Receiver } from '../../../services/ingest/src/receiver.ts';
import { elasticsearchUrl, kafkaBrokers, uniqueName } from './engines.ts';

export const TOKEN = 'integration-token-0123456789';

export interface Pipeline {
  readonly prefix: string;
  readonly topics: IngestTopics;
  readonly namespace: string;
  readonly indices: { namespace: string; findings: string; storage: string };
  readonly groupId: string;
  readonly bus: MessageBus;
  readonly es: Client;
  readonly metrics: IngestMetrics;
  receiver: Receiver | null;
  indexer: Indexer | null;
  url: string;
  startIndexer(opts?: { groupId?: string; bulk?: BulkFn }): Promise<Indexer>;
  stopIndexer(): Promise<void>;
  /** Documents in the events data streams of this namespace (after a refresh). */
  countEvents(query?: object): Promise<number>;
  /** Waits until `countEvents()` reaches `n` (or throws after `timeoutMs`). */
  waitForEvents(n: number, timeoutMs?: number): Promise<number>;
  /** Reads every message currently in `topic` (from offset 0) with a throwaway group. */
  readTopic(topic: string, expected: number, timeoutMs?: number): Promise<BusMessage[]>;
  close(): Promise<void>;
}

export const topicsFor = (prefix: string): IngestTopics => ({
  notifications: `${prefix}${TOPICS.notifications}`,
  logs: `${prefix}${TOPICS.logs}`,
  harborWebhooks: `${prefix}${TOPICS.harborWebhooks}`,
  events: `${prefix}${TOPICS.events}`,
  dlq: `${prefix}${TOPICS.dlq}`,
  storage: `${prefix}${TOPICS.storage}`,
  findings: `${prefix}${TOPICS.findings}`,
});

/** The service's own `_bulk` adapter (NDJSON body, filtered response) over `es`. */
export function esBulk(es: Client): BulkFn {
  return serviceEsBulk(es);
}

export async function startPipeline(
  opts: { receiver?: boolean; indexer?: boolean; partitions?: number; logger?: Logger } = {},
): Promise<Pipeline> {
  const id = uniqueName('it');
  const prefix = `${id}.`;
  const topics = topicsFor(prefix);
  const namespace = id.replace(/[^a-z0-9_]/g, '_');
  const indices = { namespace, findings: `regwatch-findings-${namespace}`, storage: `regwatch-storage-${namespace}` };
  const logger = opts.logger ?? silentLogger();
  const metrics = createIngestMetrics({ defaultMetrics: false });
  const bus = createKafkaBus({
    brokers: kafkaBrokers(),
    clientId: 'regwatch-ingest-it',
    logger,
    publishTimeoutMs: 5000,
    heartbeatIntervalMs: 1000,
    sessionTimeoutMs: 10_000,
    maxBatchesInFlight: 2, // as the ingest service runs (services/ingest/src/main.ts)
    onConsumerLag: (_g, topic, partition, lag) => metrics.consumerLag.set({ topic, partition: String(partition) }, lag),
  });
  await bus.ensureTopics(Object.values(topics), opts.partitions ?? 3);
  const es = createEsClient({
    nodes: [elasticsearchUrl()],
    tlsRejectUnauthorized: true,
    requestTimeoutMs: 30_000,
    maxRetries: 0,
  });
  await waitForElasticsearch(es, { timeoutMs: 60_000 });
  await applyElasticsearchAssets(es, { namespace, logger });
  const publisher = bus.publisher();
  const groupId = `${id}-ingest`;

  const p: Pipeline = {
    prefix,
    topics,
    namespace,
    indices,
    groupId,
    bus,
    es,
    metrics,
    receiver: null,
    indexer: null,
    url: '',
    async startIndexer(o = {}) {
      const indexer = createIndexer({
        bus,
        publisher,
        bulk: o.bulk ?? esBulk(es),
        normalizer: createIngestNormalizer(),
        topics,
        indices,
        groupId: o.groupId ?? groupId,
        options: { itemRetries: 5, retryBaseMs: 200, retryMaxMs: 2000, correlationSize: 10_000 },
        logger,
        metrics,
      });
      await indexer.start();
      p.indexer = indexer;
      return indexer;
    },
    async stopIndexer() {
      await p.indexer?.stop();
      p.indexer = null;
    },
    async countEvents(query) {
      // A data stream created a moment ago may still be allocating its shard: retry briefly.
      for (let attempt = 0; ; attempt++) {
        try {
          await es.indices.refresh({
            index: `logs-oci_registry.*-${namespace}`,
            ignore_unavailable: true,
            allow_no_indices: true,
          });
          const r = await es.count({
            index: `logs-oci_registry.*-${namespace}`,
            ignore_unavailable: true,
            allow_no_indices: true,
            ...(query ? { query } : {}),
          });
          return r.count;
        } catch (err) {
          if (attempt >= 20) throw err;
          await sleep(250);
        }
      }
    },
    async waitForEvents(n, timeoutMs = 60_000) {
      const end = Date.now() + timeoutMs;
      let c = 0;
      while (Date.now() < end) {
        c = await p.countEvents();
        if (c >= n) return c;
        await sleep(250);
      }
      throw new Error(`expected ${n} documents, have ${c} after ${timeoutMs} ms`);
    },
    async readTopic(topic, expected, timeoutMs = 30_000) {
      const kafka = new kafkajs.Kafka({
        brokers: kafkaBrokers(),
        clientId: 'it-reader',
        logLevel: kafkajs.logLevel.NOTHING,
      });
      const admin = kafka.admin();
      await admin.connect();
      const offsets = await admin.fetchTopicOffsets(topic);
      await admin.disconnect();
      const total = offsets.reduce((s, o) => s + Number(o.high) - Number(o.low), 0);
      const got: BusMessage[] = [];
      if (total === 0 && expected === 0) return got;
      const sub = await bus.subscribe(
        { groupId: uniqueName('reader'), topics: [topic], fromBeginning: true },
        async (b) => {
          got.push(...b);
        },
      );
      const end = Date.now() + timeoutMs;
      while (got.length < Math.max(expected, total) && Date.now() < end) await sleep(100);
      await sub.close();
      return got;
    },
    async close() {
      if (p.receiver) await p.receiver.close();
      await p.stopIndexer();
      await publisher.close();
      await bus.close();
      await es.close();
    },
  };

  if (opts.receiver ?? true) {
    const indexerReady = () => p.indexer?.ready() ?? { ready: true, checks: {} };
    const receiver = buildReceiver({
      publisher,
      topics,
      config: {
        host: '127.0.0.1',
        port: 0,
        tokens: [TOKEN],
        bodyLimitBytes: 1_000_000,
        rateLimit: null,
        retryAfterSeconds: 2,
      },
      logger,
      metrics,
      ready: indexerReady,
    });
    p.url = await receiver.listen({ host: '127.0.0.1', port: 0 });
    p.receiver = receiver;
  }
  if (opts.indexer ?? true) await p.startIndexer();
  return p;
}

/** POSTs `body` to the receiver with the test token. */
export async function post(p: Pipeline, path: string, body: string | Buffer, contentType: string): Promise<Response> {
  return fetch(`${p.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': contentType },
    body,
  });
}

export const NOTIFICATION_MEDIA_TYPE = 'application/vnd.docker.distribution.events.v1+json';

/** A Distribution notification envelope with one manifest event per id (shape of fixture 01/C15). */
export function envelope(
  ids: readonly string[],
  user = 'user-e',
  action: 'pull' | 'push' = 'pull',
  requestIds?: readonly string[],
): string {
  return JSON.stringify({
    events: ids.map((id, i) => ({
      id,
      timestamp: '2026-11-29T10:00:00.123456789Z',
      action,
      target: {
        mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
        size: 708,
        digest: 'sha256:fea8895f450959fa676bcc1df0611ea93823a735a01205fd8622846041d0c7cf',
        length: 708,
        repository: 'team-e/app',
        url: 'http://registry.example.test:5000/v2/team-e/app/manifests/sha256:fea8895f450959fa676bcc1df0611ea93823a735a01205fd8622846041d0c7cf',
        tag: 'v1',
      },
      request: {
        id: requestIds?.[i] ?? `req-${id}`,
        addr: '192.0.2.44:51234',
        host: 'registry.example.test:5000',
        method: action === 'pull' ? 'GET' : 'PUT',
        useragent: 'skopeo/1.9.3',
      },
      actor: { name: user },
      source: { addr: 'registry-1:5000', instanceID: '00000000-0000-4000-8000-0000000000ff' },
    })),
  });
}
