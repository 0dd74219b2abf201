import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../../shared/src/logger.ts';
import { createIngestMetrics } from '../../../services/ingest/src/metrics.ts';
import {
  computeLag,
  counterDelta,
  counterTotals,
  createPipelineStats,
  pipelineDocuments,
  type LagReader,
  type PartitionLag,
  type PipelineBulkItem,
} from '../../../services/ingest/src/pipeline-stats.ts';

describe('computeLag', () => {
  test('lag = high watermark - committed offset, per partition, sorted', () => {
    const lags = computeLag(
      [
        {
          topic: 'b',
          partitions: [
            { partition: 1, high: '10', low: '0' },
            { partition: 0, high: '7', low: '0' },
          ],
        },
        { topic: 'a', partitions: [{ partition: 0, high: '100', low: '40' }] },
      ],
      [
        {
          topic: 'b',
          partitions: [
            { partition: 0, offset: '7' },
            { partition: 1, offset: '3' },
          ],
        },
        { topic: 'a', partitions: [{ partition: 0, offset: '55' }] },
      ],
    );
    assert.deepEqual(lags, [
      { topic: 'a', partition: 0, committedOffset: 55, logEndOffset: 100, lag: 45 },
      { topic: 'b', partition: 0, committedOffset: 7, logEndOffset: 7, lag: 0 },
      { topic: 'b', partition: 1, committedOffset: 3, logEndOffset: 10, lag: 7 },
    ]);
  });

  test('no commit (-1 or absent) counts from the log start; below the log start too; never negative', () => {
    const lags = computeLag(
      [
        {
          topic: 't',
          partitions: [
            { partition: 0, high: '20', low: '5' },
            { partition: 1, high: '9', low: '2' },
            { partition: 2, high: '30', low: '25' },
            { partition: 3, high: '4', low: '0' },
          ],
        },
      ],
      [
        {
          topic: 't',
          partitions: [
            { partition: 0, offset: '-1' },
            { partition: 2, offset: '10' },
            { partition: 3, offset: '6' },
          ],
        },
      ],
    );
    assert.deepEqual(
      lags.map((l) => [l.partition, l.committedOffset, l.lag]),
      [
        [0, null, 15],
        [1, null, 7],
        [2, 10, 5],
        [3, 6, 0],
      ],
    );
  });

  test('int64 offsets beyond 2^53 are subtracted exactly', () => {
    const [l] = computeLag(
      [{ topic: 't', partitions: [{ partition: 0, high: '9007199254740999', low: '0' }] }],
      [{ topic: 't', partitions: [{ partition: 0, offset: '9007199254740993' }] }],
    );
    assert.equal(l?.lag, 6);
  });
});

describe('counters', () => {
  test('totals read the prom-client counters; deltas count each increment once', async () => {
    const m = createIngestMetrics({ defaultMetrics: false });
    m.consumed.inc({ topic: 'a' }, 3);
    m.consumed.inc({ topic: 'b' }, 2);
    m.indexed.inc({ target: 'x' }, 4);
    m.duplicates.inc(1);
    m.dlq.inc({ reason: 'not_json' }, 2);
    const t1 = await counterTotals(m);
    assert.deepEqual(
      { ...t1, dlq: Object.fromEntries(t1.dlq) },
      { consumed: 5, indexed: 4, duplicates: 1, dlq: { not_json: 2 } },
    );
    m.consumed.inc({ topic: 'a' }, 10);
    m.dlq.inc({ reason: 'unknown_format' });
    const t2 = await counterTotals(m);
    const d = counterDelta(t1, t2);
    assert.deepEqual(
      { ...d, dlq: Object.fromEntries(d.dlq) },
      { consumed: 10, indexed: 0, duplicates: 0, dlq: { unknown_format: 1 } },
    );
  });

  test('a counter reset counts the new total as the growth', () => {
    const d = counterDelta(
      { consumed: 100, indexed: 90, duplicates: 5, dlq: new Map([['x', 7]]) },
      { consumed: 4, indexed: 95, duplicates: 5, dlq: new Map([['x', 2]]) },
    );
    assert.deepEqual(
      { ...d, dlq: Object.fromEntries(d.dlq) },
      { consumed: 4, indexed: 5, duplicates: 0, dlq: { x: 2 } },
    );
  });
});

describe('pipelineDocuments', () => {
  const lags: PartitionLag[] = [
    { topic: 'registry.logs', partition: 0, committedOffset: 3, logEndOffset: 10, lag: 7 },
    { topic: 'registry.logs', partition: 1, committedOffset: null, logEndOffset: 2, lag: 2 },
  ];
  const delta = { consumed: 12, indexed: 10, duplicates: 1, dlq: new Map([['not_json', 1]]) };
  const docs = pipelineDocuments({
    at: Date.parse('2026-01-01T00:00:30Z'),
    serviceName: 'ingest',
    nodeName: 'host:1',
    groupId: 'ingest',
    lags,
    delta,
  });

  test('one lag document per partition, one counters document, one per DLQ reason', () => {
    assert.equal(docs.length, 4);
    assert.deepEqual(docs[0]?.doc, {
      '@timestamp': '2026-01-01T00:00:30.000Z',
      service: { name: 'ingest', node: { name: 'host:1' } },
      oci_registry: {
        pipeline: {
          consumer_group: 'ingest',
          topic: 'registry.logs',
          partition: 0,
          consumer_lag: 7,
          committed_offset: 3,
          log_end_offset: 10,
        },
      },
    });
    assert.equal(
      'committed_offset' in (docs[1]?.doc.oci_registry as { pipeline: object }).pipeline,
      false,
      'no commit → no committed_offset',
    );
    assert.deepEqual((docs[2]?.doc.oci_registry as { pipeline: object }).pipeline, {
      consumer_group: 'ingest',
      messages_consumed: 12,
      events_indexed: 10,
      events_duplicates: 1,
    });
    assert.deepEqual((docs[3]?.doc.oci_registry as { pipeline: object }).pipeline, {
      consumer_group: 'ingest',
      dlq: { reason: 'not_json', count: 1 },
    });
  });

  test('ids are deterministic per (node, group, kind, key, time) and distinct', () => {
    const again = pipelineDocuments({
      at: Date.parse('2026-01-01T00:00:30Z'),
      serviceName: 'ingest',
      nodeName: 'host:1',
      groupId: 'ingest',
      lags,
      delta,
    });
    assert.deepEqual(
      again.map((d) => d.id),
      docs.map((d) => d.id),
    );
    assert.equal(new Set(docs.map((d) => d.id)).size, docs.length);
    const otherNode = pipelineDocuments({
      at: Date.parse('2026-01-01T00:00:30Z'),
      serviceName: 'ingest',
      nodeName: 'host:2',
      groupId: 'ingest',
      lags,
      delta,
    });
    assert.notEqual(otherNode[2]?.id, docs[2]?.id);
  });
});

describe('createPipelineStats', () => {
  const lagOf = (lag: number): LagReader => ({
    read: () => Promise.resolve([{ topic: 't', partition: 0, committedOffset: 0, logEndOffset: lag, lag }]),
    close: () => Promise.resolve(),
  });
  type Op = { index?: { _index: string; _id: string } } & Record<string, unknown>;

  test('a failed write is retried with the same ids; counters are not counted twice', async () => {
    const metrics = createIngestMetrics({ defaultMetrics: false });
    const calls: Op[][] = [];
    let fail = true;
    let now = 1_000_000;
    const stats = createPipelineStats({
      lag: lagOf(5),
      metrics,
      bulk: (ops) => {
        calls.push(ops as Op[]);
        if (fail) return Promise.reject(new Error('connect ECONNREFUSED'));
        return Promise.resolve(ops.filter((_, i) => i % 2 === 0).map((): PipelineBulkItem => ({ status: 201 })));
      },
      clock: () => now,
      logger: silentLogger(),
      options: {
        intervalMs: 30_000,
        index: 'regwatch-pipeline',
        groupId: 'ingest',
        serviceName: 'ingest',
        nodeName: 'n',
      },
    });
    metrics.consumed.inc({ topic: 't' }, 4);
    const r1 = await stats.sampleOnce();
    assert.deepEqual(r1, { written: 0, pending: 2, dropped: 0, partitions: 1 });
    fail = false;
    now += 30_000;
    metrics.consumed.inc({ topic: 't' }, 6);
    const r2 = await stats.sampleOnce();
    assert.deepEqual(r2, { written: 4, pending: 0, dropped: 0, partitions: 1 });
    const first = calls[0]!.filter((o) => o.index).map((o) => o.index!._id);
    const second = calls[1]!.filter((o) => o.index).map((o) => o.index!._id);
    assert.deepEqual(second.slice(0, 2), first, 'pending documents re-sent first, same ids');
    const consumed = calls[1]!
      .map((o) => (o as { oci_registry?: { pipeline?: { messages_consumed?: number } } }).oci_registry?.pipeline)
      .filter((p) => p?.messages_consumed !== undefined)
      .map((p) => p!.messages_consumed);
    assert.deepEqual(consumed, [4, 6]);
    assert.ok(calls[1]!.every((o) => !o.index || o.index._index === 'regwatch-pipeline'));
  });

  test('429 items are kept, mapping rejections dropped; lag failures still write counters', async () => {
    const metrics = createIngestMetrics({ defaultMetrics: false });
    metrics.dlq.inc({ reason: 'not_json' }, 3);
    const statuses = [201, 429, 400];
    const stats = createPipelineStats({
      lag: { read: () => Promise.reject(new Error('broker down')), close: () => Promise.resolve() },
      metrics,
      bulk: (ops) =>
        Promise.resolve(
          ops
            .filter((_, i) => i % 2 === 0)
            .map((_, i): PipelineBulkItem => ({ status: statuses[i] ?? 201, error: { type: 'x', reason: 'y' } })),
        ),
      clock: () => 5_000,
      logger: silentLogger(),
      options: { intervalMs: 1000, index: 'p', groupId: 'ingest', serviceName: 'ingest', nodeName: 'n' },
    });
    // counters doc → 201; dlq doc → 429 (kept)
    const r = await stats.sampleOnce();
    assert.deepEqual(r, { written: 1, pending: 1, dropped: 0, partitions: 0 });
  });

  test('the backlog is bounded', async () => {
    const metrics = createIngestMetrics({ defaultMetrics: false });
    let now = 0;
    const stats = createPipelineStats({
      lag: lagOf(1),
      metrics,
      bulk: () => Promise.reject(new Error('down')),
      clock: () => (now += 1000),
      logger: silentLogger(),
      options: { intervalMs: 1000, index: 'p', groupId: 'g', serviceName: 's', nodeName: 'n', maxPending: 3 },
    });
    await stats.sampleOnce();
    const r = await stats.sampleOnce();
    assert.deepEqual(r, { written: 0, pending: 3, dropped: 1, partitions: 1 });
  });

  test('start samples periodically; stop waits and ends sampling', async () => {
    const metrics = createIngestMetrics({ defaultMetrics: false });
    let writes = 0;
    const stats = createPipelineStats({
      lag: lagOf(0),
      metrics,
      bulk: (ops) => {
        writes++;
        return Promise.resolve(ops.filter((_, i) => i % 2 === 0).map(() => ({ status: 201 })));
      },
      clock: Date.now,
      logger: silentLogger(),
      options: { intervalMs: 20, index: 'p', groupId: 'g', serviceName: 's', nodeName: 'n' },
    });
    stats.start();
    while (writes < 2) await new Promise((r) => setTimeout(r, 10));
    await stats.stop();
    const after = writes;
    await new Promise((r) => setTimeout(r, 60));
    assert.equal(writes, after, 'no sample after stop');
  });
});
