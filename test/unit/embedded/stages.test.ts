/**
 * The embedded stages over the real in-process bus (shared/src/bus/memory.ts, in memory):
 * normalize (raw → events/DLQ) and the findings output (NDJSON, no repeats across restarts).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createMemoryBus } from '../../../shared/src/bus/memory.ts';
import { AppError } from '../../../shared/src/errors.ts';
import type { BusMessage, MessageBus } from '../../../shared/src/bus/types.ts';
import { silentLogger } from '../../../shared/src/logger.ts';
import { findingSchema } from '../../../shared/src/model/finding.ts';
import type { RegistryEvent } from '../../../shared/src/model/registry-event.ts';
import { TOPICS } from '../../../shared/src/topics.ts';
import { DLQ_HEADERS } from '../../../services/ingest/src/dlq.ts';
import { createFindingsOutput } from '../../../services/embedded/src/findings-output.ts';
import { rawMessage, recordedMessages } from '../../../services/embedded/src/inputs.ts';
import { createNormalizeStage } from '../../../services/embedded/src/normalize-stage.ts';
import { createIngestMetrics } from '../../../services/ingest/src/metrics.ts';

const SAMPLES = join(import.meta.dirname, '..', '..', 'fixtures', 'registry-samples');
const log = silentLogger();
const at = new Date('2026-03-01T00:00:00Z');

async function collect(bus: MessageBus, topic: string, n: number, ms = 5000): Promise<BusMessage[]> {
  const got: BusMessage[] = [];
  const sub = await bus.subscribe({ groupId: `reader-${topic}-${Math.random()}`, topics: [topic] }, async (b) => {
    got.push(...b);
  });
  const end = Date.now() + ms;
  while (got.length < n && Date.now() < end) await sleep(10);
  await sleep(50);
  await sub.close();
  return got;
}

/** htpasswd failures as Distribution 3 logs them (fixture 19's shape), one IP, `n` attempts. */
function failedLogins(n: number, start: number, user = 'alice'): string[] {
  return Array.from({ length: n }, (_, i) =>
    JSON.stringify({
      'auth.user.name': user,
      'http.request.host': 'registry.example.com',
      'http.request.id': `req-${user}-${i}`,
      'http.request.method': 'GET',
      'http.request.remoteaddr': '203.0.113.7:50000',
      'http.request.uri': '/v2/team/app/manifests/latest',
      'http.request.useragent': 'skopeo/1.9.3',
      level: 'error',
      msg: `error authenticating user "${user}": authentication failure`,
      time: new Date(start + i * 1000).toISOString(),
      'vars.name': 'team/app',
      'vars.reference': 'latest',
    }),
  );
}

describe('normalize stage (raw topics → regwatch.events / regwatch.dlq)', () => {
  test('events keyed by identity, rejects dead-lettered with reason and source', async () => {
    const bus = createMemoryBus();
    await bus.ensureTopics(Object.values(TOPICS), 3);
    const publisher = bus.publisher();
    const metrics = createIngestMetrics({ defaultMetrics: false, engines: false });
    const stage = createNormalizeStage({ bus, publisher, topics: TOPICS, logger: log, metrics });
    await stage.start();
    const env = readFileSync(join(SAMPLES, '06-dist-notif-v3-push-sequence.ndjson'), 'utf8');
    const envelopes = recordedMessages(env, 'test', at);
    await publisher.publish(
      TOPICS.notifications,
      envelopes.map((m) => m.message),
    );
    await publisher.publish(TOPICS.notifications, [rawMessage('notifications', '{"foo":1}', 'test', at)]);
    await publisher.publish(
      TOPICS.logs,
      failedLogins(3, Date.parse('2026-03-01T10:00:00Z')).map((l) => rawMessage('logs', l, 'test', at, 'file:x')),
    );
    const events = await collect(bus, TOPICS.events, 4);
    const dlq = await collect(bus, TOPICS.dlq, 1);
    await stage.stop();
    await bus.close();
    assert.ok(events.length >= 4, `events: ${events.length}`);
    for (const m of events) {
      const e = JSON.parse(m.value.toString()) as RegistryEvent;
      assert.equal(m.key, e.user?.name ?? `ip:${e.source?.ip}`);
    }
    const logins = events
      .map((m) => JSON.parse(m.value.toString()) as RegistryEvent)
      .filter((e) => e.event.action === 'login-failure');
    assert.equal(logins.length, 3);
    assert.equal(dlq.length, 1);
    assert.equal(dlq[0]!.headers[DLQ_HEADERS.reason], 'unknown_format');
    assert.equal(dlq[0]!.headers[DLQ_HEADERS.sourceTopic], TOPICS.notifications);
    assert.equal(dlq[0]!.value.toString(), '{"foo":1}');
    assert.equal(stage.totals.dlq, 1);
    // The run's /metrics shows the stage's counters under the full mode's names.
    const text = await metrics.registry.metrics();
    assert.match(text, new RegExp(`^regwatch_ingest_consumed_total\\{topic="${TOPICS.logs}"\\} 3$`, 'm'));
    assert.match(
      text,
      new RegExp(`^regwatch_ingest_consumed_total\\{topic="${TOPICS.notifications}"\\} ${envelopes.length + 1}$`, 'm'),
    );
    assert.match(text, /^regwatch_ingest_dlq_total\{reason="unknown_format"\} 1$/m);
  });
});

describe('findings output (NDJSON)', () => {
  test('writes each finding once per severity/status, remembers across restarts, skips invalid messages', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rw-out-'));
    try {
      const bus = createMemoryBus();
      await bus.ensureTopics([TOPICS.findings], 1);
      const finding = {
        id: 'a'.repeat(32),
        rule: 'auth.bruteforce_ip',
        severity: 'medium',
        score: 50,
        status: 'firing',
        entity: { type: 'ip', id: '203.0.113.7' },
        window: { start: '2026-03-01T10:00:00.000Z', end: '2026-03-01T10:05:00.000Z' },
        observed: { value: 25, unit: 'failed logins' },
        expected: { value: 0, unit: 'failed logins' },
        evidence: { repositories: [], source_ips: [], user_agents: [], sample_event_ids: [] },
        message: 'x',
        links: {},
        labels: {},
        detected_at: '2026-03-01T10:05:00.000Z',
      };
      const file = join(dir, 'findings.ndjson');
      const state = join(dir, 'seen.json');
      const start = async () => {
        const o = createFindingsOutput({
          bus,
          topic: TOPICS.findings,
          target: { kind: 'file', path: file },
          stateFile: state,
          logger: log,
        });
        await o.start();
        return o;
      };
      let out = await start();
      const p = bus.publisher();
      await p.publish(TOPICS.findings, [
        { value: JSON.stringify(finding) },
        { value: JSON.stringify(finding) },
        { value: '{"not":"a finding"}' },
      ]);
      await p.publish(TOPICS.findings, [{ value: JSON.stringify({ ...finding, severity: 'high' }) }]);
      while (out.written() < 2) await sleep(10);
      await sleep(50);
      await out.stop();
      out = await start();
      // The same finding again after the restart (a redelivery): not written twice.
      await p.publish(TOPICS.findings, [{ value: JSON.stringify({ ...finding, severity: 'high' }) }]);
      await sleep(200);
      await out.stop();
      await bus.close();
      const lines = readFileSync(file, 'utf8')
        .trim()
        .split('\n')
        .map((l) => findingSchema.parse(JSON.parse(l)));
      assert.deepEqual(
        lines.map((f) => f.severity),
        ['medium', 'high'],
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a findings file that cannot be written fails the start with OUTPUT_UNWRITABLE (not every finding later)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rw-out-'));
    try {
      const notADir = join(dir, 'afile');
      writeFileSync(notADir, '');
      const bus = createMemoryBus();
      await bus.ensureTopics([TOPICS.findings], 1);
      const o = createFindingsOutput({
        bus,
        topic: TOPICS.findings,
        target: { kind: 'file', path: join(notADir, 'findings.ndjson') },
        logger: silentLogger(),
      });
      await assert.rejects(o.start(), (err: unknown) => {
        assert.ok(err instanceof AppError);
        assert.equal(err.code, 'OUTPUT_UNWRITABLE');
        assert.equal(err.retriable, false);
        assert.match(err.message, /cannot write findings to .*afile\/findings\.ndjson/);
        return true;
      });
      // A missing parent directory is created.
      const nested = join(dir, 'out', 'findings.ndjson');
      const ok = createFindingsOutput({
        bus,
        topic: TOPICS.findings,
        target: { kind: 'file', path: nested },
        logger: silentLogger(),
      });
      await ok.start();
      await ok.stop();
      assert.equal(readFileSync(nested, 'utf8'), '');
      await bus.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
