/**
 * Pipeline health samples against the real engines (Kafka 127.0.0.1:9092 / KAFKA_BROKERS,
 * Elasticsearch 127.0.0.1:9200 / ELASTICSEARCH_URL):
 *  1. the sampler with the kafkajs admin lag reader and the real ES client: a fresh two-partition
 *     topic, 25 + 8 messages produced, the group committed at offset 10 on partition 0 and never
 *     on partition 1 → the lag documents say exactly 15 and 8; a write that hit an unreachable
 *     node is re-sent with the same ids (no duplicates); then the "Consumer lag by group" and
 *     "Dead-letter queue by reason" panel aggregations of the health dashboard return those values;
 *  2. the real ingest service (child process) with INGEST_PIPELINE_STATS_INTERVAL_S=1 writes
 *     counter, DLQ and lag documents from its own indexer's metrics, and still exits 0 on SIGTERM.
 * Every run uses its own topic, group and `regwatch-pipeline-<unique>` index, and deletes the index.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import kafkajs from 'kafkajs';
import type { Client } from '@elastic/elasticsearch';
import { createEsClient, waitForElasticsearch } from '../../../shared/src/es/client.ts';
import { applyElasticsearchAssets } from '../../../shared/src/es/assets.ts';
import { silentLogger } from '../../../shared/src/logger.ts';
import { createIngestMetrics } from '../../../services/ingest/src/metrics.ts';
import { kafkaLagReader } from '../../../services/ingest/src/consumer-lag.ts';
import { createPipelineStats, type PipelineBulkItem } from '../../../services/ingest/src/pipeline-stats.ts';
import { RAW_HEADERS } from '../../../services/ingest/src/receiver.ts';
import { health } from '../../../dashboards/src/boards/health.ts';
import { dashboardQueries } from '../../../dashboards/src/queries.ts';
import { elasticsearchUrl, kafkaBrokers, uniqueName } from './engines.ts';
import { NOTIFICATION_MEDIA_TYPE, envelope, startPipeline, type Pipeline } from './pipeline.ts';
import { envFor, killAllIngest, spawnIngest } from './service.ts';

const esConfig = (url: string) => ({
  nodes: [url],
  tlsRejectUnauthorized: true,
  requestTimeoutMs: 10_000,
  maxRetries: 0,
});

let es: Client;
const indices: string[] = [];
const kafka = new kafkajs.Kafka({
  brokers: kafkaBrokers(),
  clientId: 'it-pipeline-stats',
  logLevel: kafkajs.logLevel.NOTHING,
});

type PipelineSource = {
  '@timestamp': string;
  service: { name: string; node: { name: string } };
  oci_registry: {
    pipeline: {
      consumer_group: string;
      topic?: string;
      partition?: number;
      consumer_lag?: number;
      committed_offset?: number;
      log_end_offset?: number;
      messages_consumed?: number;
      events_indexed?: number;
      events_duplicates?: number;
      dlq?: { reason: string; count: number };
    };
  };
};

async function allDocs(index: string): Promise<PipelineSource[]> {
  await es.indices.refresh({ index });
  const r = await es.search<PipelineSource>({ index, size: 1000, sort: [{ '@timestamp': 'asc' }] });
  return r.hits.hits.map((h) => h._source!);
}

const bulkVia =
  (client: Client) =>
  async (operations: readonly object[]): Promise<PipelineBulkItem[]> => {
    const res = await client.bulk({ operations: operations as object[], refresh: false });
    return res.items.map((i) => Object.values(i)[0] as PipelineBulkItem);
  };

before(async () => {
  es = createEsClient(esConfig(elasticsearchUrl()));
  await waitForElasticsearch(es, { timeoutMs: 60_000 });
  await applyElasticsearchAssets(es, { namespace: 'default', logger: silentLogger() });
});

after(async () => {
  await killAllIngest();
  for (const index of indices) await es.indices.delete({ index, ignore_unavailable: true }).catch(() => undefined);
  await es.close();
});

describe('pipeline health samples (real Kafka + Elasticsearch)', () => {
  test('lag = log end offset - committed offset exactly; retried writes do not duplicate; lag and DLQ panels have data', async () => {
    const topic = uniqueName('it.pstats');
    const groupId = uniqueName('pstats_group');
    const index = `regwatch-pipeline-${uniqueName('it')}`;
    indices.push(index);
    const admin = kafka.admin();
    await admin.connect();
    const producer = kafka.producer();
    try {
      await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 2 }] });
      await producer.connect();
      const msgs = (partition: number, n: number) =>
        Array.from({ length: n }, (_, i) => ({ partition, value: `m${partition}-${i}` }));
      await producer.send({ topic, messages: [...msgs(0, 25), ...msgs(1, 8)] });
      await admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: '10' }] });

      const metrics = createIngestMetrics({ defaultMetrics: false });
      metrics.consumed.inc({ topic }, 12);
      metrics.indexed.inc({ target: 'logs-oci_registry.distribution_log-default' }, 9);
      metrics.duplicates.inc(2);
      metrics.dlq.inc({ reason: 'not_json' }, 1);

      // First write goes to a node that is not there (connection refused), the next to the real one.
      const dead = createEsClient(esConfig('http://127.0.0.1:1'));
      let target = dead;
      const lag = kafkaLagReader({ brokers: kafkaBrokers(), clientId: 'it', groupId, topics: [topic] });
      let now = Date.parse('2026-02-01T10:00:00Z');
      const stats = createPipelineStats({
        lag,
        metrics,
        bulk: (ops) => bulkVia(target)(ops),
        clock: () => now,
        logger: silentLogger(),
        options: { intervalMs: 30_000, index, groupId, serviceName: 'ingest', nodeName: 'it-node' },
      });
      const r1 = await stats.sampleOnce();
      assert.deepEqual(r1, { written: 0, pending: 4, dropped: 0, partitions: 2 });

      target = es;
      now += 30_000;
      await producer.send({ topic, messages: msgs(0, 5) });
      metrics.dlq.inc({ reason: 'unknown_format' }, 3);
      metrics.dlq.inc({ reason: 'not_json' }, 2);
      const r2 = await stats.sampleOnce();
      assert.deepEqual(r2, { written: 9, pending: 0, dropped: 0, partitions: 2 });
      // Re-sending the very same sample (as a retry would) overwrites: still 9 documents.
      now += 30_000;
      await stats.sampleOnce();
      await lag.close();
      await dead.close();

      const docs = await allDocs(index);
      const lagDocs = docs.filter((d) => d.oci_registry.pipeline.consumer_lag !== undefined);
      const at = (iso: string) =>
        lagDocs
          .filter((d) => d['@timestamp'] === iso)
          .map((d) => d.oci_registry.pipeline)
          .sort((a, b) => (a.partition ?? 0) - (b.partition ?? 0));
      assert.deepEqual(at('2026-02-01T10:00:00.000Z'), [
        {
          consumer_group: groupId,
          topic,
          partition: 0,
          consumer_lag: 15,
          committed_offset: 10,
          log_end_offset: 25,
        },
        { consumer_group: groupId, topic, partition: 1, consumer_lag: 8, log_end_offset: 8 },
      ]);
      assert.deepEqual(
        at('2026-02-01T10:00:30.000Z').map((p) => [p.partition, p.consumer_lag, p.log_end_offset]),
        [
          [0, 20, 30],
          [1, 8, 8],
        ],
      );
      const counters = docs.filter((d) => d.oci_registry.pipeline.messages_consumed !== undefined);
      assert.deepEqual(
        counters.map((d) => [
          d['@timestamp'],
          d.oci_registry.pipeline.messages_consumed,
          d.oci_registry.pipeline.events_indexed,
          d.oci_registry.pipeline.events_duplicates,
        ]),
        [
          ['2026-02-01T10:00:00.000Z', 12, 9, 2],
          ['2026-02-01T10:00:30.000Z', 0, 0, 0],
          ['2026-02-01T10:01:00.000Z', 0, 0, 0],
        ],
      );
      const dlq = docs
        .filter((d) => d.oci_registry.pipeline.dlq)
        .map((d) => [d['@timestamp'], d.oci_registry.pipeline.dlq] as const)
        .sort((a, b) => `${a[0]}${a[1]?.reason}`.localeCompare(`${b[0]}${b[1]?.reason}`));
      assert.deepEqual(dlq, [
        ['2026-02-01T10:00:00.000Z', { reason: 'not_json', count: 1 }],
        ['2026-02-01T10:00:30.000Z', { reason: 'not_json', count: 2 }],
        ['2026-02-01T10:00:30.000Z', { reason: 'unknown_format', count: 3 }],
      ]);
      assert.equal(docs.length, 6 + 3 + 3, 'lag 2×3 + counters 3 + dlq 3: the retried sample was not duplicated');

      // The mapping types the panels aggregate on.
      const mapping = await es.indices.getFieldMapping({ index, fields: 'oci_registry.pipeline.*' });
      const types = Object.fromEntries(
        Object.entries(Object.values(mapping)[0]!.mappings).map(([f, m]) => [f, Object.values(m.mapping)[0]?.type]),
      );
      assert.equal(types['oci_registry.pipeline.consumer_lag'], 'long');
      assert.equal(types['oci_registry.pipeline.consumer_group'], 'keyword');
      assert.equal(types['oci_registry.pipeline.dlq.reason'], 'keyword');
      assert.equal(types['oci_registry.pipeline.dlq.count'], 'long');

      // The health dashboard's panels, as ES queries over this index.
      const q = (title: string) => {
        const found = dashboardQueries(health).find((x) => x.title === title);
        assert.ok(found, title);
        assert.equal(found.index, 'regwatch-pipeline*');
        return found;
      };
      const lagPanel = q('Consumer lag by group');
      const lagRes = await es.search({ index, ...lagPanel.body } as never);
      type LagDay = { b1: { buckets: { key: string; m2: { value: number } }[] } };
      const lagDays = (lagRes.aggregations as { b0: { buckets: LagDay[] } }).b0.buckets;
      assert.deepEqual(
        lagDays.flatMap((d) => d.b1.buckets.map((b) => [b.key, b.m2.value])),
        [[groupId, 20]],
        'max lag over the day per consumer group',
      );
      const dlqPanel = q('Dead-letter queue by reason');
      const dlqRes = await es.search({ index, ...dlqPanel.body } as never);
      type DlqDay = { b1: { buckets: { key: string; m2: { value: number } }[] } };
      const dlqDays = (dlqRes.aggregations as { b0: { buckets: DlqDay[] } }).b0.buckets;
      assert.deepEqual(
        dlqDays.flatMap((d) => d.b1.buckets.map((b) => [b.key, b.m2.value])).sort(),
        [
          ['not_json', 3],
          ['unknown_format', 3],
        ],
        'dead-lettered per reason = what the counters grew by',
      );
      console.log(
        `pipeline stats: lag p0=15 p1=8 then p0=20; docs=${docs.length}; panel "Consumer lag by group" ${JSON.stringify(lagDays.flatMap((d) => d.b1.buckets.map((b) => [b.key, b.m2.value])))}; panel "Dead-letter queue by reason" ${JSON.stringify(dlqDays.flatMap((d) => d.b1.buckets.map((b) => [b.key, b.m2.value])))}`,
      );
    } finally {
      await producer.disconnect();
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      await admin.disconnect();
    }
  });

  describe('the real ingest service', () => {
    let p: Pipeline;
    before(async () => {
      p = await startPipeline({ receiver: false, indexer: false, partitions: 2 });
    });
    after(async () => {
      await killAllIngest();
      await p.close();
    });

    test('writes lag, counter and DLQ samples from its own indexer every interval; SIGTERM still exits 0', async () => {
      const index = `regwatch-pipeline-${p.namespace}`;
      indices.push(index);
      const node = uniqueName('node');
      const pub = p.bus.publisher();
      const N = 6;
      await pub.publish(
        p.topics.notifications,
        Array.from({ length: N }, (_, e) => ({
          key: null,
          value: envelope([`30000000-0000-4000-8000-${String(e).padStart(12, '0')}`], 'alice'),
          headers: {
            [RAW_HEADERS.contentType]: NOTIFICATION_MEDIA_TYPE,
            [RAW_HEADERS.receivedAt]: new Date().toISOString(),
          },
        })),
      );
      await pub.publish(p.topics.logs, [{ key: null, value: '%%% not a registry log line %%%' }]);
      await pub.close();

      const svc = spawnIngest(
        envFor(p, {
          INGEST_ROLES: 'indexer',
          INGEST_PIPELINE_STATS_INTERVAL_S: '1',
          ES_PIPELINE_INDEX: index,
          SERVICE_NODE_NAME: node,
        }),
      );
      await svc.waitFor('ingest started', 90_000);
      const deadline = Date.now() + 60_000;
      let docs: PipelineSource[] = [];
      const consumedOf = (ds: PipelineSource[]) =>
        ds.reduce((s, d) => s + (d.oci_registry.pipeline.messages_consumed ?? 0), 0);
      const dlqOf = (ds: PipelineSource[]) => ds.reduce((s, d) => s + (d.oci_registry.pipeline.dlq?.count ?? 0), 0);
      const caughtUp = (ds: PipelineSource[]) =>
        ds.some(
          (d) =>
            d.oci_registry.pipeline.topic === p.topics.notifications &&
            d.oci_registry.pipeline.consumer_lag === 0 &&
            d.oci_registry.pipeline.partition === 0,
        );
      while (Date.now() < deadline) {
        await sleep(1000);
        const exists = await es.indices.exists({ index });
        if (!exists) continue;
        docs = await allDocs(index);
        if (consumedOf(docs) >= N + 1 && dlqOf(docs) >= 1 && caughtUp(docs)) break;
      }
      svc.child.kill('SIGTERM');
      const exit = await svc.exited;
      assert.equal(exit.code, 0, svc.stderr.join(''));
      assert.ok(
        svc.lines.some((l) => l['msg'] === 'stopped'),
        'clean shutdown logged',
      );
      assert.equal(consumedOf(docs), N + 1, 'every consumed message counted once across samples');
      assert.equal(
        docs.reduce((s, d) => s + (d.oci_registry.pipeline.events_indexed ?? 0), 0),
        N,
        'indexed events counted once',
      );
      assert.ok(dlqOf(docs) >= 1, 'the unparseable log line is counted under its DLQ reason');
      assert.ok(docs.every((d) => d.service.name === 'ingest' && d.service.node.name === node));
      const topics = new Set(docs.map((d) => d.oci_registry.pipeline.topic).filter(Boolean));
      for (const t of [
        p.topics.notifications,
        p.topics.logs,
        p.topics.harborWebhooks,
        p.topics.storage,
        p.topics.findings,
      ])
        assert.ok(topics.has(t), `lag of ${t} sampled`);
      assert.ok(docs.every((d) => d.oci_registry.pipeline.consumer_group === p.groupId));
      console.log(
        `ingest service samples: ${docs.length} docs, consumed=${consumedOf(docs)} indexed=${N} dlq=${dlqOf(docs)} reasons=${JSON.stringify([...new Set(docs.map((d) => d.oci_registry.pipeline.dlq?.reason).filter(Boolean))])}`,
      );
    });
  });
});
