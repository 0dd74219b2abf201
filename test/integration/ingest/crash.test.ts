/**
 * Fault tests that need no engine restarts: the indexer process killed with SIGKILL mid-batch,
 * repeatedly (0 lost, 0 duplicate documents), graceful SIGTERM, and 10,000 malformed inputs
 * (0 crashes, every one in regwatch.dlq with a reason). Figures are printed.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { OutgoingMessage } from '../../../shared/src/bus/types.ts';
import { DLQ_HEADERS } from '../../../services/ingest/src/dlq.ts';
import { RAW_HEADERS } from '../../../services/ingest/src/receiver.ts';
import { NOTIFICATION_MEDIA_TYPE, envelope, startPipeline, type Pipeline } from './pipeline.ts';
import { envFor, killAllIngest, spawnIngest } from './service.ts';

async function publishInChunks(p: Pipeline, topic: string, messages: OutgoingMessage[], chunk = 500): Promise<void> {
  const pub = p.bus.publisher();
  for (let i = 0; i < messages.length; i += chunk) await pub.publish(topic, messages.slice(i, i + chunk));
  await pub.close();
}

async function duplicateIds(p: Pipeline): Promise<number> {
  await p.es.indices.refresh({ index: `logs-oci_registry.*-${p.namespace}` });
  const r = await p.es.search({
    index: `logs-oci_registry.*-${p.namespace}`,
    size: 0,
    aggs: { ids: { terms: { field: 'event.id', min_doc_count: 2, size: 10 } } },
  });
  return (r.aggregations?.['ids'] as { buckets: unknown[] }).buckets.length;
}

describe('indexer crash safety (real Kafka + Elasticsearch, service as a child process)', () => {
  let p: Pipeline;
  before(async () => {
    p = await startPipeline({ receiver: false, indexer: false, partitions: 3 });
  });
  after(async () => {
    await killAllIngest();
    await p.close();
  });

  test('kill -9 the indexer mid-batch 4 times → 0 lost, 0 duplicate documents; SIGTERM exits cleanly', async () => {
    const ENVELOPES = 4000;
    const PER = 10;
    const total = ENVELOPES * PER;
    const raw: OutgoingMessage[] = [];
    for (let e = 0; e < ENVELOPES; e++) {
      const ids = Array.from(
        { length: PER },
        (_, i) => `20000000-0000-4000-8000-${String(e * PER + i).padStart(12, '0')}`,
      );
      raw.push({
        key: null,
        value: envelope(ids, `user-${e % 7}`),
        headers: {
          [RAW_HEADERS.contentType]: NOTIFICATION_MEDIA_TYPE,
          [RAW_HEADERS.receivedAt]: new Date().toISOString(),
        },
      });
    }
    await publishInChunks(p, p.topics.notifications, raw, 100);

    const env = envFor(p, { INGEST_ROLES: 'indexer', LOG_LEVEL: 'warn' });
    const kills: number[] = [];
    for (let k = 0; k < 4; k++) {
      const svc = spawnIngest({ ...env, LOG_LEVEL: 'info' });
      await svc.waitFor('ingest started', 90_000);
      const startCount = await p.countEvents();
      // Kill while documents are flowing: after the first new ones appear, at a random point.
      const end = Date.now() + 60_000;
      while ((await p.countEvents()) === startCount && Date.now() < end) await sleep(50);
      await sleep(50 + Math.floor(Math.random() * 250));
      svc.child.kill('SIGKILL');
      await svc.exited;
      kills.push(await p.countEvents());
      if (kills.at(-1)! >= total) break;
    }
    const final = spawnIngest({ ...env, LOG_LEVEL: 'info' });
    await final.waitFor('ingest started', 90_000);
    const count = await p.waitForEvents(total, 180_000);
    await sleep(2000);
    final.child.kill('SIGTERM');
    const exit = await final.exited;
    const after_ = await p.countEvents();
    const dups = await duplicateIds(p);
    console.log(
      `kill -9 test: events=${total} kills=${kills.length} documents after each kill=${kills.join(',')} final=${after_} lost=${total - after_} duplicate_ids=${dups} sigterm_exit=${exit.code}`,
    );
    assert.equal(count, total);
    assert.equal(after_, total, '0 lost, 0 extra');
    assert.equal(dups, 0, '0 duplicates');
    assert.equal(exit.code, 0, 'graceful shutdown on SIGTERM');
    assert.ok(
      final.lines.some((l) => l['msg'] === 'stopped'),
      'shutdown sequence completed',
    );
  });

  test('10,000 malformed inputs → 0 crashes, all in regwatch.dlq with a reason', async () => {
    const N = 10_000;
    const kinds = [
      (i: number) => ({
        topic: p.topics.notifications,
        value: Buffer.from(`{"events":[{"id":"${i}","timestamp":"not-a-time"`),
      }), // truncated
      (i: number) => ({ topic: p.topics.notifications, value: Buffer.from(`{"events":[{"id":${i}}]}`) }), // wrong types
      (i: number) => ({
        topic: p.topics.notifications,
        value: Buffer.concat([Buffer.from([0xff, 0xfe, 0xfd]), Buffer.from(String(i))]),
      }), // invalid UTF-8
      (i: number) => ({ topic: p.topics.harborWebhooks, value: Buffer.from(`{"unexpected":${i}}`) }), // unknown payload
      (i: number) => ({ topic: p.topics.logs, value: Buffer.from(`%%% garbage line ${i} \u0001\u0002 %%%`) }), // not a log format
      (i: number) => ({ topic: p.topics.storage, value: Buffer.from(`{"used_bytes":"lots","n":${i}}`) }), // bad storage sample
      (i: number) => ({ topic: p.topics.findings, value: Buffer.from(`{"id":"f-${i}","rule":"NOT A RULE"}`) }), // bad finding
    ];
    const byTopic = new Map<string, OutgoingMessage[]>();
    for (let i = 0; i < N; i++) {
      const m = kinds[i % kinds.length]!(i);
      const arr = byTopic.get(m.topic) ?? [];
      arr.push({ key: null, value: m.value });
      byTopic.set(m.topic, arr);
    }
    const before_ = await p.countEvents();
    const dlqBefore = (await p.readTopic(p.topics.dlq, 0, 3000)).length;
    for (const [topic, msgs] of byTopic) await publishInChunks(p, topic, msgs, 1000);

    const svc = spawnIngest(
      envFor(p, { INGEST_ROLES: 'indexer', INGEST_GROUP_ID: `${p.groupId}-malformed`, LOG_LEVEL: 'warn' }),
    );
    const started = Date.now();
    const dlq = await p.readTopic(p.topics.dlq, dlqBefore + N, 180_000);
    const seconds = (Date.now() - started) / 1000;
    const alive = svc.child.exitCode === null && svc.child.signalCode === null;
    svc.child.kill('SIGTERM');
    const exit = await svc.exited;
    const mine = dlq.length - dlqBefore;
    const reasons = new Map<string, number>();
    for (const m of dlq) {
      const r = m.headers[DLQ_HEADERS.reason] ?? '(none)';
      reasons.set(r, (reasons.get(r) ?? 0) + 1);
    }
    console.log(
      `malformed test: inputs=${N} dlq=${mine} seconds=${seconds.toFixed(1)} reasons=${JSON.stringify(Object.fromEntries(reasons))} exit=${exit.code}`,
    );
    assert.ok(alive, 'the service did not crash');
    assert.equal(exit.code, 0);
    assert.equal(mine, N, 'every malformed input dead-lettered exactly once');
    assert.ok(!reasons.has('(none)'), 'every DLQ message has a reason');
    assert.ok(
      dlq.every((m) => m.headers[DLQ_HEADERS.sourceTopic] && m.headers[DLQ_HEADERS.sourceOffset]),
      'every DLQ message points at its source',
    );
    assert.equal(await p.countEvents(), before_, 'no document from malformed input');
  });
});
