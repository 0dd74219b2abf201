import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { createMemoryBus } from '../../../shared/src/bus/memory.ts';
import type { BusMessage, MessageBus, Publisher } from '../../../shared/src/bus/types.ts';
import { AppError } from '../../../shared/src/errors.ts';
import { createLogger } from '../../../shared/src/logger.ts';
import type { ReceiverConfig } from '../../../services/ingest/src/config.ts';
import { bearerMatches, buildReceiver, splitLines } from '../../../services/ingest/src/receiver.ts';
import { createIngestMetrics } from '../../../services/ingest/src/metrics.ts';
import { createHash } from 'node:crypto';
import { deflateSync, gzipSync } from 'node:zlib';

const TOKEN = 's3cret-token-value';
const topics = { notifications: 'n', logs: 'l', harborWebhooks: 'h', storage: 's' };
const baseConfig: ReceiverConfig = {
  host: '127.0.0.1',
  port: 0,
  tokens: [TOKEN],
  bodyLimitBytes: 64 * 1024,
  rateLimit: null,
  retryAfterSeconds: 7,
};
const C16 = readFileSync(new URL('../../fixtures/cases/inputs/C16.http', import.meta.url), 'utf8');
const c16Body = C16.slice(C16.indexOf('\n{') + 1, C16.indexOf('\n}\n') + 2);

function captureLogs() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  return { lines, logger: createLogger('test', { level: 'debug', destination: stream }) };
}

async function setup(publisher?: Publisher, config = baseConfig) {
  const bus: MessageBus = createMemoryBus();
  await bus.ensureTopics(Object.values(topics), 2);
  const { lines, logger } = captureLogs();
  const app = buildReceiver({
    publisher: publisher ?? bus.publisher(),
    topics,
    config,
    logger,
    metrics: createIngestMetrics({ defaultMetrics: false }),
    ready: () => ({ ready: true, checks: { kafka: 'ok' } }),
    now: () => new Date('2026-01-02T03:04:05.000Z'),
  });
  async function drain(topic: string, expected: number): Promise<BusMessage[]> {
    const got: BusMessage[] = [];
    const sub = await bus.subscribe({ groupId: `g-${topic}-${Math.random()}`, topics: [topic] }, async (b) => {
      got.push(...b);
    });
    const end = Date.now() + 2000;
    while (got.length < expected && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 50));
    await sub.close();
    return got;
  }
  return { app, bus, drain, lines };
}

const auth = { authorization: `Bearer ${TOKEN}` };
const SAMPLE = {
  timestamp: '2026-01-02T03:00:00Z',
  used_bytes: 5_000_000_000,
  capacity_bytes: 10_000_000_000,
  scope: 'fs:/var/lib/registry',
};

describe('receiver', () => {
  test('C16: registry envelope media type, pretty-printed, one unmappable event → 202 and original bytes kept', async () => {
    const { app, bus, drain } = await setup();
    const res = await app.inject({
      method: 'POST',
      url: '/v1/notifications',
      headers: { ...auth, 'content-type': 'application/vnd.docker.distribution.events.v1+json' },
      payload: c16Body,
    });
    assert.equal(res.statusCode, 202);
    const msgs = await drain('n', 1);
    assert.equal(msgs.length, 1);
    assert.equal(msgs[0]!.value.toString('utf8'), c16Body, 'byte-for-byte');
    assert.equal(msgs[0]!.headers['content-type'], 'application/vnd.docker.distribution.events.v1+json');
    assert.equal(msgs[0]!.headers['regwatch.received_at'], '2026-01-02T03:04:05.000Z');
    await app.close();
    await bus.close();
  });

  test('401 without or with a wrong token; health endpoints stay open', async () => {
    const { app, bus } = await setup();
    const ct = { 'content-type': 'application/json' };
    assert.equal((await app.inject({ method: 'POST', url: '/v1/harbor', headers: ct, payload: '{}' })).statusCode, 401);
    assert.equal(
      (
        await app.inject({
          method: 'POST',
          url: '/v1/harbor',
          headers: { ...ct, authorization: 'Bearer nope' },
          payload: '{}',
        })
      ).statusCode,
      401,
    );
    assert.equal(
      (await app.inject({ method: 'POST', url: '/v1/harbor', headers: { ...ct, authorization: TOKEN }, payload: '{}' }))
        .statusCode,
      401,
    );
    assert.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
    assert.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200);
    const metrics = await app.inject({ method: 'GET', url: '/metrics' });
    assert.equal(metrics.statusCode, 200);
    assert.match(metrics.body, /regwatch_receiver_requests_total\{route="\/v1\/harbor",status_code="401"\} 3/);
    await app.close();
    await bus.close();
  });

  test('415 for a wrong media type, 400 for a body that is not JSON, 413 over the limit', async () => {
    const { app, bus } = await setup();
    const r415 = await app.inject({
      method: 'POST',
      url: '/v1/notifications',
      headers: { ...auth, 'content-type': 'text/plain' },
      payload: '{}',
    });
    assert.equal(r415.statusCode, 415);
    const r400 = await app.inject({
      method: 'POST',
      url: '/v1/notifications',
      headers: { ...auth, 'content-type': 'application/json' },
      payload: '{"events":[',
    });
    assert.equal(r400.statusCode, 400);
    const r413 = await app.inject({
      method: 'POST',
      url: '/v1/notifications',
      headers: { ...auth, 'content-type': 'application/json' },
      payload: JSON.stringify({ events: [], pad: 'x'.repeat(70 * 1024) }),
    });
    assert.equal(r413.statusCode, 413);
    assert.equal(r413.json().error, 'BODY_TOO_LARGE');
    assert.equal(r413.json().limit_bytes, 64 * 1024);
    assert.match(r413.json().message, /limit of 65536 bytes .*RECEIVER_BODY_LIMIT_BYTES/);
    // JSON that is not an envelope is accepted (dead-lettered later by the indexer), never 4xx.
    const odd = await app.inject({
      method: 'POST',
      url: '/v1/notifications',
      headers: { ...auth, 'content-type': 'application/json' },
      payload: '[1,2,3]',
    });
    assert.equal(odd.statusCode, 202);
    await app.close();
    await bus.close();
  });

  test('503 with Retry-After when Kafka does not acknowledge; the token is never logged', async () => {
    const failing: Publisher = {
      publish: async () => {
        throw new AppError('KAFKA_UNAVAILABLE', 'broker down', { retriable: true });
      },
      close: async () => undefined,
    };
    const { app, bus, lines } = await setup(failing);
    const res = await app.inject({
      method: 'POST',
      url: '/v1/notifications',
      headers: { ...auth, 'content-type': 'application/vnd.docker.distribution.events.v1+json' },
      payload: c16Body,
    });
    assert.equal(res.statusCode, 503);
    assert.equal(res.headers['retry-after'], '7');
    const bad = await app.inject({
      method: 'POST',
      url: '/v1/logs',
      headers: { authorization: 'Bearer leaked-guess', 'content-type': 'text/plain' },
      payload: 'x',
    });
    assert.equal(bad.statusCode, 401);
    const all = lines.join('');
    assert.ok(all.includes('kafka unavailable'), 'the 503 is logged');
    // req.log is the receiver's own logger (no child per request): the request id is in the line itself.
    const warn = lines
      .map((l) => JSON.parse(l) as { msg?: string; reqId?: string })
      .find((l) => l.msg?.includes('kafka unavailable'));
    assert.equal(typeof warn?.reqId, 'string', 'the 503 log line carries reqId');
    assert.ok(!all.includes(TOKEN) && !all.includes('leaked-guess'), 'no token in logs');
    await app.close();
    await bus.close();
  });

  test('logs: NDJSON / plain lines become one message per non-blank line', async () => {
    const { app, bus, drain } = await setup();
    const body = '{"msg":"a"}\r\n\n  \ntime="2020-01-01T00:00:00Z" level=info msg="b"\n{"msg":"c"}';
    const res = await app.inject({
      method: 'POST',
      url: '/v1/logs',
      headers: { ...auth, 'content-type': 'application/x-ndjson' },
      payload: body,
    });
    assert.equal(res.statusCode, 202);
    assert.deepEqual(res.json(), { accepted: 3 });
    const msgs = await drain('l', 3);
    assert.deepEqual(
      msgs.map((m) => m.value.toString()).sort(),
      ['time="2020-01-01T00:00:00Z" level=info msg="b"', '{"msg":"a"}', '{"msg":"c"}'].sort(),
    );
    await app.close();
    await bus.close();
  });

  test('logs: every line carries a reference of its place in the body, the same when the body is sent again', async () => {
    const { app, bus, drain } = await setup();
    const body = '{"msg":"a"}\n{"msg":"a"}\ntime="2020-01-01T00:00:00Z" level=info msg="b"\n';
    for (let i = 0; i < 2; i++) {
      const res = await app.inject({
        method: 'POST',
        url: '/v1/logs',
        headers: { ...auth, 'content-type': 'text/plain' },
        payload: body,
      });
      assert.equal(res.statusCode, 202);
    }
    const refs = (await drain('l', 6)).map((m) => m.headers['regwatch.line_ref'] ?? '');
    assert.equal(refs.length, 6);
    const [first, second] = [refs.slice(0, 3), refs.slice(3)];
    assert.deepEqual(first, second, 'a resent body gives the same references');
    assert.equal(new Set(first).size, 3, 'identical lines of one body differ by their index');
    assert.match(first[0]!, /^[0-9a-f]{16}:0$/);
    await app.close();
    await bus.close();
  });

  test('an unknown route is 404 in the receiver error shape', async () => {
    const { app, bus } = await setup();
    const res = await app.inject({ method: 'POST', url: '/v1/notification?x=1', headers: auth, payload: '{}' });
    assert.equal(res.statusCode, 404);
    assert.deepEqual(res.json(), { error: 'NOT_FOUND', message: 'no route POST /v1/notification' });
    await app.close();
    await bus.close();
  });

  test('logs: a pretty-printed envelope inside a text body is one message, the lines around it one each', async () => {
    const { app, bus, drain } = await setup();
    const envelope = readFileSync(
      new URL('../../fixtures/registry-samples/02-dist-notif-v3-pull-manifest-by-digest.json', import.meta.url),
      'utf8',
    ).trimEnd();
    const body = `{"msg":"a"}\n${envelope}\ntime="2020-01-01T00:00:00Z" level=info msg="b"\n`;
    const res = await app.inject({
      method: 'POST',
      url: '/v1/logs',
      headers: { ...auth, 'content-type': 'text/plain' },
      payload: body,
    });
    assert.equal(res.statusCode, 202);
    assert.deepEqual(res.json(), { accepted: 3 });
    const msgs = (await drain('l', 3)).map((m) => m.value.toString());
    assert.equal(msgs.length, 3);
    assert.ok(msgs.includes(envelope), 'the envelope is one message, byte for byte');
    assert.ok(msgs.includes('{"msg":"a"}'));
    await app.close();
    await bus.close();
  });

  test('logs: an application/json body that is one document (a Quay API page) stays one message', async () => {
    const { app, bus, drain } = await setup();
    const quay = readFileSync(new URL('../../fixtures/registry-samples/37-quay-api-logs.json', import.meta.url));
    const res = await app.inject({
      method: 'POST',
      url: '/v1/logs',
      headers: { ...auth, 'content-type': 'application/json' },
      payload: quay,
    });
    assert.equal(res.statusCode, 202);
    assert.deepEqual(res.json(), { accepted: 1 });
    const msgs = await drain('l', 1);
    assert.equal(msgs.length, 1);
    assert.deepEqual(msgs[0]!.value, quay);
    // NDJSON sent as application/json is still one message per line.
    const nd = await app.inject({
      method: 'POST',
      url: '/v1/logs',
      headers: { ...auth, 'content-type': 'application/json' },
      payload: '{"msg":"a"}\n{"msg":"b"}\n',
    });
    assert.deepEqual(nd.json(), { accepted: 2 });
    await app.close();
    await bus.close();
  });

  test('Content-Encoding: gzip / deflate bodies are decompressed; other codings 415, corrupt 400, bombs 413', async () => {
    const { app, bus, drain } = await setup();
    const lines = '{"msg":"a"}\n{"msg":"b"}\n{"msg":"c"}\n';
    const post = (payload: Buffer, encoding: string, url = '/v1/logs', type = 'application/x-ndjson') =>
      app.inject({
        method: 'POST',
        url,
        headers: { ...auth, 'content-type': type, 'content-encoding': encoding },
        payload,
      });
    const gz = await post(gzipSync(lines), 'gzip');
    assert.equal(gz.statusCode, 202);
    assert.deepEqual(gz.json(), { accepted: 3 });
    const msgs = await drain('l', 3);
    assert.deepEqual(msgs.map((m) => m.value.toString()).sort(), ['{"msg":"a"}', '{"msg":"b"}', '{"msg":"c"}']);
    assert.equal((await post(deflateSync(lines), 'deflate')).statusCode, 202);
    const env = await post(gzipSync(c16Body), 'gzip', '/v1/notifications', 'application/json');
    assert.equal(env.statusCode, 202);
    const br = await post(Buffer.from(lines), 'br');
    assert.equal(br.statusCode, 415);
    assert.equal(br.json().error, 'UNSUPPORTED_MEDIA_TYPE');
    const corrupt = await post(Buffer.from('not gzip at all'), 'gzip');
    assert.equal(corrupt.statusCode, 400);
    assert.equal(corrupt.json().error, 'BODY_NOT_DECODABLE');
    // 1 MiB of zeros compresses to ~1 KiB: the limit (64 KiB) applies to the decompressed size.
    const bomb = await post(gzipSync(Buffer.alloc(1024 * 1024)), 'gzip');
    assert.equal(bomb.statusCode, 413);
    assert.equal(bomb.json().error, 'BODY_TOO_LARGE');
    await app.close();
    await bus.close();
  });

  test('rate limiting answers 429 once the window budget is used', async () => {
    const { app, bus } = await setup(undefined, { ...baseConfig, rateLimit: { max: 2, timeWindowMs: 60_000 } });
    const req = () =>
      app.inject({
        method: 'POST',
        url: '/v1/storage',
        headers: { ...auth, 'content-type': 'application/json' },
        payload: JSON.stringify(SAMPLE),
      });
    assert.equal((await req()).statusCode, 202);
    assert.equal((await req()).statusCode, 202);
    assert.equal((await req()).statusCode, 429);
    assert.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
    await app.close();
    await bus.close();
  });
});

describe('receiver: POST /v1/storage validation', () => {
  const post = (app: Awaited<ReturnType<typeof setup>>['app'], payload: unknown) =>
    app.inject({
      method: 'POST',
      url: '/v1/storage',
      headers: { ...auth, 'content-type': 'application/json' },
      payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
    });

  test('a valid sample → 202, published as sent with key = scope', async () => {
    const { app, bus, drain } = await setup();
    const body = JSON.stringify({ ...SAMPLE, source: 'api' });
    const res = await post(app, body);
    assert.equal(res.statusCode, 202);
    assert.deepEqual(res.json(), { accepted: 1 });
    const msgs = await drain('s', 1);
    assert.equal(msgs.length, 1);
    assert.equal(msgs[0]!.value.toString('utf8'), body);
    assert.equal(msgs[0]!.key?.toString(), 'fs:/var/lib/registry');
    assert.equal(msgs[0]!.headers['regwatch.route'], 'storage');
    await app.close();
    await bus.close();
  });

  test('epoch-ms timestamps and capacity 0 (unlimited) are valid', async () => {
    const { app, bus } = await setup();
    const res = await post(app, { ...SAMPLE, timestamp: 1_767_322_800_000, capacity_bytes: 0 });
    assert.equal(res.statusCode, 202);
    await app.close();
    await bus.close();
  });

  test('an array of valid samples → 202, one message per sample', async () => {
    const { app, bus, drain } = await setup();
    const arr = [SAMPLE, { ...SAMPLE, scope: 'harbor:library', used_bytes: 1 }];
    const res = await post(app, arr);
    assert.equal(res.statusCode, 202);
    assert.deepEqual(res.json(), { accepted: 2 });
    const msgs = await drain('s', 2);
    assert.deepEqual(
      msgs
        .map((m) => JSON.parse(m.value.toString()) as unknown)
        .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
      arr.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
    );
    await app.close();
    await bus.close();
  });

  const invalid: [string, unknown, RegExp[]][] = [
    ['negative bytes', { ...SAMPLE, used_bytes: -5 }, [/used_bytes: /]],
    ['missing timestamp and capacity', { used_bytes: 1, scope: 'x' }, [/timestamp: /, /capacity_bytes: /]],
    ['numbers as strings', { ...SAMPLE, used_bytes: '5', capacity_bytes: '10' }, [/used_bytes: /, /capacity_bytes: /]],
    ['a string', '"hello"', [/\(root\): /]],
    ['an empty object', {}, [/timestamp: /, /used_bytes: /, /capacity_bytes: /, /scope: /]],
    ['an empty array', [], [/empty array/]],
    ['an array with one bad item', [SAMPLE, { ...SAMPLE, scope: '' }], [/\[1\]\.scope: /]],
    ['a bad timestamp', { ...SAMPLE, timestamp: 'yesterday' }, [/timestamp: /]],
    // The receiver's clock is 2026-01-02T03:04:05Z here: a collector clock days ahead is refused.
    [
      'a timestamp two days ahead of the receiver',
      { ...SAMPLE, timestamp: '2026-01-04T04:00:00Z' },
      [/^timestamp: 2026-01-04T04:00:00\.000Z is more than 24 h ahead/],
    ],
    [
      'an array item in 2099 (epoch ms)',
      [SAMPLE, { ...SAMPLE, timestamp: Date.parse('2099-01-01T00:00:00Z') }],
      [/^\[1\]\.timestamp: 2099-01-01T00:00:00\.000Z is more than 24 h ahead.*check the collector's clock/],
    ],
  ];
  for (const [name, payload, problems] of invalid) {
    test(`400 for ${name}, every problem listed, nothing published`, async () => {
      const { app, bus, drain } = await setup();
      const res = await post(app, payload);
      assert.equal(res.statusCode, 400);
      const json = res.json<{ error: string; message: string; problems: string[] }>();
      assert.equal(json.error, 'STORAGE_SAMPLE_INVALID');
      assert.equal(json.problems.length >= problems.length, true, JSON.stringify(json.problems));
      for (const p of problems)
        assert.ok(
          json.problems.some((x) => p.test(x)),
          `${String(p)} in ${JSON.stringify(json.problems)}`,
        );
      for (const x of json.problems) assert.ok(json.message.includes(x));
      assert.equal((await drain('s', 0)).length, 0);
      await app.close();
      await bus.close();
    });
  }
});

describe('receiver helpers', () => {
  test('bearerMatches compares digests and rejects other schemes', () => {
    const d = [createHash('sha256').update('abc').digest(), createHash('sha256').update('xyz').digest()];
    assert.equal(bearerMatches('Bearer xyz', d), true);
    assert.equal(bearerMatches('bearer abc', d), true);
    assert.equal(bearerMatches('Basic abc', d), false);
    assert.equal(bearerMatches('Bearer abcd', d), false);
    assert.equal(bearerMatches(undefined, d), false);
  });
  test('splitLines keeps bytes and drops blank lines', () => {
    assert.deepEqual(
      splitLines(Buffer.from('a\r\nb\n\n c \n')).map((b) => b.toString()),
      ['a', 'b', ' c '],
    );
  });
});
