import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { Counter, Registry } from 'prom-client';
import { SMTPServer } from 'smtp-server';
import { silentLogger } from '../../../shared/src/logger.ts';
import { channels } from '../../../services/alerts/src/channels/index.ts';
import { createHttpClient } from '../../../services/alerts/src/http.ts';
import { parseAlertsConfig } from '../../../services/alerts/src/config.ts';
import { createDeliverer } from '../../../services/alerts/src/delivery.ts';
import { createMemoryDeliveriesSink } from '../../../services/alerts/src/deliveries.ts';
import { createFakeClock, type FakeClock } from '../../../services/alerts/src/clock.ts';
import { startChatServer } from '../../helpers/chat-servers.ts';
import { finding, notificationOf } from '../../unit/alerts/fixtures.ts';

/** C26 input: the scripted 429 (status line, Retry-After header and body) from the case file. */
function c26Response(): { status: number; headers: Record<string, string>; body: string } {
  const text = readFileSync(new URL('../../fixtures/cases/inputs/C26.txt', import.meta.url), 'utf8');
  const status = Number(/HTTP\/1\.1 (\d{3})/.exec(text)?.[1]);
  const retryAfter = /Retry-After: (\d+)/.exec(text)?.[1] ?? '';
  const body = /\n\n(\S+)\n/.exec(text)?.[1] ?? '';
  return { status, headers: { 'retry-after': retryAfter, 'content-type': 'text/plain' }, body };
}

/** Drives real I/O and the fake clock until `done` settles. */
async function drive<T>(clock: FakeClock, done: Promise<T>): Promise<T> {
  let settled = false;
  void done.finally(() => (settled = true));
  while (!settled) {
    await new Promise((r) => setTimeout(r, 15));
    const next = clock.nextTimer();
    if (next !== undefined && !settled) await clock.advanceTo(next);
  }
  return done;
}

const START = Date.parse('2026-11-29T09:00:00Z');

describe('C26 — Slack webhook 429 with Retry-After', () => {
  test('alert 2 waits ≥ Retry-After, alerts 3–5 queue behind it, all 5 delivered exactly once, no Slack message about the 429', async () => {
    const clock = createFakeClock(START);
    const slack = await startChatServer('slack', { now: clock.now });
    const registry = new Registry();
    const counter = new Counter({
      name: 'regwatch_alert_delivery_attempts_total',
      help: 'attempts',
      labelNames: ['channel', 'result', 'code'] as const,
      registers: [registry],
    });
    try {
      const config = parseAlertsConfig(`
route: { receiver: sec }
receivers: [{ name: sec, channels: [{ type: slack, url: "${slack.url}" }] }]
delivery: { max_attempts: 6, initial_backoff: 1s, max_backoff: 60s, deadline: 10m }
`);
      const sink = createMemoryDeliveriesSink();
      const d = createDeliverer({
        config,
        channels,
        http: createHttpClient(),
        clock,
        logger: silentLogger(),
        sink,
        render: {},
        instanceId: 'i',
        random: () => 0.5,
        attemptsCounter: counter,
      });
      const users = ['u1', 'u2', 'u3', 'u4', 'u5'];
      const ns = users.map((u, i) =>
        notificationOf([finding({ entity: { type: 'user', id: u }, at: START })], {
          key: `g${i + 1}:1`,
          groupKey: `g${i + 1}`,
          receiver: 'sec',
        }),
      );
      await d.deliver(ns[0]!, [], async () => {});
      await clock.advance(1000); // the second POST happens at 09:00:01Z
      slack.script(c26Response());
      const rest = Promise.all(ns.slice(1).map((n) => d.deliver(n, [], async () => {})));
      await drive(clock, rest);

      const keys = slack.requests.map((r) => JSON.parse(r.body) as { text: string });
      assert.equal(slack.requests.length, 6, '5 deliveries + 1 retry');
      assert.equal(slack.requests[1]?.at, START + 1000);
      const retryOf2 = slack.requests[2]!;
      assert.ok(retryOf2.at >= Date.parse('2026-11-29T09:00:31Z'), `retried at ${new Date(retryOf2.at).toISOString()}`);
      assert.match(keys[2]!.text, /FIRING:1/);
      // Alerts 3–5 were held behind alert 2 (paced), not fired into the limit.
      for (const r of slack.requests.slice(3)) assert.ok(r.at >= retryOf2.at);
      const delivered = slack.accepted.map(
        (r) =>
          (JSON.parse(r.body) as { blocks: { text?: { text: string } }[] }).blocks[1]?.text?.text.match(
            /user:(u\d)/,
          )?.[1],
      );
      assert.deepEqual([...delivered].sort(), users, 'all 5 delivered, exactly once each');
      // The 429 is a metric and a delivery record; it never becomes a Slack message of its own.
      const metric = (await registry.getSingleMetric('regwatch_alert_delivery_attempts_total')?.get())?.values.find(
        (v) => v.labels['code'] === 'rate_limited',
      );
      assert.equal(metric?.value, 1);
      const rec429 = sink.records.filter((r) => r.error?.code === 'rate_limited');
      assert.equal(rec429.length, 1);
      assert.equal(rec429[0]?.oci_registry.alert.retry_after_s, 30);
      assert.ok(slack.accepted.every((r) => !/rate_limited|429/.test(r.body)));
    } finally {
      await slack.close();
    }
  });

  test('after max attempts the alert falls back to e-mail and is marked undelivered on Slack', async () => {
    const clock = createFakeClock(START);
    const slack = await startChatServer('slack', { now: clock.now });
    const mails: string[] = [];
    const smtp = new SMTPServer({
      authOptional: true,
      disableReverseLookup: true,
      hideSTARTTLS: true,
      logger: false,
      onData(stream, _s, cb) {
        let b = '';
        stream.on('data', (c: Buffer) => (b += c.toString()));
        stream.on('end', () => (mails.push(b), cb()));
      },
    });
    await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', r));
    try {
      const port = (smtp.server.address() as AddressInfo).port;
      const config = parseAlertsConfig(`
route: { receiver: sec }
receivers:
  - { name: sec, fallback: sec-mail, channels: [{ type: slack, url: "${slack.url}" }] }
  - { name: sec-mail, channels: [{ type: email, to: [sec@example.test], from: a@example.test, host: 127.0.0.1, port: ${port}, require_tls: false }] }
delivery: { max_attempts: 3, initial_backoff: 1s, max_backoff: 4s, deadline: 10m }
`);
      for (let i = 0; i < 3; i++) slack.script(c26Response());
      const sink = createMemoryDeliveriesSink();
      const d = createDeliverer({
        config,
        channels,
        http: createHttpClient(),
        clock,
        logger: silentLogger(),
        sink,
        render: {},
        instanceId: 'i',
        random: () => 0.5,
      });
      const [r] = await drive(
        clock,
        d.deliver(notificationOf([finding()], { receiver: 'sec' }), [], async () => {}),
      );
      assert.equal(r?.outcome.kind, 'failed');
      assert.equal(slack.requests.length, 3);
      assert.equal(slack.accepted.length, 0, 'no chat message about the failure goes to the failing webhook');
      const last = sink.records.filter((x) => x.oci_registry.alert.channel === 'slack').at(-1);
      assert.equal(last?.oci_registry.alert.final, true);
      assert.equal(last?.event.outcome, 'failure');
      const emailRecs = sink.records.filter(
        (x) => x.oci_registry.alert.channel === 'email' && x.event.outcome === 'success',
      );
      assert.ok(emailRecs.length >= 1);
      assert.ok(
        mails.some((m) => /FIRING:1/.test(m)),
        'the alert itself arrived by e-mail',
      );
    } finally {
      await slack.close();
      await new Promise<void>((r) => smtp.close(() => r()));
    }
  });
});
