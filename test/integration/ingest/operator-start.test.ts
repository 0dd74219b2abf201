/**
 * Operator-facing start-up behaviour of the ingest entry point (services/ingest/src/main.ts) on the
 * real Kafka broker and Elasticsearch node:
 * - REGWATCH_TOPIC_PREFIX isolates consumer groups too: two indexers with different prefixes and no
 *   INGEST_GROUP_ID each join `<prefix>ingest` and index their own tenant's notifications (before,
 *   both joined `ingest`, were assigned each other's topics — "unsubscribed topics" — and indexed
 *   nothing while /readyz said ready);
 * - the start-up log's Elasticsearch assets summary counts a skipped asset as skipped (`changed: 0`
 *   when everything was installed already);
 * - a receiver port already taken fails the start with HTTP_LISTEN_FAILED naming the address (not
 *   INTERNAL), exit status 1 — with both roles, at once, before waiting for Elasticsearch;
 * - with both roles, the receiver takes deliveries into Kafka while the indexer is still waiting
 *   for Elasticsearch (/readyz 503 with `indexer: starting` meanwhile).
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { RAW_HEADERS } from '../../../services/ingest/src/receiver.ts';
import { NOTIFICATION_MEDIA_TYPE, envelope, startPipeline, type Pipeline } from './pipeline.ts';
import { envFor, killAllIngest, spawnIngest } from './service.ts';

const pipelines: Pipeline[] = [];
after(async () => {
  await killAllIngest();
  for (const p of pipelines) await p.close();
});

/** The service environment of `p` without INGEST_GROUP_ID (the default group applies). */
function defaultGroupEnv(p: Pipeline, extra: Record<string, string>): Record<string, string> {
  const env = envFor(p, extra);
  delete env['INGEST_GROUP_ID'];
  return env;
}

describe('ingest entry point: operator-facing start-up', { timeout: 240_000 }, () => {
  test('two prefixes, default group ids: each indexer joins <prefix>ingest and indexes its own events', async () => {
    const a = await startPipeline({ receiver: false, indexer: false, partitions: 1 });
    pipelines.push(a);
    const b = await startPipeline({ receiver: false, indexer: false, partitions: 1 });
    pipelines.push(b);
    const publish = async (p: Pipeline, n: number, tag: string): Promise<void> => {
      const pub = p.bus.publisher();
      const ids = Array.from({ length: n }, (_, i) => `30000000-0000-4000-8000-${tag}${String(i).padStart(10, '0')}`);
      await pub.publish(p.topics.notifications, [
        {
          key: null,
          value: envelope(ids, `user-${tag}`),
          headers: {
            [RAW_HEADERS.contentType]: NOTIFICATION_MEDIA_TYPE,
            [RAW_HEADERS.receivedAt]: new Date().toISOString(),
          },
        },
      ]);
      await pub.close();
    };
    await publish(a, 3, 'aa');
    await publish(b, 5, 'bb');

    const extra = { INGEST_ROLES: 'indexer', INGEST_PIPELINE_STATS_INTERVAL_S: '0', LOG_LEVEL: 'info' };
    const svcA = spawnIngest(defaultGroupEnv(a, extra));
    const svcB = spawnIngest(defaultGroupEnv(b, extra));
    const [startedA, startedB] = await Promise.all([
      svcA.waitFor('indexer started', 90_000),
      svcB.waitFor('indexer started', 90_000),
    ]);
    // The assets were installed by startPipeline: nothing changes now, and an asset skipped
    // (the ILM policies on a cluster without ILM; a shared index another test already created as
    // a concrete index) is counted as skipped, not as a change.
    const applied = svcA.lines.find((l) => l['msg'] === 'Elasticsearch assets applied');
    assert.ok(applied, 'no "Elasticsearch assets applied" line');
    assert.equal(applied['changed'], 0, JSON.stringify(applied));
    assert.equal(applied['created'], 0);
    assert.equal(applied['updated'], 0);
    const ilm = (applied['capabilities'] as { ilm: boolean }).ilm;
    if (!ilm) assert.ok((applied['skipped'] as number) >= 1, JSON.stringify(applied));
    assert.equal(startedA['group'], `${a.prefix}ingest`);
    assert.equal(startedB['group'], `${b.prefix}ingest`);

    assert.equal(await a.waitForEvents(3, 60_000), 3);
    assert.equal(await b.waitForEvents(5, 60_000), 5);
    const logs = JSON.stringify([...svcA.lines, ...svcB.lines]);
    assert.doesNotMatch(logs, /unsubscribed topics/i);

    svcA.child.kill('SIGTERM');
    svcB.child.kill('SIGTERM');
    assert.equal((await svcA.exited).code, 0);
    assert.equal((await svcB.exited).code, 0);
  });

  test('a receiver port already in use: HTTP_LISTEN_FAILED with the address, not retriable, exit 1', async () => {
    const p = await startPipeline({ receiver: false, indexer: false, partitions: 1 });
    pipelines.push(p);
    const blocker: Server = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    try {
      const svc = spawnIngest(
        envFor(p, {
          INGEST_ROLES: 'receiver',
          RECEIVER_TOKENS: 'integration-token-0123456789',
          RECEIVER_PORT: String(port),
          LOG_LEVEL: 'info',
        }),
      );
      const { code } = await svc.exited;
      assert.equal(code, 1);
      const fatal = svc.lines.find((l) => l['level'] === 'fatal' || l['level'] === 60);
      assert.ok(fatal, `no fatal log line: ${JSON.stringify(svc.lines.slice(-5))}`);
      assert.equal(fatal['code'], 'HTTP_LISTEN_FAILED');
      assert.equal(fatal['retriable'], false);
      const stderr = svc.stderr.join('');
      assert.match(
        stderr,
        new RegExp(
          `regwatch ingest: HTTP_LISTEN_FAILED: receiver cannot listen on 127\\.0\\.0\\.1:${port} \\(EADDRINUSE\\)`,
        ),
      );
      assert.doesNotMatch(stderr, /INTERNAL/);
    } finally {
      await new Promise((r) => blocker.close(r));
    }
  });

  test('both roles, port in use, Elasticsearch unreachable: HTTP_LISTEN_FAILED at once, before waiting for Elasticsearch', async () => {
    const p = await startPipeline({ receiver: false, indexer: false, partitions: 1 });
    pipelines.push(p);
    const blocker: Server = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    try {
      const svc = spawnIngest(
        envFor(p, {
          INGEST_ROLES: 'receiver,indexer',
          RECEIVER_TOKENS: 'integration-token-0123456789',
          RECEIVER_PORT: String(port),
          // Nothing listens on port 1: the old order waited out this timeout before binding.
          ES_URLS: 'http://127.0.0.1:1',
          ES_STARTUP_TIMEOUT_MS: '120000',
        }),
      );
      const { code } = await svc.exited;
      assert.equal(code, 1);
      const fatal = svc.lines.find((l) => l['level'] === 'fatal' || l['level'] === 60);
      assert.equal(fatal?.['code'], 'HTTP_LISTEN_FAILED', JSON.stringify(svc.lines.slice(-5)));
      assert.equal(
        svc.lines.find((l) => l['msg'] === 'waiting for Elasticsearch'),
        undefined,
        'the receiver port is bound before Elasticsearch is awaited',
      );
    } finally {
      await new Promise((r) => blocker.close(r));
    }
  });

  test('both roles, Elasticsearch not up yet: deliveries are taken into Kafka, /readyz says the indexer is starting', async () => {
    const p = await startPipeline({ receiver: false, indexer: false, partitions: 1 });
    pipelines.push(p);
    const probe: Server = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as { port: number }).port;
    await new Promise((r) => probe.close(r));
    const token = 'integration-token-0123456789';
    const svc = spawnIngest(
      envFor(p, {
        INGEST_ROLES: 'receiver,indexer',
        RECEIVER_TOKENS: token,
        RECEIVER_PORT: String(port),
        ES_URLS: 'http://127.0.0.1:1',
        ES_STARTUP_TIMEOUT_MS: '120000',
      }),
    );
    await svc.waitFor('receiver listening', 60_000);
    const base = `http://127.0.0.1:${port}`;
    const ready = await fetch(`${base}/readyz`);
    assert.equal(ready.status, 503);
    const body = (await ready.json()) as { checks: Record<string, string> };
    assert.equal(body.checks['indexer'], 'starting', JSON.stringify(body));
    const ids = ['30000000-0000-4000-8000-cc0000000001', '30000000-0000-4000-8000-cc0000000002'];
    const res = await fetch(`${base}/v1/notifications`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': NOTIFICATION_MEDIA_TYPE },
      body: envelope(ids, 'user-cc'),
    });
    assert.equal(res.status, 202, await res.text());
    // The envelope is on the raw notifications topic, for the indexer once Elasticsearch is up.
    const raw = await p.readTopic(p.topics.notifications, 1, 30_000);
    assert.equal(raw.length, 1);
    assert.deepEqual(
      (JSON.parse(raw[0]?.value.toString('utf8') ?? '{}') as { events: { id: string }[] }).events.map((e) => e.id),
      ids,
    );
    svc.child.kill('SIGTERM');
    assert.equal((await svc.exited).code, 0);
    // One stop message: the start-up was cancelled (not also a plain "stopped").
    assert.deepEqual(
      svc.lines.filter((l) => String(l['msg']).startsWith('stopped')).map((l) => l['msg']),
      ['stopped during start-up'],
    );
  });
});
