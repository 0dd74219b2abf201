/**
 * Proves the engines started by infra/up.sh work end to end with the project's real clients:
 * kafkajs 2.2.4 against Kafka 4.1.1 (KRaft) and @elastic/elasticsearch 9.x against
 * Elasticsearch 9.2.4, plus the security-enabled Elasticsearch used by auth tests.
 * Run `bash infra/up.sh` first (scripts/test.sh does).
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel } from 'kafkajs';
import { Client, errors } from '@elastic/elasticsearch';
import { elasticsearchUrl, kafkaBrokers, startSecureElasticsearch, uniqueName } from '../helpers/infra.ts';

describe('Kafka (infra/up.sh)', { timeout: 120_000 }, () => {
  const kafka = new Kafka({ clientId: uniqueName('infra-test'), brokers: kafkaBrokers(), logLevel: logLevel.NOTHING });

  test('describeCluster answers with one broker on the configured address', async () => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const cluster = await admin.describeCluster();
      assert.equal(cluster.brokers.length, 1);
      assert.ok(cluster.clusterId.length > 0);
      assert.equal(`${cluster.brokers[0]?.host}:${cluster.brokers[0]?.port}`, kafkaBrokers()[0]);
    } finally {
      await admin.disconnect();
    }
  });

  test('keyed produce then consumer-group consume of every message on a unique topic', async () => {
    const topic = uniqueName('infra_topic');
    const groupId = uniqueName('infra_group');
    const admin = kafka.admin();
    await admin.connect();
    const producer = kafka.producer({ idempotent: true });
    const consumer = kafka.consumer({ groupId });
    try {
      assert.equal(await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true }), true);
      await producer.connect();
      const sent = Array.from({ length: 30 }, (_, i) => ({ key: `user-${i % 5}`, value: `message-${i}` }));
      await producer.send({ topic, acks: -1, messages: sent });

      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      const got: { key: string; value: string; partition: number }[] = [];
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`consumed ${got.length}/30 within 60 s`)), 60_000);
        consumer
          .run({
            eachMessage: async ({ message, partition }) => {
              got.push({ key: String(message.key), value: String(message.value), partition });
              if (got.length === sent.length) {
                clearTimeout(timer);
                resolve();
              }
            },
          })
          .catch(reject);
      });
      assert.deepEqual(got.map((m) => m.value).sort(), sent.map((m) => m.value).sort());
      // Same key → same partition (default partitioner).
      const partitionOf = new Map<string, number>();
      for (const m of got) {
        const p = partitionOf.get(m.key);
        if (p !== undefined) assert.equal(m.partition, p, `key ${m.key} on one partition`);
        partitionOf.set(m.key, m.partition);
      }
      const offsets = await admin.fetchTopicOffsets(topic);
      assert.equal(
        offsets.reduce((a, o) => a + Number(o.high), 0),
        30,
      );
    } finally {
      await consumer.disconnect();
      await producer.disconnect();
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      await admin.disconnect();
    }
  });
});

describe('Elasticsearch (infra/up.sh)', { timeout: 120_000 }, () => {
  const client = new Client({ node: elasticsearchUrl() });
  const index = uniqueName('infra_index');
  after(async () => {
    await client.indices.delete({ index, ignore_unavailable: true });
    await client.close();
  });

  test('cluster health is yellow or green, version 9.2.4', async () => {
    const health = await client.cluster.health({ wait_for_status: 'yellow', timeout: '30s' });
    assert.ok(['yellow', 'green'].includes(health.status));
    assert.equal(health.number_of_nodes, 1);
    const nodes = await client.nodes.info({ metric: 'os' });
    assert.deepEqual(
      Object.values(nodes.nodes).map((n) => n.version),
      ['9.2.4'],
    );
  });

  test('bulk create with a repeated _id: first item created, the repeat answers 409', async () => {
    const res = await client.bulk({
      refresh: 'wait_for',
      operations: [
        { create: { _index: index, _id: 'event-1' } },
        { '@timestamp': '2026-01-01T00:00:00.000000001Z', event: { id: 'event-1' } },
        { create: { _index: index, _id: 'event-2' } },
        { '@timestamp': '2026-01-01T00:00:01Z', event: { id: 'event-2' } },
        { create: { _index: index, _id: 'event-1' } },
        { '@timestamp': '2026-01-01T00:00:00.000000001Z', event: { id: 'event-1' } },
      ],
    });
    assert.equal(res.errors, true);
    assert.deepEqual(
      res.items.map((i) => i.create?.status),
      [201, 201, 409],
    );
    assert.equal(res.items[2]?.create?.error?.type, 'version_conflict_engine_exception');
    const count = await client.count({ index });
    assert.equal(count.count, 2);
  });
});

describe('Elasticsearch with security enabled (infra/up.sh es-secure)', { timeout: 300_000 }, () => {
  test('basic auth as elastic works; no credentials and a wrong password get 401', async () => {
    const secure = await startSecureElasticsearch();
    const ok = new Client({ node: secure.url, auth: { username: secure.username, password: secure.password } });
    const anonymous = new Client({ node: secure.url });
    const wrong = new Client({ node: secure.url, auth: { username: secure.username, password: 'wrong-password' } });
    try {
      const health = await ok.cluster.health({ wait_for_status: 'yellow', timeout: '30s' });
      assert.ok(['yellow', 'green'].includes(health.status));
      for (const c of [anonymous, wrong]) {
        await assert.rejects(
          () => c.cluster.health(),
          (err: unknown) => err instanceof errors.ResponseError && err.statusCode === 401,
        );
      }
    } finally {
      await Promise.all([ok.close(), anonymous.close(), wrong.close()]);
    }
  });
});
