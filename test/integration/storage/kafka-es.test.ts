/**
 * Full-mode path of the storage collector against the real engines: `regwatch collect-storage
 * --brokers` publishes to `<prefix>regwatch.storage` on the real Kafka (consumed here with kafkajs),
 * and the consumed sample, turned into a document by the ingest indexer's `storageDocument`, is
 * bulk-indexed into a real Elasticsearch index with STORAGE_MAPPINGS and read back by the capacity
 * dashboard's own aggregations (dashboards/src/queries.ts) and the detector's `storageSeries`.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@elastic/elasticsearch';
import kafkajs from 'kafkajs';
import { capacity } from '../../../dashboards/src/boards/capacity.ts';
import { DATA_VIEWS } from '../../../dashboards/src/data-views.ts';
import { dashboardQueries } from '../../../dashboards/src/queries.ts';
import { storageSeries } from '../../../services/detector/src/jobs/es-queries.ts';
import type { StorageSampleRecord } from '../../../services/detector/src/storage/types.ts';
import { storageDocument } from '../../../services/ingest/src/documents.ts';
import { createEsClient, waitForElasticsearch } from '../../../shared/src/es/client.ts';
import { STORAGE_MAPPINGS } from '../../../shared/src/es/mappings.ts';
import { TOPICS } from '../../../shared/src/topics.ts';
import { elasticsearchUrl, kafkaBrokers, REPO_ROOT, uniqueName } from '../../helpers/infra.ts';

const regwatch = (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
  new Promise((resolve) => {
    execFile(
      'sh',
      [join(REPO_ROOT, 'bin', 'regwatch'), ...args],
      { cwd: REPO_ROOT, timeout: 120_000 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });

interface Consumed {
  key: string | null;
  value: Buffer;
}

/** Reads `expected` messages of `topic` from the beginning with a fresh consumer group. */
async function consume(topic: string, expected: number, timeoutMs = 60_000): Promise<Consumed[]> {
  const kafka = new kafkajs.Kafka({
    brokers: kafkaBrokers(),
    clientId: 'it-storage-reader',
    logLevel: kafkajs.logLevel.NOTHING,
  });
  const consumer = kafka.consumer({ groupId: uniqueName('it_storage_reader'), sessionTimeout: 10_000 });
  const got: Consumed[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        got.push({ key: message.key?.toString('utf8') ?? null, value: message.value ?? Buffer.alloc(0) });
      },
    });
    const end = Date.now() + timeoutMs;
    while (got.length < expected && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
  } finally {
    await consumer.disconnect();
  }
  return got;
}

void describe('collect-storage → Kafka → storage index → capacity dashboard', () => {
  const prefix = `${uniqueName('it_storage')}.`;
  const topic = `${prefix}${TOPICS.storage}`;
  const index = uniqueName('it_storage_samples');
  let root: string;
  let sample: StorageSampleRecord;
  let consumed: Consumed[];
  let es: Client;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rw-storage-kafka-'));
    const blob = join(root, 'docker', 'registry', 'v2', 'blobs', 'sha256', 'ab', 'ab'.padEnd(64, '0'));
    await mkdir(blob, { recursive: true });
    await writeFile(join(blob, 'data'), Buffer.alloc(123_456, 3));
    es = createEsClient({
      nodes: [elasticsearchUrl()],
      tlsRejectUnauthorized: true,
      requestTimeoutMs: 30_000,
      maxRetries: 2,
    });
  });
  after(async () => {
    await es.indices.delete({ index, ignore_unavailable: true }).catch(() => undefined);
    await es.close();
    const kafka = new kafkajs.Kafka({ brokers: kafkaBrokers(), logLevel: kafkajs.logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
    await rm(root, { recursive: true, force: true });
  });

  void test('`collect-storage --brokers --topic-prefix --once` publishes the sample to <prefix>regwatch.storage', async () => {
    const r = await regwatch([
      'collect-storage',
      '--path',
      root,
      '--once',
      '--brokers',
      kafkaBrokers().join(','),
      '--topic-prefix',
      prefix,
    ]);
    assert.equal(r.code, 0, r.stderr);
    sample = JSON.parse(r.stdout.trim()) as StorageSampleRecord;

    consumed = await consume(topic, 1);
    assert.equal(consumed.length, 1, 'exactly one sample on the topic');
    const msg = consumed[0];
    assert.ok(msg);
    assert.equal(msg.key, `fs:${root}`);
    const onTopic = JSON.parse(msg.value.toString('utf8')) as Record<string, unknown>;
    // the sample shape the receiver's POST /v1/storage also accepts, plus the collector's extras
    assert.deepEqual(Object.keys(onTopic).sort(), [
      'capacity_bytes',
      'registry_bytes',
      'scope',
      'source',
      'timestamp',
      'used_bytes',
    ]);
    assert.deepEqual(onTopic, sample as unknown as Record<string, unknown>);
    assert.equal(onTopic['scope'], `fs:${root}`);
    assert.equal(onTopic['source'], 'statfs');
    assert.match(onTopic['timestamp'] as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.ok(Math.abs(Date.parse(onTopic['timestamp'] as string) - Date.now()) < 120_000);
    assert.ok(Number.isInteger(sample.used_bytes) && Number.isInteger(sample.capacity_bytes));
    assert.ok(sample.capacity_bytes > sample.used_bytes && sample.used_bytes > 0);
    assert.deepEqual(sample.registry_bytes?.apparent, { blobs: 123_456, repositories: 0, total: 123_456 });
  });

  void test('the consumed sample is indexed with the storage mappings and the dashboard aggregations return it', async () => {
    const msg = consumed[0];
    assert.ok(msg, 'needs the sample of the previous test');
    await waitForElasticsearch(es, { timeoutMs: 120_000 });
    await es.indices.create({
      index,
      settings: { number_of_shards: 1, number_of_replicas: 0 },
      mappings: STORAGE_MAPPINGS as never,
    });

    const d = storageDocument(msg.value);
    assert.ok(d.ok, d.ok ? '' : d.detail);
    const bulk = await es.bulk({
      refresh: 'wait_for',
      operations: [{ index: { _index: index, _id: d.value.id } }, d.value.doc],
    });
    assert.equal(bulk.errors, false, JSON.stringify(bulk.items));
    // the stored fields are typed by the template mapping (long bytes, keyword scope)
    const mapping = await es.indices.getFieldMapping({
      index,
      fields: ['oci_registry.storage.used.bytes', 'oci_registry.storage.scope', 'oci_registry.storage.used.pct'],
    });
    const fields = mapping[index]?.mappings ?? {};
    const typeOf = (f: string): unknown => {
      const m = fields[f]?.mapping as Record<string, { type?: string }> | undefined;
      return m ? Object.values(m)[0]?.type : undefined;
    };
    assert.equal(typeOf('oci_registry.storage.used.bytes'), 'long');
    assert.equal(typeOf('oci_registry.storage.scope'), 'keyword');
    assert.equal(typeOf('oci_registry.storage.used.pct'), 'double');

    // the capacity dashboard's queries over the storage data view that read used.bytes
    const queries = dashboardQueries(capacity).filter(
      (q) =>
        q.index === DATA_VIEWS.storage.title &&
        q.metrics.some((m) => 'field' in m.spec && m.spec.field === 'oci_registry.storage.used.bytes'),
    );
    const usedNow = queries.find((q) => q.title === 'Storage used now');
    const overTime = queries.find((q) => q.title.startsWith('Storage used vs capacity'));
    assert.ok(usedNow && overTime, queries.map((q) => q.title).join(', '));

    // The panels are run exactly as the dashboard defines them: no scope literal to rewrite, the
    // collector's own scope (`fs:<root>`) comes back as the break-down bucket with its values.
    const now = await es.search({ index, ...usedNow.body });
    type Hit = { _source: { oci_registry: { storage: { used: { bytes: number; pct?: number } } } } };
    type ScopeBucket = { key: string; doc_count: number; m1: { hits: { hits: Hit[] } } };
    const nowScopes = (now.aggregations as { b0: { buckets: ScopeBucket[] } }).b0.buckets;
    assert.deepEqual(
      nowScopes.map((b) => [b.key, b.m1.hits.hits[0]?._source.oci_registry.storage.used.bytes]),
      [[sample.scope, sample.used_bytes]],
    );

    const util = dashboardQueries(capacity).find((q) => q.title === 'Utilization');
    assert.ok(util);
    const pct = await es.search({ index, ...util.body });
    const pctScopes = (pct.aggregations as { b0: { buckets: ScopeBucket[] } }).b0.buckets;
    assert.deepEqual(
      pctScopes.map((b) => [b.key, b.m1.hits.hits[0]?._source.oci_registry.storage.used.pct]),
      [[sample.scope, sample.used_bytes / sample.capacity_bytes]],
    );

    const series = await es.search({ index, ...overTime.body });
    type Day = {
      key_as_string: string;
      doc_count: number;
      b1: { buckets: { key: string; doc_count: number; m2: { value: number }; m3: { value: number } }[] };
    };
    const days = (series.aggregations as { b0: { buckets: Day[] } }).b0.buckets;
    assert.equal(days.length, 1);
    assert.equal(days[0]?.doc_count, 1);
    assert.deepEqual(
      days[0]?.b1.buckets.map((b) => [b.key, b.doc_count, b.m2.value, b.m3.value]),
      [[sample.scope, 1, sample.used_bytes, sample.capacity_bytes]],
    );

    // and the detector's forecast job reads the same sample back per scope
    const t = Date.parse(sample.timestamp);
    const byScope = await storageSeries(es, { index, fromMs: t - 3_600_000, toMs: t + 3_600_000 });
    assert.deepEqual(byScope.get(sample.scope), [
      {
        timestamp: new Date(Math.floor(t / 3_600_000) * 3_600_000).toISOString(),
        used_bytes: sample.used_bytes,
        capacity_bytes: sample.capacity_bytes,
      },
    ]);
  });
});
