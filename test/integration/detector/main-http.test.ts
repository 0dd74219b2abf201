/**
 * The detector service's entry point (services/detector/src/main.ts, as deployed) serves
 * `/healthz`, `/readyz` and `/metrics` on DETECTOR_HTTP_PORT (0 here: the bound URL is read from
 * its pino `detector http listening` line) while it consumes the real broker: the events it ran
 * and the finding it published show in the Prometheus exposition, and SIGTERM exits 0.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createKafkaBus } from '../../../shared/src/bus/kafka.ts';
import { silentLogger } from '../../../shared/src/logger.ts';
import { TOPICS } from '../../../shared/src/topics.ts';
import { kafkaBrokers, uniqueName } from '../../helpers/infra.ts';
import { deleteEvent, spawnDetectorMain } from '../../helpers/detector-events.ts';

const children = new Set<ChildProcess>();
after(() => {
  for (const c of children) c.kill('SIGKILL');
});

/** The value of the unlabelled sample `name`, or of the sum of its labelled samples matching `labels`. */
function valueOf(text: string, name: string, labels = ''): number {
  let sum = 0;
  let found = false;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-z_]+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name || !(m[2] ?? '').includes(labels)) continue;
    sum += Number(m[3]);
    found = true;
  }
  return found ? sum : NaN;
}

describe('detector service HTTP endpoints', { timeout: 120_000 }, () => {
  test('/healthz, /readyz and /metrics of the running entry point; SIGTERM exits 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'regwatch-det-http-'));
    const prefix = `${uniqueName('dethttp')}.`;
    const events = `${prefix}${TOPICS.events}`;
    const findings = `${prefix}${TOPICS.findings}`;
    const bus = createKafkaBus({ brokers: kafkaBrokers(), clientId: 'regwatch-detector-test', logger: silentLogger() });
    try {
      await bus.ensureTopics([events, findings], 1);
      const t0 = Date.parse('2026-03-10T17:00:00Z');
      const pub = bus.publisher();
      // 25 deletions in 250 s (delete.burst fires at 20 in 10 minutes) and one message that is not an event.
      const sent = 25;
      await pub.publish(events, [
        ...Array.from({ length: sent }, (_, i) => ({
          key: 'mallory',
          value: JSON.stringify(deleteEvent(i, t0 + i * 10_000, 'http-')),
        })),
        { key: 'junk', value: 'not json at all' },
      ]);
      await pub.close();

      const child = spawnDetectorMain(prefix, dir, 'info');
      children.add(child);
      let output = '';
      let url: string | undefined;
      child.stdout!.on('data', (b: Buffer) => {
        output += b.toString();
        url ??= /"url":"(http:\/\/[^"]+)".*"msg":"detector http listening"/.exec(output)?.[1];
      });
      child.stderr!.on('data', (b: Buffer) => (output += b.toString()));
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));

      const end = Date.now() + 60_000;
      while (url === undefined && Date.now() < end && child.exitCode === null) await sleep(100);
      assert.ok(url, `no listening url logged:\n${output.slice(-3000)}`);

      const health = await fetch(`${url}/healthz`);
      assert.equal(health.status, 200);
      assert.deepEqual(await health.json(), { status: 'ok' });

      // Ready once started (consumer group joined); then the events are consumed and the finding published.
      let ready: Response | undefined;
      while (Date.now() < end) {
        ready = await fetch(`${url}/readyz`);
        if (ready.status === 200) break;
        assert.equal(ready.status, 503);
        assert.equal(((await ready.json()) as { reason?: string }).reason, 'starting');
        await sleep(200);
      }
      assert.equal(ready?.status, 200, output.slice(-3000));
      assert.deepEqual(await ready.json(), { status: 'ready' });

      let text = '';
      const finding = 'rule="delete.burst",severity="high",status="firing"';
      while (Date.now() < end) {
        const res = await fetch(`${url}/metrics`);
        assert.equal(res.status, 200);
        assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
        text = await res.text();
        if (valueOf(text, 'regwatch_detector_findings_published_total', finding) >= 1) break;
        await sleep(300);
      }
      assert.ok(valueOf(text, 'regwatch_detector_events_total') >= sent, text);
      assert.equal(valueOf(text, 'regwatch_detector_findings_published_total', finding), 1, text);
      assert.equal(valueOf(text, 'regwatch_detector_invalid_messages_total'), 1);
      assert.equal(valueOf(text, 'regwatch_detector_identities'), 1);
      const lag = valueOf(text, 'regwatch_detector_event_time_lag_seconds');
      // Wall clock minus the newest event time (the 25th deletion), seconds.
      const expected = (Date.now() - (t0 + (sent - 1) * 10_000)) / 1000;
      assert.ok(Math.abs(lag - expected) < 60, `event-time lag ${lag}, expected about ${expected}`);
      assert.ok(valueOf(text, 'regwatch_detector_process_resident_memory_bytes') > 0);

      child.kill('SIGTERM');
      assert.equal(await exited, 0, output.slice(-3000));
      assert.match(output, /"msg":"detector stopped"/);
    } finally {
      await bus.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
