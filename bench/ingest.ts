/**
 * Ingest benchmark (`npm run bench:ingest`), against the real engines (npm run infra:up):
 *  1. Kafka → Elasticsearch: events/s of the indexer (consume raw envelopes, normalize, bulk create,
 *     publish to regwatch.events, commit) vs a raw `_bulk` loop of the same documents in the same
 *     run (the Elasticsearch ceiling on this machine). Target ratio ≥ 0.9.
 *  2. Receiver: envelopes/s and p99 latency of POST /v1/notifications (202 after the Kafka ack) vs a
 *     bare Fastify route that answers 202 at once (autocannon). Target ≥ 0.5 of bare, p99 < 50 ms.
 * Env: BENCH_EVENTS (default 40000), BENCH_SECONDS (autocannon duration, default 10),
 * KAFKA_BROKERS, ELASTICSEARCH_URL.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon from 'autocannon';
import Fastify from 'fastify';
import { createKafkaBus } from '../shared/src/bus/kafka.ts';
import { applyElasticsearchAssets } from '../shared/src/es/assets.ts';
import { createEsClient, waitForElasticsearch } from '../shared/src/es/client.ts';
import { eventsDataStream } from '../shared/src/es/names.ts';
import { silentLogger } from '../shared/src/logger.ts';
import { normalizePayload } from '../shared/src/normalize/index.ts';
import { TOPICS } from '../shared/src/topics.ts';
import { createIndexer } from '../services/ingest/src/indexer.ts';
import { createIngestMetrics } from '../services/ingest/src/metrics.ts';
import { createIngestNormalizer } from '../services/ingest/src/normalizer.ts';
import { buildReceiver } from '../services/ingest/src/receiver.ts';
import type { BulkResponseItem } from '../services/ingest/src/bulk.ts';

const EVENTS = Number(process.env['BENCH_EVENTS'] ?? 40_000);
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 10);
const PER_ENVELOPE = 10;
const BROKERS = (process.env['KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(',');
const ES_URL = process.env['ELASTICSEARCH_URL'] ?? 'http://127.0.0.1:9200';
const run = `bench_${process.pid}_${randomBytes(3).toString('hex')}`;
const log = silentLogger();
const say = (s: string): boolean => process.stderr.write(`${s}\n`);

function envelope(base: number, n: number): string {
  return JSON.stringify({
    events: Array.from({ length: n }, (_, i) => ({
      id: `${run}-${base + i}`,
      timestamp: new Date(Date.UTC(2026, 10, 29, 10, 0, 0, (base + i) % 1000)).toISOString(),
      action: 'pull',
      target: {
        mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
        size: 708,
        digest: 'sha256:fea8895f450959fa676bcc1df0611ea93823a735a01205fd8622846041d0c7cf',
        length: 708,
        repository: `team-${(base + i) % 17}/app`,
        url: 'http://registry.example.test:5000/v2/team/app/manifests/sha256:fea8895f450959fa676bcc1df0611ea93823a735a01205fd8622846041d0c7cf',
        tag: 'v1',
      },
      request: {
        id: `req-${run}-${base + i}`,
        addr: `192.0.2.${(base + i) % 250}:40000`,
        host: 'registry.example.test',
        method: 'GET',
        useragent: 'skopeo/1.9.3',
      },
      actor: { name: `user-${(base + i) % 50}` },
      source: { addr: 'registry-1:5000', instanceID: '00000000-0000-4000-8000-0000000000ff' },
    })),
  });
}

async function main(): Promise<void> {
  const es = createEsClient({ nodes: [ES_URL], tlsRejectUnauthorized: true, requestTimeoutMs: 60_000, maxRetries: 0 });
  await waitForElasticsearch(es);
  const nsBase = `${run}base`.replace(/[^a-z0-9_]/g, '_');
  const nsPipe = `${run}pipe`.replace(/[^a-z0-9_]/g, '_');
  await applyElasticsearchAssets(es, { namespace: nsPipe, logger: log });

  const envelopes: string[] = [];
  for (let b = 0; b < EVENTS; b += PER_ENVELOPE) envelopes.push(envelope(b, PER_ENVELOPE));

  // ---- 1a. baseline: raw _bulk loop of the same documents (normalized up front, not timed)
  const docs = envelopes.flatMap((e) =>
    normalizePayload(e, 'notification').flatMap((r) => (r.kind === 'event' ? [r.event] : [])),
  );
  if (docs.length !== EVENTS) throw new Error(`normalizer produced ${docs.length} events, expected ${EVENTS}`);
  const target = eventsDataStream('oci_registry.notification', nsBase);
  const CHUNK = 1000;
  let t = process.hrtime.bigint();
  for (let i = 0; i < docs.length; i += CHUNK) {
    const ops: object[] = [];
    for (const d of docs.slice(i, i + CHUNK)) ops.push({ create: { _index: target, _id: d.event.id } }, d);
    const r = await es.bulk({ operations: ops as never[] });
    if (r.errors) throw new Error('baseline bulk had errors');
  }
  const baseS = Number(process.hrtime.bigint() - t) / 1e9;
  const baseRate = EVENTS / baseS;

  // ---- 1b. indexer: raw envelopes already in Kafka → ES (+ regwatch.events, commits)
  const prefix = `${run}.`;
  const topics = {
    notifications: `${prefix}${TOPICS.notifications}`,
    logs: `${prefix}${TOPICS.logs}`,
    harborWebhooks: `${prefix}${TOPICS.harborWebhooks}`,
    events: `${prefix}${TOPICS.events}`,
    dlq: `${prefix}${TOPICS.dlq}`,
    storage: `${prefix}${TOPICS.storage}`,
    findings: `${prefix}${TOPICS.findings}`,
  };
  const bus = createKafkaBus({ brokers: BROKERS, clientId: 'regwatch-bench', logger: log, publishTimeoutMs: 30_000 });
  await bus.ensureTopics(Object.values(topics), 3);
  const pub = bus.publisher();
  for (let i = 0; i < envelopes.length; i += 200) {
    await pub.publish(
      topics.notifications,
      envelopes.slice(i, i + 200).map((value) => ({
        key: null,
        value,
        headers: { 'content-type': 'application/vnd.docker.distribution.events.v1+json' },
      })),
    );
  }
  const metrics = createIngestMetrics({ defaultMetrics: false });
  const indexer = createIndexer({
    bus,
    publisher: pub,
    bulk: async (operations) => ({
      items: (await es.bulk({ operations: operations as never[] })).items as unknown as BulkResponseItem[],
    }),
    normalizer: createIngestNormalizer(),
    topics,
    indices: { namespace: nsPipe, findings: `regwatch-findings-${nsPipe}`, storage: `regwatch-storage-${nsPipe}` },
    groupId: `${run}-ingest`,
    options: { itemRetries: 5, retryBaseMs: 200, retryMaxMs: 2000, correlationSize: 50_000 },
    logger: log,
    metrics,
  });
  t = process.hrtime.bigint();
  await indexer.start();
  while (indexer.totals.created + indexer.totals.duplicates < EVENTS) await sleep(20);
  const pipeS = Number(process.hrtime.bigint() - t) / 1e9;
  await indexer.stop();
  const pipeRate = EVENTS / pipeS;

  // ---- 2. receiver vs bare Fastify
  const body = envelope(10_000_000, 2);
  const bare = Fastify();
  bare.addContentTypeParser('*', { parseAs: 'buffer' }, (_r, b, done) => done(null, b));
  bare.post('/v1/notifications', async (_req, reply) => reply.code(202).send({ accepted: 1 }));
  const bareUrl = await bare.listen({ host: '127.0.0.1', port: 0 });
  const token = randomBytes(16).toString('hex');
  const receiver = buildReceiver({
    publisher: pub,
    topics,
    config: {
      host: '127.0.0.1',
      port: 0,
      tokens: [token],
      bodyLimitBytes: 1_000_000,
      rateLimit: null,
      retryAfterSeconds: 5,
    },
    logger: log,
    metrics,
    ready: () => ({ ready: true, checks: {} }),
  });
  const recvUrl = await receiver.listen({ host: '127.0.0.1', port: 0 });
  const cannon = (url: string) =>
    autocannon({
      url: `${url}/v1/notifications`,
      method: 'POST',
      connections: 20,
      duration: SECONDS,
      headers: {
        'content-type': 'application/vnd.docker.distribution.events.v1+json',
        authorization: `Bearer ${token}`,
      },
      body,
    });
  const bareRes = await cannon(bareUrl);
  const recvRes = await cannon(recvUrl);
  await receiver.close();
  await bare.close();
  await pub.close();
  await bus.close();
  await es.close();

  const recvRatio = recvRes.requests.average / bareRes.requests.average;
  const result = {
    events: EVENTS,
    kafka_to_es: {
      baseline_bulk_events_per_s: Math.round(baseRate),
      indexer_events_per_s: Math.round(pipeRate),
      ratio: Number((pipeRate / baseRate).toFixed(3)),
      target: 0.9,
    },
    receiver: {
      bare_req_per_s: Math.round(bareRes.requests.average),
      receiver_envelopes_per_s: Math.round(recvRes.requests.average),
      ratio: Number(recvRatio.toFixed(3)),
      receiver_p99_ms: recvRes.latency.p99,
      bare_p99_ms: bareRes.latency.p99,
      receiver_non_2xx: recvRes.non2xx,
      target_ratio: 0.5,
      target_p99_ms: 50,
    },
  };
  say(
    `Kafka→ES: indexer ${Math.round(pipeRate)} ev/s vs raw _bulk ${Math.round(baseRate)} ev/s → ratio ${result.kafka_to_es.ratio} (target ≥ 0.9)`,
  );
  say(
    `receiver: ${Math.round(recvRes.requests.average)} env/s vs bare ${Math.round(bareRes.requests.average)} req/s → ratio ${result.receiver.ratio} (target ≥ 0.5), p99 ${recvRes.latency.p99} ms (target < 50)`,
  );
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

await main();
