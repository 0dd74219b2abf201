import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createMemoryBus } from '../../../shared/src/bus/memory.ts';
import type { BatchContext, BusMessage, MessageBus } from '../../../shared/src/bus/types.ts';
import { silentLogger } from '../../../shared/src/logger.ts';
import {
  backoffMs,
  triageBulkResponse,
  type BulkAction,
  type BulkResponseItem,
} from '../../../services/ingest/src/bulk.ts';
import { DLQ_HEADERS, rejectedPayload } from '../../../services/ingest/src/dlq.ts';
import { createIndexer, indexerTopics, type Indexer } from '../../../services/ingest/src/indexer.ts';
import { createIngestMetrics, type IngestMetrics } from '../../../services/ingest/src/metrics.ts';
import { FakeEs, fakeNormalizer } from './fakes.ts';

const fixture = (name: string): { items: BulkResponseItem[]; errors: boolean } =>
  JSON.parse(readFileSync(new URL(`../../fixtures/bulk/${name}`, import.meta.url), 'utf8')) as {
    items: BulkResponseItem[];
    errors: boolean;
  };

describe('bulk response triage (fixtures)', () => {
  test('C18: HTTP 200 with errors=true — 201 created, 400 mapper_parsing_exception failed (not retried)', () => {
    const r = fixture('c18-mapper-parsing-200.json');
    const v = triageBulkResponse(r.items, ['index', 'index']);
    assert.equal(v[0]!.kind, 'created');
    assert.equal(v[1]!.kind, 'failed');
    assert.equal(v[1]!.kind === 'failed' && v[1]!.type, 'mapper_parsing_exception');
  });
  test('C19: only the two 429 items are retried', () => {
    const r = fixture('c19-item-429.json');
    const v = triageBulkResponse(r.items, ['index', 'index', 'index', 'index']);
    assert.deepEqual(
      v.map((x) => x.kind),
      ['created', 'retry', 'retry', 'created'],
    );
  });
  test('C20: 409 on create is a duplicate (success)', () => {
    const v = triageBulkResponse(fixture('c20-create-409.json').items, ['create']);
    assert.deepEqual(v, [{ kind: 'duplicate' }]);
  });
  test('mixed 201/409/429/400/503', () => {
    const actions: BulkAction[] = ['create', 'create', 'create', 'create', 'create'];
    const v = triageBulkResponse(fixture('mixed-201-409-429-400-503.json').items, actions);
    assert.deepEqual(
      v.map((x) => x.kind),
      ['created', 'duplicate', 'retry', 'failed', 'retry'],
    );
  });
  test('a short response retries the missing items; errors=false is not trusted blindly', () => {
    const v = triageBulkResponse([{ create: { status: 201 } }], ['create', 'create']);
    assert.deepEqual(
      v.map((x) => x.kind),
      ['created', 'retry'],
    );
  });
  test('backoff: capped exponential with equal jitter', () => {
    assert.equal(
      backoffMs(0, 1000, 30_000, () => 0),
      500,
    );
    assert.equal(
      backoffMs(0, 1000, 30_000, () => 1),
      1000,
    );
    assert.equal(
      backoffMs(3, 1000, 30_000, () => 1),
      8000,
    );
    assert.equal(
      backoffMs(20, 1000, 30_000, () => 1),
      30_000,
    );
  });
});

const T = {
  notifications: 'raw.notifications',
  logs: 'raw.logs',
  harborWebhooks: 'raw.harbor',
  events: 'out.events',
  dlq: 'out.dlq',
  storage: 'raw.storage',
  findings: 'raw.findings',
};

interface Harness {
  bus: MessageBus;
  es: FakeEs;
  indexer: Indexer;
  metrics: IngestMetrics;
  read(topic: string): Promise<BusMessage[]>;
  close(): Promise<void>;
}

async function harness(opts: { itemRetries?: number } = {}): Promise<Harness> {
  const bus = createMemoryBus({ handlerRetryBaseMs: 5 });
  await bus.ensureTopics(Object.values(T), 2);
  const es = new FakeEs();
  const metrics = createIngestMetrics({ defaultMetrics: false });
  const indexer = createIndexer({
    bus,
    publisher: bus.publisher(),
    bulk: es.bulk,
    normalizer: fakeNormalizer,
    topics: T,
    indices: { namespace: 'test', findings: 'findings-test', storage: 'storage-test' },
    groupId: 'ingest',
    options: { itemRetries: opts.itemRetries ?? 3, retryBaseMs: 2, retryMaxMs: 10, correlationSize: 100 },
    logger: silentLogger(),
    metrics,
    random: () => 0.5,
  });
  let g = 0;
  return {
    bus,
    es,
    indexer,
    metrics,
    async read(topic) {
      const got: BusMessage[] = [];
      const sub = await bus.subscribe({ groupId: `reader-${g++}`, topics: [topic] }, async (b) => {
        got.push(...b);
      });
      await new Promise((r) => setTimeout(r, 100));
      await sub.close();
      return got;
    },
    async close() {
      await indexer.stop();
      await bus.close();
    },
  };
}

function ctxRecorder(): BatchContext & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    heartbeat: async () => {
      calls.push('heartbeat');
    },
    pause: () => calls.push('pause'),
    resume: () => calls.push('resume'),
  };
}

let offset = 0;
const msg = (topic: string, value: string, headers: Record<string, string> = {}): BusMessage => ({
  topic,
  partition: 0,
  offset: String(offset++),
  key: null,
  value: Buffer.from(value),
  headers,
  timestamp: 0,
});

const envelope = (...events: object[]): string => JSON.stringify({ events });

async function metricValue(m: IngestMetrics, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = m.registry.getSingleMetric(name);
  if (!metric) return 0;
  const data = await metric.get();
  const v = data.values.find((x) => Object.entries(labels).every(([k, val]) => x.labels[k] === val));
  return v?.value ?? 0;
}

describe('indexer', () => {
  test('C15: the same envelope delivered twice → 1 document, the second a 409 duplicate, no DLQ', async () => {
    const h = await harness();
    const body = envelope({ id: 'ev-1501', user: 'ci-bot' });
    await h.indexer.handleBatch([msg(T.notifications, body), msg(T.notifications, body)], ctxRecorder());
    assert.equal(h.es.count(), 1);
    assert.equal(h.indexer.totals.created, 1);
    assert.equal(h.indexer.totals.duplicates, 1);
    assert.equal(h.indexer.totals.dlq, 0);
    assert.equal(await metricValue(h.metrics, 'regwatch_indexing_duplicates_total'), 1);
    const events = await h.read(T.events);
    assert.equal(events.length, 2, 'published at-least-once; the detector dedupes by event.id');
    assert.equal(events[0]!.key, 'ci-bot');
    await h.close();
  });

  test('C18: a 400 item is dead-lettered with its error type, the rest indexed, the batch resolves', async () => {
    const h = await harness();
    const m = msg(
      T.notifications,
      envelope({ id: 'ok-1', user: 'u' }, { id: 'bad-2', user: 'u', bytes: '2m20.799846616s' }),
    );
    await h.indexer.handleBatch([m], ctxRecorder());
    assert.equal(h.es.count(), 1);
    const dlq = await h.read(T.dlq);
    assert.equal(dlq.length, 1);
    const d = dlq[0]!;
    assert.equal(d.headers[DLQ_HEADERS.reason], 'es_rejected');
    assert.equal(d.headers[DLQ_HEADERS.errorType], 'document_parsing_exception');
    assert.equal(d.headers[DLQ_HEADERS.documentId], 'bad-2');
    assert.equal(d.headers[DLQ_HEADERS.sourceTopic], T.notifications);
    assert.equal(d.headers[DLQ_HEADERS.sourceOffset], m.offset);
    assert.equal((JSON.parse(d.value.toString()) as { event: { id: string } }).event.id, 'bad-2');
    assert.equal(
      await metricValue(h.metrics, 'regwatch_indexing_errors_total', { type: 'document_parsing_exception' }),
      1,
    );
    assert.equal(h.es.requests.length, 1, '4xx items are not retried');
    await h.close();
  });

  test('C19: only the 429 items are resent, after a backoff; final state 4 documents', async () => {
    const h = await harness();
    h.es.itemFaults.set('e-1902', [429]);
    h.es.itemFaults.set('e-1903', [429]);
    await h.indexer.handleBatch(
      [msg(T.notifications, envelope({ id: 'e-1901' }, { id: 'e-1902' }, { id: 'e-1903' }, { id: 'e-1904' }))],
      ctxRecorder(),
    );
    assert.equal(h.es.count(), 4);
    assert.equal(h.es.requests.length, 2);
    assert.deepEqual(
      h.es.requests[1]!.map((r) => r.id),
      ['e-1902', 'e-1903'],
    );
    assert.equal(h.indexer.totals.dlq, 0);
    await h.close();
  });

  test('C19: items still rejected after every retry go to the DLQ, never silently dropped', async () => {
    const h = await harness({ itemRetries: 2 });
    h.es.itemFaults.set('stuck', [429, 429, 429, 429]);
    await h.indexer.handleBatch([msg(T.notifications, envelope({ id: 'fine' }, { id: 'stuck' }))], ctxRecorder());
    const dlq = await h.read(T.dlq);
    assert.equal(dlq.length, 1);
    assert.equal(dlq[0]!.headers[DLQ_HEADERS.reason], 'es_retries_exhausted');
    assert.equal(h.es.requests.length, 3, '1 attempt + 2 retries');
    await h.close();
  });

  test('C20: an id already stored answers 409 → counted as duplicate, not dead-lettered', async () => {
    const h = await harness();
    await h.indexer.handleBatch([msg(T.notifications, envelope({ id: 'e-2001' }))], ctxRecorder());
    await h.indexer.handleBatch([msg(T.notifications, envelope({ id: 'e-2001' }))], ctxRecorder());
    assert.equal(h.es.count(), 1);
    assert.equal(h.indexer.totals.duplicates, 1);
    assert.equal(h.indexer.totals.dlq, 0);
    await h.close();
  });

  test('C21: ES unreachable → partition paused, readiness false, retried until back; nothing lost or dead-lettered', async () => {
    const h = await harness();
    h.es.down = 4;
    const ctx = ctxRecorder();
    let sawUnready = false;
    const poll = setInterval(() => {
      if (!h.indexer.ready().checks['elasticsearch']!.startsWith('ok')) sawUnready = true;
    }, 1);
    await h.indexer.handleBatch(
      Array.from({ length: 20 }, (_, i) => msg(T.notifications, envelope({ id: `out-${i}` }))),
      ctx,
    );
    clearInterval(poll);
    assert.equal(h.es.count(), 20);
    assert.equal(h.indexer.totals.dlq, 0);
    assert.ok(sawUnready, 'readiness reported the outage');
    assert.equal(ctx.calls.filter((c) => c === 'pause').length, 1);
    assert.equal(ctx.calls.filter((c) => c === 'resume').length, 1);
    assert.ok(ctx.calls.includes('heartbeat'), 'heartbeats continue while waiting');
    assert.equal(await metricValue(h.metrics, 'regwatch_ingest_elasticsearch_up'), 1);
    await h.close();
  });

  test('C23: transient item failures get their own retry budget; the poison message goes to the DLQ once; consumer stays up', async () => {
    const h = await harness({ itemRetries: 10 });
    h.es.itemFaults.set('msg-a', Array(8).fill(503) as number[]);
    h.es.itemFaults.set('msg-b', [503, 503]);
    const pub = h.bus.publisher();
    await pub.publish(T.notifications, [
      { key: 'k', value: envelope({ id: 'msg-a' }) },
      { key: 'k', value: envelope({ id: 'msg-b' }) },
      { key: 'k', value: '{"events":[{"id":"00000000-0000-4000-8000-000000002303","timestamp":"not-a-time"' },
      { key: 'k', value: envelope({ id: 'msg-d' }) },
    ]);
    await h.indexer.start();
    const end = Date.now() + 5000;
    while (h.es.count() < 3 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(h.es.count(), 3);
    const dlq = await h.read(T.dlq);
    assert.equal(dlq.length, 1, 'poison dead-lettered exactly once');
    assert.equal(dlq[0]!.headers[DLQ_HEADERS.reason], 'not_json');
    assert.equal(dlq[0]!.headers[DLQ_HEADERS.payload], 'raw', 'the whole message was rejected: its own bytes');
    assert.equal(dlq[0]!.headers[DLQ_HEADERS.sourceOffset], '2');
    assert.equal(
      dlq[0]!.value.toString().startsWith('{"events":[{"id":"00000000-0000-4000-8000-000000002303"'),
      true,
      'original bytes',
    );
    await h.close();
  });

  test('log lines without a user are enriched from the notification with the same http.request.id', async () => {
    const h = await harness();
    await h.indexer.handleBatch(
      [msg(T.notifications, envelope({ id: 'n-1', user: 'alice', request_id: 'req-42' }))],
      ctxRecorder(),
    );
    await h.indexer.handleBatch(
      [
        msg(T.logs, JSON.stringify({ id: 'l-1', request_id: 'req-42' })),
        msg(T.logs, JSON.stringify({ id: 'l-2', request_id: 'other' })),
      ],
      ctxRecorder(),
    );
    const logs = h.es.stored.get('logs-oci_registry.log-test')!;
    assert.equal((logs.get('l-1') as { user?: { name?: string } }).user?.name, 'alice');
    assert.equal((logs.get('l-2') as { user?: { name?: string } }).user, undefined);
    const events = await h.read(T.events);
    assert.deepEqual(events.map((e) => e.key).sort(), ['alice', 'alice', 'ip:192.0.2.9']);
    await h.close();
  });

  test('storage samples and findings are indexed with deterministic ids; invalid ones dead-lettered', async () => {
    const h = await harness();
    const sample = JSON.stringify({
      timestamp: '2026-01-01T00:00:00Z',
      used_bytes: 100,
      capacity_bytes: 400,
      scope: 'registry',
    });
    const finding = JSON.stringify({
      id: 'f-1',
      rule: 'pull.volume_spike',
      severity: 'high',
      score: 80,
      status: 'firing',
      entity: { type: 'user', id: 'alice' },
      window: { start: '2026-01-01T00:00:00Z', end: '2026-01-01T01:00:00Z' },
      observed: { value: 500, unit: 'count' },
      expected: { value: 20, unit: 'count' },
      evidence: {},
      message: 'alice pulled 500 images',
      detected_at: '2026-01-01T01:00:05Z',
    });
    await h.indexer.handleBatch(
      [msg(T.storage, sample), msg(T.storage, sample), msg(T.storage, '{"used_bytes":-1}')],
      ctxRecorder(),
    );
    await h.indexer.handleBatch([msg(T.findings, finding), msg(T.findings, '{"id":"x"}')], ctxRecorder());
    const st = h.es.stored.get('storage-test')!;
    assert.equal(st.size, 1);
    const doc = [...st.values()][0] as { oci_registry: { storage: { used: { pct: number } } } };
    assert.equal(doc.oci_registry.storage.used.pct, 0.25);
    assert.equal(h.es.stored.get('findings-test')!.size, 1);
    const dlq = await h.read(T.dlq);
    assert.deepEqual(dlq.map((d) => d.headers[DLQ_HEADERS.reason]).sort(), [
      'invalid_finding',
      'invalid_storage_sample',
    ]);
    await h.close();
  });

  test('overlapping batches of one partition (pipelined bus): both bulks in flight at once, events published in delivery order', async () => {
    const h = await harness();
    // The first batch's bulk is held until the second batch's bulk has been sent.
    let releaseFirst: () => void = () => undefined;
    const firstHeld = new Promise<void>((r) => (releaseFirst = r));
    let calls = 0;
    let inFlight = 0;
    let maxInFlight = 0;
    const inner = h.es.bulk;
    const bulk = async (ops: readonly (object | string)[]) => {
      const n = calls++;
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      try {
        if (n === 0) await firstHeld;
        else releaseFirst();
        return await inner(ops);
      } finally {
        inFlight--;
      }
    };
    const indexer = createIndexer({
      bus: h.bus,
      publisher: h.bus.publisher(),
      bulk,
      normalizer: fakeNormalizer,
      topics: T,
      indices: { namespace: 'test', findings: 'findings-test', storage: 'storage-test' },
      groupId: 'ingest',
      options: { itemRetries: 3, retryBaseMs: 2, retryMaxMs: 10, correlationSize: 100 },
      logger: silentLogger(),
      metrics: h.metrics,
    });
    const first = indexer.handleBatch(
      [msg(T.notifications, envelope({ id: 'o-1', user: 'u' }, { id: 'o-2', user: 'u' }))],
      ctxRecorder(),
    );
    const second = indexer.handleBatch([msg(T.notifications, envelope({ id: 'o-3', user: 'u' }))], ctxRecorder());
    await Promise.all([first, second]);
    assert.equal(maxInFlight, 2, 'the second bulk went out while the first was in flight');
    const events = await h.read(T.events);
    assert.deepEqual(
      events.map((e) => (JSON.parse(e.value.toString()) as { event: { id: string } }).event.id),
      ['o-1', 'o-2', 'o-3'],
      'regwatch.events keeps the order the batches were delivered in',
    );
    assert.equal(indexer.totals.created, 3);
    await h.close();
  });

  test('subscribes to every raw topic plus storage and findings', () => {
    assert.deepEqual(
      indexerTopics(T).sort(),
      [T.findings, T.harborWebhooks, T.logs, T.notifications, T.storage].sort(),
    );
  });
});

test('rejectedPayload: the message itself is raw, one rejected event of an envelope is event', () => {
  const line = Buffer.from('{"foo":1}');
  assert.deepEqual(rejectedPayload('{"foo":1}', line), { payload: 'raw', value: line });
  assert.deepEqual(rejectedPayload('', line), { payload: 'raw', value: line });
  const envelope = Buffer.from('{"events":[{"id":"a"},{"id":"b","timestamp":1}]}');
  assert.deepEqual(rejectedPayload('{"id":"b","timestamp":1}', envelope), {
    payload: 'event',
    value: '{"id":"b","timestamp":1}',
  });
});
