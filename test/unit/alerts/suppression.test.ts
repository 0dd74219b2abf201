import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, finding, harness, resolvedOf, T0 } from './fixtures.ts';
import { createSilence } from '../../../services/alerts/src/silences.ts';
import { createFakeClock } from '../../../services/alerts/src/clock.ts';
import { afterNotify } from '../../../services/alerts/src/throttle.ts';
import { AppError } from '../../../shared/src/errors.ts';

describe('silences', () => {
  test('a matching silence hides the alert; it is notified once the silence ends', async () => {
    const h = harness(BASE());
    await h.store.putSilence(
      createSilence(
        {
          matchers: ['rule=pull.volume_spike', 'entity=user:alice'],
          duration: '1h',
          createdBy: 'sec',
          comment: 'known job',
        },
        T0,
      ),
    );
    await h.step([finding(), finding({ entity: { type: 'user', id: 'bob' } })]);
    const [n] = await h.after(30_000);
    assert.deepEqual(
      n?.firing.map((a) => a.labels['entity_id']),
      ['bob'],
    );
    assert.deepEqual(await h.after(30 * 60_000), []);
    const [later] = await h.after(30 * 60_000);
    assert.deepEqual(later?.firing.map((a) => a.labels['entity_id']).sort(), ['alice', 'bob']);
  });

  test('an alert that fired and resolved while silenced still gets a resolved notice, marked as such', async () => {
    const h = harness(BASE());
    await h.store.putSilence(
      createSilence({ matchers: ['entity=user:alice'], duration: '1h', createdBy: 'sec', comment: 'c' }, T0),
    );
    const f = finding();
    await h.step([f]);
    assert.deepEqual(await h.after(30_000), []);
    await h.clock.advance(30_000);
    // Never notified yet and group_wait is over: the change flushes on this tick.
    const [r] = [...(await h.step([resolvedOf(f, T0 + 60_000)])), ...(await h.after(5 * 60_000))];
    assert.equal(r?.status, 'resolved');
    assert.equal(r?.resolved[0]?.mutedWhileFiring, true);
  });

  test('bad silences are rejected with every problem and a code', () => {
    assert.throws(
      () =>
        createSilence({ matchers: ['rule=~(', 'entity=~.*'], duration: 'forever', createdBy: 'x', comment: 'y' }, T0),
      (e: unknown) =>
        e instanceof AppError &&
        e.code === 'ALERTS_SILENCE_INVALID' &&
        /bad regex/.test(e.message) &&
        /bad duration/.test(e.message),
    );
    assert.throws(
      () => createSilence({ matchers: ['entity=~.*'], duration: '1h', createdBy: 'x', comment: 'y' }, T0),
      /match every alert/,
    );
  });
});

describe('inhibition (source_matchers, target_matchers, equal)', () => {
  const rules = `
inhibit_rules:
  - source_matchers: ['entity_type=storage', 'severity=critical']
    target_matchers: ['entity_type=storage', 'severity=~low|medium|high']
    equal: [entity_id]
  - source_matchers: ['rule=auth.bruteforce_ip']
    target_matchers: ['rule=auth.failed_login_user']
    equal: [source_ip]
`;
  test('a critical storage finding silences the warning for the same store only', async () => {
    const h = harness(BASE(rules).replace('group_by: [rule]', 'group_by: [rule, entity, severity]'));
    const crit = finding({
      rule: 'storage.exhaustion_forecast',
      severity: 'critical',
      entity: { type: 'storage', id: 'fs1' },
    });
    const warnSame = finding({
      rule: 'storage.usage_high',
      severity: 'medium',
      entity: { type: 'storage', id: 'fs1' },
    });
    const warnOther = finding({
      rule: 'storage.usage_high',
      severity: 'medium',
      entity: { type: 'storage', id: 'fs2' },
    });
    await h.step([crit, warnSame, warnOther]);
    const sent = await h.after(30_000);
    const got = sent.flatMap((n) => n.firing.map((a) => `${a.finding.rule}:${a.finding.entity.id}`)).sort();
    assert.deepEqual(got, ['storage.exhaustion_forecast:fs1', 'storage.usage_high:fs2']);
  });

  test('a brute-force finding on an IP silences per-user failed-login findings from that IP', async () => {
    const h = harness(BASE(rules));
    const bf = finding({ rule: 'auth.bruteforce_ip', entity: { type: 'ip', id: '198.51.100.9' } });
    const fromIt = finding({
      rule: 'auth.failed_login_user',
      entity: { type: 'user', id: 'alice' },
      evidence: {
        repositories: [],
        source_ips: [{ ip: '198.51.100.9', count: 50 }],
        user_agents: [],
        sample_event_ids: [],
      },
    });
    const elsewhere = finding({
      rule: 'auth.failed_login_user',
      entity: { type: 'user', id: 'bob' },
      evidence: {
        repositories: [],
        source_ips: [{ ip: '192.0.2.1', count: 9 }],
        user_agents: [],
        sample_event_ids: [],
      },
    });
    await h.step([bf, fromIt, elsewhere]);
    const sent = await h.after(30_000);
    const got = sent.flatMap((n) => n.firing.map((a) => `${a.finding.rule}:${a.finding.entity.id}`)).sort();
    assert.deepEqual(got, ['auth.bruteforce_ip:198.51.100.9', 'auth.failed_login_user:bob']);
  });
});

describe('time-based mutes', () => {
  const cfg = BASE(`
time_intervals:
  - name: ci-maintenance
    time_intervals:
      - weekdays: ['monday:friday']
        times: [{ start_time: '09:00', end_time: '10:00' }]
        location: Europe/Berlin
`).replace('  repeat_interval: 4h', '  repeat_interval: 4h\n  mute_time_intervals: [ci-maintenance]');
  test('no notification inside the window (Berlin time, DST aware); sent after it; resolved-while-muted still announced', async () => {
    // T0 = 09:00Z Monday = 10:00 Berlin (CET) → outside. Start at 08:10Z = 09:10 Berlin → inside.
    const h = harness(cfg, { clock: createFakeClock(T0 - 50 * 60_000) });
    const a = finding({ at: h.clock.now() });
    const b = finding({ entity: { type: 'user', id: 'bob' }, at: h.clock.now() });
    await h.step([a, b]);
    assert.deepEqual(await h.after(30_000), []);
    await h.step([resolvedOf(b, h.clock.now())]);
    assert.deepEqual(await h.after(20 * 60_000), []);
    await h.clock.advanceTo(T0 + 1000);
    const sent = await h.step();
    assert.equal(sent.length, 1);
    assert.deepEqual(
      sent[0]?.firing.map((x) => x.key),
      [a.id],
    );
    assert.deepEqual(
      sent[0]?.resolved.map((x) => [x.key, x.mutedWhileFiring]),
      [[b.id, true]],
    );
  });
});

describe('per-key throttle with exponential backoff (ElastAlert2 realert)', () => {
  test('afterNotify doubles the window while alerts keep coming, caps it, and resets after quiet', () => {
    let s = afterNotify(undefined, 0, 600_000, 2_400_000);
    assert.deepEqual(s, { until: 600_000, exponent: 0, lastAt: 0 });
    s = afterNotify(s, 700_000, 600_000, 2_400_000);
    assert.equal(s?.until, 700_000 + 1_200_000);
    s = afterNotify(s, 2_000_000, 600_000, 2_400_000);
    assert.equal(s?.exponent, 2);
    s = afterNotify(s, 4_500_000, 600_000, 2_400_000);
    assert.equal(s?.exponent, 2, 'capped at max_realert (40 min = 10 min · 2^2)');
    s = afterNotify(s, 4_500_000 + 10 * 2_400_000, 600_000, 2_400_000);
    assert.equal(s?.exponent, 0, 'quiet for long → back to the base window');
  });

  test('new findings of the same key inside the window are held back and counted', async () => {
    const h = harness(
      BASE('throttle: { realert: 10m, max_realert: 1h, key: [rule, entity] }')
        .replace('group_by: [rule]', 'group_by: [rule, entity]')
        .replace('group_wait: 30s', 'group_wait: 0s')
        .replace('group_interval: 5m', 'group_interval: 1m'),
    );
    const first = await h.step([finding()]);
    assert.equal(first.length, 1);
    await h.step([resolvedOf(h.sent[0]!.firing[0]!.finding, h.clock.now())]);
    await h.after(60_000); // resolved notice
    const held = await h.step([finding({ at: h.clock.now() })]);
    assert.deepEqual(held, [], 'second window of the same user within 10 min is held back');
    await h.clock.advanceTo(T0 + 11 * 60_000);
    const next = await h.step([finding({ at: h.clock.now() })]);
    assert.equal(next.length, 1);
    assert.equal(next[0]?.throttled, 1, 'the message says how many were held back');
  });
});
