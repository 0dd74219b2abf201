import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { simpleParser, type ParsedMail } from 'mailparser';
import { silentLogger } from '../../../shared/src/logger.ts';
import { channels } from '../../../services/alerts/src/channels/index.ts';
import { createHttpClient } from '../../../services/alerts/src/http.ts';
import { parseAlertsConfig } from '../../../services/alerts/src/config.ts';
import { createDeliverer } from '../../../services/alerts/src/delivery.ts';
import { createMemoryDeliveriesSink } from '../../../services/alerts/src/deliveries.ts';
import { systemClock } from '../../../services/alerts/src/clock.ts';
import { startChatServer } from '../../helpers/chat-servers.ts';
import { finding, notificationOf } from '../../unit/alerts/fixtures.ts';

interface Smtp {
  port: number;
  mails: ParsedMail[];
  commands: string[];
  close(): Promise<void>;
}

/** A real SMTP server in-process (smtp-server), parsing received mail with mailparser. */
async function startSmtp(opts: { hideSTARTTLS: boolean }): Promise<Smtp> {
  const mails: ParsedMail[] = [];
  const commands: string[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disableReverseLookup: true,
    hideSTARTTLS: opts.hideSTARTTLS,
    // A relay without STARTTLS: not advertised in EHLO and answered 502 if tried anyway (C28 transcript).
    ...(opts.hideSTARTTLS ? { disabledCommands: ['STARTTLS'] } : {}),
    logger: false,
    onMailFrom(addr, _s, cb) {
      commands.push(`MAIL FROM:${addr.address}`);
      cb();
    },
    onData(stream, _s, cb) {
      commands.push('DATA');
      simpleParser(stream)
        .then((m) => {
          mails.push(m);
          cb();
        })
        .catch(cb);
    },
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.server.address() as AddressInfo).port;
  return { port, mails, commands, close: () => new Promise<void>((r) => server.close(() => r())) };
}

const ctx = () => ({
  logger: silentLogger(),
  http: createHttpClient(),
  signal: new AbortController().signal,
  now: Date.now,
  render: {},
});

describe('email (nodemailer → real in-process SMTP server)', () => {
  test('STARTTLS upgrade, HTML + plain text parts, subject and notification header', async () => {
    const smtp = await startSmtp({ hideSTARTTLS: false });
    try {
      const email = channels.get('email')!;
      const c = email.configSchema.parse({
        type: 'email',
        to: ['secops@example.test'],
        from: 'regwatch@example.test',
        host: '127.0.0.1',
        port: smtp.port,
        tls_reject_unauthorized: false,
      });
      const n = notificationOf([finding({ message: 'alice <script>alert(1)</script> pulled 1240 images' })]);
      assert.deepEqual(await email.send(n, c, ctx()), { kind: 'ok' });
      const m = smtp.mails[0]!;
      assert.equal(m.subject, '[regwatch] [FIRING:1] pull.volume_spike {rule="pull.volume_spike"}');
      assert.equal(m.headers.get('x-regwatch-notification'), n.key);
      assert.match(m.text ?? '', /observed 1,240 count vs typical 35 count \(10–60\)/);
      assert.match(m.text ?? '', /regwatch silence add/);
      const html = String(m.html);
      assert.match(html, /alice &lt;script&gt;alert\(1\)&lt;\/script&gt;/, 'HTML is escaped');
      assert.match(html, /href="http:\/\/kibana.local\/app\/discover#\/\?q=alice"/);
    } finally {
      await smtp.close();
    }
  });

  test('C28: STARTTLS required but not offered → permanent smtp_starttls_unavailable before any message data; health notice via chat; no retry loop', async () => {
    const smtp = await startSmtp({ hideSTARTTLS: true });
    const slack = await startChatServer('slack');
    try {
      const config = parseAlertsConfig(`
route: { receiver: mail }
receivers:
  - name: mail
    channels:
      - { type: email, to: [secops@example.test], from: alerts@example.test, host: 127.0.0.1, port: ${smtp.port}, require_tls: true }
  - name: ops-chat
    channels: [{ type: slack, url: "${slack.url}" }]
delivery: { health_receiver: ops-chat, max_attempts: 5, initial_backoff: 10ms, max_backoff: 20ms, recheck_after: 15m }
`);
      const sink = createMemoryDeliveriesSink();
      const d = createDeliverer({
        config,
        channels,
        http: createHttpClient(),
        clock: systemClock,
        logger: silentLogger(),
        sink,
        render: {},
        instanceId: 'i',
      });
      const n = notificationOf([finding()], { receiver: 'mail' });
      const [r] = await d.deliver(n, [], async () => {});
      assert.equal(r?.outcome.kind, 'failed');
      assert.equal(r?.outcome.kind === 'failed' && r.outcome.code, 'smtp_starttls_unavailable');
      assert.equal(r?.attempts, 1, 'a configuration error is not retried');
      assert.deepEqual(smtp.commands, [], 'no MAIL FROM, no DATA: nothing was sent in plaintext');
      assert.equal(smtp.mails.length, 0);
      const rec = sink.records.filter((x) => x.oci_registry.alert.channel === 'email');
      assert.equal(rec.length, 1);
      assert.equal(rec[0]?.event.outcome, 'failure');
      assert.equal(rec[0]?.error?.code, 'smtp_starttls_unavailable');
      // Self-health notice through a different channel, naming host and reason.
      assert.equal(slack.accepted.length, 1);
      assert.match(
        slack.accepted[0]!.body,
        /email channel of receiver \\"mail\\" is failing \(smtp_starttls_unavailable\)/,
      );
      assert.match(slack.accepted[0]!.body, new RegExp(`127\\.0\\.0\\.1:${smtp.port}`));
      // The next notification does not hammer the server and does not re-alert.
      const [again] = await d.deliver({ ...n, key: `${n.key}-2` }, [], async () => {});
      assert.equal(again?.attempts, 0);
      assert.equal(smtp.commands.length, 0);
      assert.equal(slack.accepted.length, 1, 'reported once');
      assert.equal(sink.records.at(-1)?.oci_registry.alert.result, 'skipped');
    } finally {
      await Promise.all([smtp.close(), slack.close()]);
    }
  });

  test('plaintext only when require_tls: false is set explicitly', async () => {
    const smtp = await startSmtp({ hideSTARTTLS: true });
    try {
      const email = channels.get('email')!;
      const c = email.configSchema.parse({
        type: 'email',
        to: ['a@example.test'],
        from: 'b@example.test',
        host: '127.0.0.1',
        port: smtp.port,
        require_tls: false,
      });
      assert.equal((await email.send(notificationOf([finding()]), c, ctx())).kind, 'ok');
      assert.equal(smtp.mails.length, 1);
    } finally {
      await smtp.close();
    }
  });
});
