import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger, silentLogger } from '../../../shared/src/logger.ts';
import { channels } from '../../../services/alerts/src/channels/index.ts';
import type { ChannelContext } from '../../../services/alerts/src/channels/types.ts';
import { createHttpClient } from '../../../services/alerts/src/http.ts';
import { utf8Bytes } from '../../../services/alerts/src/text.ts';
import { parseAlertsConfig } from '../../../services/alerts/src/config.ts';
import { createDeliverer } from '../../../services/alerts/src/delivery.ts';
import { createMemoryDeliveriesSink } from '../../../services/alerts/src/deliveries.ts';
import { systemClock } from '../../../services/alerts/src/clock.ts';
import { startChatServer, type ChatServer } from '../../helpers/chat-servers.ts';
import { finding, notificationOf, resolvedOf, T0 } from '../../unit/alerts/fixtures.ts';

const http = createHttpClient({ timeoutMs: 5000 });
after(() => http.close());
const ctx = (): ChannelContext => ({
  logger: silentLogger(),
  http,
  signal: new AbortController().signal,
  now: Date.now,
  render: { alertsUrl: 'http://alerts.local:9095' },
});
const ch = (id: string) => {
  const c = channels.get(id);
  assert.ok(c, id);
  return c;
};
const cfg = (id: string, raw: Record<string, unknown>) =>
  ch(id).configSchema.parse({ type: id, ...raw }) as { type: string };
const one = notificationOf([finding()]);
/** 80 alerts with long multi-byte text: forces every size limit. */
const big = notificationOf(
  Array.from({ length: 80 }, (_, i) =>
    finding({ entity: { type: 'user', id: `user-${i}` }, message: `用户 ${i} 拉取了大量镜像 👩‍👩‍👧‍👦 `.repeat(40) }),
  ),
);
const wellFormed = (s: string): boolean => (s as unknown as { isWellFormed(): boolean }).isWellFormed();

describe('slack (incoming webhook, Block Kit)', () => {
  let s: ChatServer;
  before(async () => (s = await startChatServer('slack')));
  after(() => s.close());
  test('exact request: JSON POST with header, section and silence hint', async () => {
    const out = await ch('slack').send(one, cfg('slack', { url: s.url }), ctx());
    assert.deepEqual(out, { kind: 'ok', detail: 'http 200' });
    const r = s.requests.at(-1)!;
    assert.equal(r.method, 'POST');
    assert.equal(r.headers['content-type'], 'application/json; charset=utf-8');
    const body = r.json as {
      text: string;
      blocks: { type: string; text?: { text: string }; elements?: { text: string }[] }[];
    };
    assert.equal(body.text, '[FIRING:1] pull.volume_spike {rule="pull.volume_spike"}');
    assert.equal(body.blocks[0]?.type, 'header');
    const section = body.blocks[1]?.text?.text ?? '';
    for (const frag of [
      '*[HIGH] pull.volume_spike*',
      '`user:alice`',
      'alice pulled 1240 images',
      'observed 1,240 count vs typical 35 count (10–60)',
      'window: 2026-11-30 08:45 → 09:00 UTC',
      'library/nginx (900)',
      '203.0.113.7',
      '<http://kibana.local/app/discover#/?q=alice|Open in Kibana>',
    ])
      assert.ok(section.includes(frag), `section lacks ${frag}: ${section}`);
    assert.match(
      body.blocks[2]?.elements?.[0]?.text ?? '',
      /npx regwatch silence add --url http:\/\/alerts.local:9095 --matcher 'rule=pull.volume_spike' --matcher 'entity=user:alice'/,
    );
  });
  test('C26: 429 with Retry-After → retryable with the wait; 403 invalid_token → permanent', async () => {
    s.script({ status: 429, headers: { 'retry-after': '30', 'content-type': 'text/plain' }, body: 'rate_limited' });
    assert.deepEqual(await ch('slack').send(one, cfg('slack', { url: s.url }), ctx()), {
      kind: 'retryable',
      error: 'http 429: rate_limited',
      retryAfterMs: 30_000,
      code: 'rate_limited',
    });
    const bad = await ch('slack').send(one, cfg('slack', { url: `${s.base}/services/T/B/wrong` }), ctx());
    assert.equal(bad.kind, 'failed');
    assert.equal(bad.kind === 'failed' && bad.code, 'auth_rejected');
    assert.doesNotMatch(JSON.stringify(bad), /wrong/, 'the URL is never echoed');
  });
  test('size limits: ≤ 50 blocks, section ≤ 3000, no split characters — the API accepts it', async () => {
    const before = s.accepted.length;
    assert.equal((await ch('slack').send(big, cfg('slack', { url: s.url }), ctx())).kind, 'ok');
    assert.equal(s.accepted.length, before + 1);
    const body = s.requests.at(-1)!.json as { blocks: unknown[] };
    assert.ok(body.blocks.length <= 50);
    assert.ok(wellFormed(s.requests.at(-1)!.body));
    assert.match(s.requests.at(-1)!.body, /and 65 more alert/);
  });
});

describe('microsoft teams (Workflows webhook, Adaptive Card)', () => {
  let s: ChatServer;
  before(async () => (s = await startChatServer('teams', { token: 'abc123' })));
  after(() => s.close());
  test('adaptive card message; 202 is ok', async () => {
    assert.equal((await ch('teams').send(one, cfg('teams', { url: s.url }), ctx())).kind, 'ok');
    const b = s.requests.at(-1)!.json as {
      type: string;
      attachments: { contentType: string; content: { type: string; version: string; body: unknown[] } }[];
    };
    assert.equal(b.type, 'message');
    assert.equal(b.attachments[0]?.contentType, 'application/vnd.microsoft.card.adaptive');
    assert.equal(b.attachments[0]?.content.type, 'AdaptiveCard');
    assert.match(JSON.stringify(b), /Actual vs typical.*observed 1,240 count vs typical 35 count/);
  });
  test('stays under 28 KB with many alerts, saying how many were left out', async () => {
    assert.equal((await ch('teams').send(big, cfg('teams', { url: s.url }), ctx())).kind, 'ok');
    const r = s.requests.at(-1)!;
    assert.ok(utf8Bytes(r.body) <= 28_000, `${utf8Bytes(r.body)} bytes`);
    assert.match(r.body, /more alert\(s\)/);
  });
  test('errors inside a 200 are read: inner 429 → retryable, inner 413 → failed', async () => {
    s.script({
      status: 200,
      body: 'Webhook message delivery failed with error: Microsoft Teams endpoint returned HTTP error 429 with ContextId tcid=0',
    });
    const r1 = await ch('teams').send(one, cfg('teams', { url: s.url }), ctx());
    assert.equal(r1.kind, 'retryable');
    s.script({
      status: 200,
      body: 'Webhook message delivery failed with error: Microsoft Teams endpoint returned HTTP error 413 with ContextId x',
    });
    const r2 = await ch('teams').send(one, cfg('teams', { url: s.url }), ctx());
    assert.deepEqual(r2.kind === 'failed' && r2.code, 'payload_too_large');
  });
});

describe('generic webhook (Standard Webhooks HMAC-SHA256)', () => {
  let s: ChatServer;
  const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
  before(async () => (s = await startChatServer('webhook', { secret })));
  after(() => s.close());
  test('signed with id.timestamp.body; the receiving server verifies it; id = notification key', async () => {
    assert.equal((await ch('webhook').send(one, cfg('webhook', { url: s.url, secret }), ctx())).kind, 'ok');
    const r = s.accepted.at(-1)!;
    assert.equal(r.headers['webhook-id'], one.key);
    assert.match(String(r.headers['webhook-timestamp']), /^\d{10}$/);
    assert.match(String(r.headers['webhook-signature']), /^v1,[A-Za-z0-9+/]+=*$/);
    const body = r.json as { notification_key: string; alerts: { key: string; finding: { id: string } }[] };
    assert.equal(body.notification_key, one.key);
    assert.equal(body.alerts[0]?.finding.id, one.firing[0]?.key);
  });
  test('a wrong secret is rejected by the receiver → failed auth_rejected', async () => {
    const out = await ch('webhook').send(
      one,
      cfg('webhook', { url: s.url, secret: 'whsec_d3JvbmcgZnJvbSB0aGUgc3RhcnQhIQ==' }),
      ctx(),
    );
    assert.equal(out.kind === 'failed' && out.code, 'auth_rejected');
  });
});

describe('pagerduty (Events API v2)', () => {
  let s: ChatServer;
  const key = 'R0123456789ABCDEF0123456789ABCDE';
  before(async () => (s = await startChatServer('pagerduty', { token: key })));
  after(() => s.close());
  test('trigger then resolve with the same dedup_key (group key)', async () => {
    const c = cfg('pagerduty', { routing_key: key, url: s.url });
    assert.equal((await ch('pagerduty').send(one, c, ctx())).kind, 'ok');
    const t = s.accepted.at(-1)!.json as {
      event_action: string;
      dedup_key: string;
      payload: { severity: string; source: string; summary: string };
    };
    assert.equal(t.event_action, 'trigger');
    assert.equal(t.dedup_key, one.groupKey);
    assert.equal(t.payload.severity, 'error');
    assert.equal(t.payload.source, 'user:alice');
    const res = notificationOf([resolvedOf(finding(), T0 + 60_000)]);
    assert.equal((await ch('pagerduty').send(res, c, ctx())).kind, 'ok');
    assert.deepEqual(s.accepted.at(-1)!.json, { routing_key: key, event_action: 'resolve', dedup_key: res.groupKey });
  });
  test('400 invalid event → failed with the API errors; bad routing key → auth_rejected; 429 → retryable', async () => {
    const out = await ch('pagerduty').send(one, cfg('pagerduty', { routing_key: 'X'.repeat(32), url: s.url }), ctx());
    assert.equal(out.kind === 'failed' && out.code, 'auth_rejected');
    s.script({ status: 429, body: '' });
    assert.equal(
      (await ch('pagerduty').send(one, cfg('pagerduty', { routing_key: key, url: s.url }), ctx())).kind,
      'retryable',
    );
  });
});

describe('telegram (sendMessage)', () => {
  let s: ChatServer;
  const token = '123456789:AAEXAMPLEexampleEXAMPLEexample';
  before(async () => (s = await startChatServer('telegram', { token })));
  after(() => s.close());
  const c = (t = token) => cfg('telegram', { bot_token: t, chat_id: '-100123', api_url: s.base });
  test('HTML message ≤ 4096 characters; accepted', async () => {
    assert.equal((await ch('telegram').send(big, c(), ctx())).kind, 'ok');
    const b = s.accepted.at(-1)!.json as { text: string; parse_mode: string; chat_id: string };
    assert.equal(b.parse_mode, 'HTML');
    assert.equal(b.chat_id, '-100123');
    assert.ok(b.text.length <= 4096 && wellFormed(b.text));
    assert.match(b.text, /…and \d+ more$/);
  });
  test('429 parameters.retry_after is honoured; bad token → auth_rejected', async () => {
    s.script({
      status: 429,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        ok: false,
        error_code: 429,
        description: 'Too Many Requests: retry after 3',
        parameters: { retry_after: 3 },
      }),
    });
    const r = await ch('telegram').send(one, c(), ctx());
    assert.equal(r.kind === 'retryable' && r.retryAfterMs, 3000);
    const bad = await ch('telegram').send(one, c('987654321:AAEXAMPLEexampleEXAMPLEwrong'), ctx());
    assert.equal(bad.kind === 'failed' && bad.code, 'auth_rejected');
  });
});

describe('signed bots with errors inside HTTP 200', () => {
  test('dingtalk: signed URL accepted; wrong secret → sign not match (310000) → auth_rejected; ≤ 20000 bytes', async () => {
    const s = await startChatServer('dingtalk', { token: 'tok123', secret: 'SECabc' });
    try {
      assert.equal(
        (await ch('dingtalk').send(big, cfg('dingtalk', { url: s.url, secret: 'SECabc' }), ctx())).kind,
        'ok',
      );
      const r = s.accepted.at(-1)!;
      assert.match(r.query.get('timestamp') ?? '', /^\d{13}$/);
      assert.ok(utf8Bytes((r.json as { markdown: { text: string } }).markdown.text) <= 20000);
      const bad = await ch('dingtalk').send(one, cfg('dingtalk', { url: s.url, secret: 'SECwrong' }), ctx());
      assert.equal(bad.kind === 'failed' && bad.code, 'auth_rejected');
      assert.match(bad.kind === 'failed' ? bad.error : '', /310000/);
    } finally {
      await s.close();
    }
  });
  test('feishu: timestamp+sign in the body; wrong secret → 19021 → auth_rejected', async () => {
    const s = await startChatServer('feishu', { token: 'hooktok', secret: 'fsecret' });
    try {
      assert.equal((await ch('feishu').send(big, cfg('feishu', { url: s.url, secret: 'fsecret' }), ctx())).kind, 'ok');
      const b = s.accepted.at(-1)!.json as { timestamp: string; sign: string; msg_type: string };
      assert.match(b.timestamp, /^\d{10}$/);
      assert.equal(b.msg_type, 'interactive');
      const bad = await ch('feishu').send(one, cfg('feishu', { url: s.url, secret: 'nope' }), ctx());
      assert.equal(bad.kind === 'failed' && bad.code, 'auth_rejected');
    } finally {
      await s.close();
    }
  });
  test('wecom: markdown ≤ 4096 bytes of UTF-8 (multi-byte text cut whole); wrong key → 93000', async () => {
    const s = await startChatServer('wecom', { token: 'wkey' });
    try {
      assert.equal((await ch('wecom').send(big, cfg('wecom', { url: s.url }), ctx())).kind, 'ok');
      const content = (s.accepted.at(-1)!.json as { markdown: { content: string } }).markdown.content;
      assert.ok(utf8Bytes(content) <= 4096 && wellFormed(content));
      s.script({
        status: 200,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ errcode: 45009, errmsg: 'api freq out of limit' }),
      });
      assert.equal((await ch('wecom').send(one, cfg('wecom', { url: s.url }), ctx())).kind, 'retryable');
      const bad = await ch('wecom').send(one, cfg('wecom', { url: `${s.base}/cgi-bin/webhook/send?key=other` }), ctx());
      assert.equal(bad.kind === 'failed' && bad.code, 'auth_rejected');
    } finally {
      await s.close();
    }
  });
  test('mattermost: markdown text ≤ 16383 chars accepted', async () => {
    const s = await startChatServer('mattermost', { token: 'mmhook' });
    try {
      assert.equal((await ch('mattermost').send(big, cfg('mattermost', { url: s.url }), ctx())).kind, 'ok');
      const b = s.accepted.at(-1)!.json as { text: string; username: string };
      assert.equal(b.username, 'regwatch');
      assert.ok(b.text.length <= 16383);
    } finally {
      await s.close();
    }
  });
});

describe('secrets never reach logs or delivery records', () => {
  test('failing and succeeding deliveries on every HTTP channel log no URL, token or secret', async () => {
    const lines: string[] = [];
    const logger = createLogger('alerts-test', {
      level: 'debug',
      destination: new Writable({
        write(chunk: Buffer, _e, cb) {
          lines.push(chunk.toString());
          cb();
        },
      }) as never,
    });
    const slack = await startChatServer('slack', { token: 'T1/B1/SLACKSECRETTOKEN' });
    const tg = await startChatServer('telegram', { token: '111:TELEGRAMSECRETTOKENxxxxxxxxx' });
    const wh = await startChatServer('webhook', { secret: 'WEBHOOKSECRET-0123456789' });
    try {
      const config = parseAlertsConfig(`
route: { receiver: r }
receivers:
  - name: r
    channels:
      - { type: slack, url: "${slack.url}" }
      - { type: slack, url: "${slack.base}/services/T1/B1/SLACKWRONGSECRET" }
      - { type: telegram, bot_token: "111:TELEGRAMSECRETTOKENxxxxxxxxx", chat_id: 1, api_url: "${tg.base}" }
      - { type: telegram, bot_token: "222:TELEGRAMWRONGSECRETxxxxxxxxx", chat_id: 1, api_url: "${tg.base}" }
      - { type: webhook, url: "${wh.url}", secret: "WEBHOOKSECRET-0123456789", headers: { x-api-key: APIKEYSECRET } }
delivery: { max_attempts: 2, initial_backoff: 1ms, max_backoff: 2ms }
`);
      slack.script({ status: 503, body: 'SLACKSECRETTOKEN is down' });
      const sink = createMemoryDeliveriesSink();
      const d = createDeliverer({
        config,
        channels,
        http,
        clock: systemClock,
        logger,
        sink,
        render: {},
        instanceId: 'i1',
      });
      const results = await d.deliver(one, [], async () => {});
      assert.deepEqual(
        results.map((r) => r.outcome.kind),
        ['ok', 'failed', 'ok', 'failed', 'ok'],
      );
      await new Promise((r) => setTimeout(r, 50));
      const logged = lines.join('');
      assert.ok(logged.length > 0 && /delivery attempt failed/.test(logged));
      const stored = JSON.stringify(sink.records);
      assert.ok(sink.records.length >= 6);
      for (const secret of [
        'SLACKSECRETTOKEN',
        'SLACKWRONGSECRET',
        'TELEGRAMSECRETTOKEN',
        'TELEGRAMWRONGSECRET',
        'WEBHOOKSECRET',
        'APIKEYSECRET',
        '/services/',
      ]) {
        assert.ok(!logged.includes(secret), `log contains ${secret}`);
        assert.ok(!stored.includes(secret), `delivery records contain ${secret}`);
      }
    } finally {
      await Promise.all([slack.close(), tg.close(), wh.close()]);
    }
  });
});
