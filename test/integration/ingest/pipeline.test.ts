/**
 * Receiver → Kafka → indexer → Elasticsearch on the real engines: exact document counts per action
 * and user, shared cases C15/C16 end to end, and zero duplicates under redelivery (a batch written
 * to ES but not committed is delivered again; a second group replays the raw topics from offset 0).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { errors } from '@elastic/elasticsearch';
import { normalizePayload } from '../../../shared/src/normalize/index.ts';
import { DLQ_HEADERS } from '../../../services/ingest/src/dlq.ts';
import { NOTIFICATION_MEDIA_TYPE, envelope, esBulk, post, startPipeline, type Pipeline } from './pipeline.ts';

const fixture = (p: string): string => readFileSync(new URL(`../../fixtures/${p}`, import.meta.url), 'utf8');
const C15 = fixture('cases/inputs/C15.txt')
  .split('\n')
  .filter((l) => l.startsWith('{"events"'));
const c16Raw = fixture('cases/inputs/C16.http');
const C16 = c16Raw.slice(c16Raw.indexOf('\n{') + 1, c16Raw.indexOf('\n}\n') + 2);

describe('ingest pipeline on real Kafka + Elasticsearch', () => {
  let p: Pipeline;
  const ALICE = 30;
  const BOB = 20;
  const PER = 4;
  let expectedTotal = 0;
  let c16Events = 0;

  before(async () => {
    p = await startPipeline({ partitions: 3 });
  });
  after(async () => {
    await p.close();
  });

  test('exact counts per action and user; C15 twice → 1 document; C16 accepted with 2xx', async () => {
    let n = 0;
    const ids = (): string[] =>
      Array.from({ length: PER }, () => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`);
    for (let i = 0; i < ALICE; i++) {
      const r = await post(p, '/v1/notifications', envelope(ids(), 'alice'), NOTIFICATION_MEDIA_TYPE);
      assert.equal(r.status, 202);
    }
    for (let i = 0; i < BOB; i++) {
      const r = await post(p, '/v1/notifications', envelope(ids(), 'bob', 'push'), NOTIFICATION_MEDIA_TYPE);
      assert.equal(r.status, 202);
    }
    assert.equal(C15.length, 2);
    for (const body of C15)
      assert.equal((await post(p, '/v1/notifications', body, NOTIFICATION_MEDIA_TYPE)).status, 202);
    assert.equal((await post(p, '/v1/notifications', C16, NOTIFICATION_MEDIA_TYPE)).status, 202);
    c16Events = normalizePayload(C16, 'notification').filter((r) => r.kind === 'event').length;
    const c16Rejects = normalizePayload(C16, 'notification').filter((r) => r.kind === 'rejected').length;
    assert.equal(c16Events + c16Rejects, 2, 'each C16 event is either mapped or dead-lettered');

    expectedTotal = (ALICE + BOB) * PER + 1 + c16Events;
    assert.equal(await p.waitForEvents(expectedTotal), expectedTotal);
    await sleep(1500); // anything extra would show up now
    assert.equal(await p.countEvents(), expectedTotal);
    assert.equal(await p.countEvents({ term: { 'user.name': 'alice' } }), ALICE * PER);
    assert.equal(
      await p.countEvents({
        bool: { filter: [{ term: { 'user.name': 'bob' } }, { term: { 'event.action': 'manifest-push' } }] },
      }),
      BOB * PER,
    );
    assert.equal(await p.countEvents({ term: { 'event.action': 'manifest-pull' } }), ALICE * PER);
    assert.equal(
      await p.countEvents({ term: { 'event.id': '00000000-0000-4000-8000-000000001501' } }),
      1,
      'C15: one document',
    );
    assert.equal(
      await p.countEvents({ term: { 'event.id': '00000000-0000-4000-8000-000000001601' } }),
      1,
      'C16: the push is indexed',
    );
    const dupDocs = await p.es.search({
      index: `logs-oci_registry.*-${p.namespace}`,
      size: 0,
      aggs: { ids: { terms: { field: 'event.id', min_doc_count: 2, size: 10 } } },
    });
    assert.equal(
      (dupDocs.aggregations?.['ids'] as { buckets: unknown[] }).buckets.length,
      0,
      'no event id stored twice',
    );

    const dlq = await p.readTopic(p.topics.dlq, c16Rejects, 10_000);
    assert.equal(dlq.length, c16Rejects);
    const events = await p.readTopic(p.topics.events, expectedTotal + 1);
    const eventIds = new Set(events.map((m) => (JSON.parse(m.value.toString()) as { event: { id: string } }).event.id));
    assert.equal(eventIds.size, expectedTotal, 'every indexed event published to regwatch.events');
    assert.ok(events.filter((m) => m.key === 'alice').length >= ALICE * PER, 'keyed by identity');
  });

  test('redelivery of a batch written to ES but not committed → 409s, zero duplicates', async () => {
    await p.stopIndexer();
    const base = await p.countEvents();
    let crashes = 0;
    const real = esBulk(p.es);
    await p.startIndexer({
      bulk: async (ops) => {
        const res = await real(ops);
        if (crashes === 0) {
          crashes++;
          // ES applied the writes but the response is "lost" (C20): the batch is not committed.
          throw new errors.ConnectionError('socket hang up after write');
        }
        return res;
      },
    });
    const ids = Array.from({ length: 25 }, (_, i) => `10000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
    assert.equal((await post(p, '/v1/notifications', envelope(ids, 'carol'), NOTIFICATION_MEDIA_TYPE)).status, 202);
    assert.equal(await p.waitForEvents(base + 25), base + 25);
    const end = Date.now() + 20_000;
    while (p.indexer!.totals.duplicates < 25 && Date.now() < end) await sleep(100);
    assert.equal(crashes, 1);
    assert.equal(p.indexer!.totals.duplicates, 25, 'the redelivered writes were 409 duplicates');
    await sleep(1000);
    assert.equal(await p.countEvents(), base + 25);
  });

  test('replaying the raw topics from offset 0 (new consumer group) adds zero documents', async () => {
    const before_ = await p.countEvents();
    await p.stopIndexer();
    const replay = await p.startIndexer({ groupId: `${p.groupId}-replay` });
    const expectedDocs = before_;
    const end = Date.now() + 60_000;
    while (replay.totals.created + replay.totals.duplicates + replay.totals.dlq < expectedDocs && Date.now() < end)
      await sleep(200);
    await sleep(1000);
    assert.equal(replay.totals.created, 0, 'nothing new created');
    assert.equal(await p.countEvents(), before_);
    console.log(
      `replay from offset 0: consumed=${replay.totals.consumed} duplicates=${replay.totals.duplicates} created=${replay.totals.created} docs=${before_}`,
    );
  });

  test('DLQ messages carry the reason and the source topic/partition/offset', async () => {
    const r = await post(p, '/v1/notifications', '{"events":[{"id":5}]}', 'application/json');
    assert.equal(r.status, 202, 'well-formed JSON we cannot normalize is accepted (C16 rule)');
    const dlq = await p.readTopic(p.topics.dlq, 1, 20_000);
    const mine = dlq.find((m) => m.headers[DLQ_HEADERS.reason] === 'schema_mismatch');
    assert.ok(mine, 'dead-lettered with a reason');
    assert.equal(mine.headers[DLQ_HEADERS.sourceTopic], p.topics.notifications);
    assert.match(mine.headers[DLQ_HEADERS.sourceOffset] ?? '', /^\d+$/);
    assert.match(mine.headers[DLQ_HEADERS.sourcePartition] ?? '', /^\d+$/);
  });
});
