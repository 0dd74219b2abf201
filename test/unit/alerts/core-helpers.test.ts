import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { truncateBytes, truncateChars, utf8Bytes } from '../../../services/alerts/src/text.ts';
import { backoffDelay, sendWithRetry } from '../../../services/alerts/src/retry.ts';
import { createFakeClock } from '../../../services/alerts/src/clock.ts';
import { parseRetryAfter, classifyHttp } from '../../../services/alerts/src/http.ts';
import { parseAlertsConfig } from '../../../services/alerts/src/config.ts';
import { parseDuration } from '../../../services/alerts/src/duration.ts';
import { matchAll, parseMatcher } from '../../../services/alerts/src/matchers.ts';
import { AppError } from '../../../shared/src/errors.ts';
import { failed, ok, retryable, type Outcome } from '../../../shared/src/outcome.ts';
import { T0 } from './fixtures.ts';

describe('truncation never splits a character', () => {
  const isWellFormed = (s: string): boolean => (s as unknown as { isWellFormed(): boolean }).isWellFormed();
  test('surrogate pairs, ZWJ emoji and combining marks stay whole', () => {
    const s = 'ab👩‍👩‍👧‍👦cdé́́f'.repeat(20);
    for (let max = 1; max < 60; max++) {
      const t = truncateChars(s, max);
      assert.ok(t.length <= max, `length ${t.length} > ${max}`);
      assert.ok(isWellFormed(t));
      assert.ok(!t.includes('\u200d…'), 'never ends inside a ZWJ sequence');
      const b = truncateBytes(s, max + 3);
      assert.ok(utf8Bytes(b) <= max + 3);
      assert.ok(isWellFormed(b));
    }
  });
  test('property: any string, any limit → within limit, well-formed, a prefix plus ellipsis', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 200 }), fc.integer({ min: 1, max: 300 }), (s, max) => {
        const t = truncateChars(s, max);
        const b = truncateBytes(s, max);
        return (
          t.length <= Math.max(max, 1) &&
          isWellFormed(t) &&
          (t === s || s.startsWith(t.slice(0, -1))) &&
          utf8Bytes(b) <= Math.max(max, 3) &&
          isWellFormed(b)
        );
      }),
    );
  });
});

describe('retry wrapper', () => {
  const policy = { maxAttempts: 5, initialBackoffMs: 1000, maxBackoffMs: 8000, deadlineMs: 120_000 };
  test('full jitter stays within [base/2, base] and is capped', () => {
    for (let a = 1; a < 10; a++) {
      const base = Math.min(8000, 1000 * 2 ** (a - 1));
      assert.equal(
        backoffDelay(a, policy, () => 0),
        base / 2,
      );
      assert.equal(
        backoffDelay(a, policy, () => 1),
        base,
      );
    }
  });
  test('Retry-After is honoured as a floor; ok ends the loop', async () => {
    const clock = createFakeClock(T0);
    const outcomes: Outcome[] = [retryable('429', 30_000, 'rate_limited'), ok()];
    const times: number[] = [];
    const p = sendWithRetry(async () => (times.push(clock.now()), outcomes.shift()!), {
      policy,
      clock,
      random: () => 0,
    });
    await clock.advance(29_999);
    assert.equal(times.length, 1);
    await clock.advance(1);
    const r = await p;
    assert.deepEqual(times, [T0, T0 + 30_000]);
    assert.equal(r.outcome.kind, 'ok');
    assert.equal(r.attempts, 2);
  });
  test('permanent failures are not retried; retries stop at max attempts and at the deadline', async () => {
    const clock = createFakeClock(T0);
    let n = 0;
    const r1 = await sendWithRetry(async () => (n++, failed('bad creds', 'auth_rejected')), { policy, clock });
    assert.equal(n, 1);
    assert.equal(r1.exhausted, false);
    const p2 = sendWithRetry(async () => retryable('503'), { policy, clock, random: () => 1 });
    while (clock.nextTimer() !== undefined || n < 0) await clock.advance(10_000);
    await clock.advance(60_000);
    const r2 = await p2;
    assert.equal(r2.attempts, 5);
    assert.equal(r2.exhausted, true);
    const p3 = sendWithRetry(async () => retryable('429', 10 * 60_000), { policy, clock });
    const r3 = await p3;
    assert.equal(r3.attempts, 1, 'Retry-After beyond the deadline → give up now, not hang');
    assert.match(r3.outcome.kind === 'failed' ? r3.outcome.error : '', /deadline/);
  });
  test('a channel that throws is contained (retryable, no message leak)', async () => {
    const clock = createFakeClock(T0);
    const r = await sendWithRetry(
      async () => {
        throw new Error('https://hooks.slack.com/services/SECRET');
      },
      { policy: { ...policy, maxAttempts: 1 }, clock },
    );
    assert.doesNotMatch(JSON.stringify(r), /SECRET/);
  });
});

describe('HTTP classification', () => {
  test('Retry-After seconds and HTTP-date', () => {
    assert.equal(parseRetryAfter('30', T0), 30_000);
    assert.equal(parseRetryAfter(new Date(T0 + 5000).toUTCString(), T0), 5000);
    assert.equal(parseRetryAfter('soon', T0), undefined);
  });
  test('statuses map to ok / retryable / failed', () => {
    const r = (status: number, h: Record<string, string> = {}) => classifyHttp({ status, headers: h, body: 'x' }, T0);
    assert.equal(r(200).kind, 'ok');
    assert.deepEqual(r(429, { 'retry-after': '7' }), {
      kind: 'retryable',
      error: 'http 429: x',
      retryAfterMs: 7000,
      code: 'rate_limited',
    });
    assert.equal(r(503).kind, 'retryable');
    assert.deepEqual(r(401), failed('http 401: x', 'auth_rejected'));
    assert.equal(r(400).kind, 'failed');
    assert.equal(classifyHttp({ status: 0, headers: {}, body: 'ECONNREFUSED' }, T0).kind, 'retryable');
  });
});

describe('config', () => {
  test('every problem is listed with its path', () => {
    try {
      parseAlertsConfig(`
route: { receiver: r, group_wait: 5x, routes: [{ receiver: ghost }] }
receivers:
  - name: r
    channels: [{ type: slack, url: nope }, { type: bogus }]
inhibit_rules: [{ source_matchers: ['a=~('], target_matchers: ['b=1'] }]
`);
      assert.fail('should throw');
    } catch (e) {
      assert.ok(e instanceof AppError && e.code === 'CONFIG_INVALID');
      for (const frag of [
        'route.group_wait',
        'receivers.0.channels.0.url',
        'receivers.0.channels.1.type',
        'inhibit_rules.0.source_matchers.0',
        'route.routes.0.receiver: unknown receiver "ghost"',
      ])
        assert.match(e.message, new RegExp(frag.replace(/\./g, '\\.')));
    }
  });
  test('cross references are checked and ${VAR} comes from env', () => {
    assert.throws(
      () => parseAlertsConfig('route: { receiver: nobody }\nreceivers: [{ name: r, channels: [{ type: console }] }]'),
      /unknown receiver "nobody"/,
    );
    assert.throws(
      () =>
        parseAlertsConfig(
          'route: { receiver: r }\nreceivers: [{ name: r, channels: [{ type: slack, url: "${SLACK_URL}" }] }]',
          {},
        ),
      /SLACK_URL/,
    );
    const c = parseAlertsConfig(
      'route: { receiver: r }\nreceivers: [{ name: r, channels: [{ type: slack, url: "${SLACK_URL}" }] }]',
      { SLACK_URL: 'https://hooks.slack.com/services/x' },
    );
    assert.equal((c.receivers[0]?.channels[0] as unknown as { url: string }).url, 'https://hooks.slack.com/services/x');
  });
  test('durations and matchers', () => {
    assert.equal(parseDuration('1h30m'), 5_400_000);
    assert.equal(parseDuration('250ms'), 250);
    assert.equal(parseDuration('5'), undefined);
    const m = parseMatcher('severity=~"high|critical"');
    assert.ok(!('error' in m));
    assert.equal(matchAll([m], { severity: 'critical' }), true);
    assert.equal(matchAll([m], { severity: 'highish' }), false, 'regexes are anchored');
    assert.equal(matchAll([parseMatcher('team!=') as never], { team: 'x' }), true);
  });
});
