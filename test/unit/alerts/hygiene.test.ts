import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Finding } from '../../../shared/src/model/finding.ts';
import { BASE, finding, harness, resolvedOf, T0 } from './fixtures.ts';
import { markdown, plainText } from '../../../services/alerts/src/render.ts';
import { createSilence } from '../../../services/alerts/src/silences.ts';
import { throttled } from '../../../services/alerts/src/throttle.ts';
import { webhookBody } from '../../../services/alerts/src/channels/webhook.ts';
import { EMBEDDED_ALERTS_CONFIG_TEXT, loadEmbeddedAlertsConfig } from '../../../services/embedded/src/pipeline.ts';

const MIN = 60_000;

const bruteForceIp = (ip: string, at: number, severity: Finding['severity'] = 'medium'): Finding =>
  finding({
    rule: 'auth.bruteforce_ip',
    entity: { type: 'ip', id: ip },
    severity,
    at,
    observed: { value: 20, unit: 'count' },
    message: `${ip}: 20 failed logins in 5 min`,
    evidence: { repositories: [], source_ips: [{ ip, count: 20 }], user_agents: [], sample_event_ids: [] },
  });

/** The same finding id re-emitted by the detector with another severity, detected at `at`. */
const withSeverity = (f: Finding, severity: Finding['severity'], at: number, value: number): Finding => ({
  ...f,
  severity,
  observed: { ...f.observed, value },
  detected_at: new Date(at).toISOString(),
});

describe('escalation: a severity increase of a notified alert is a change (notified at group_interval)', () => {
  // realert 1h on [rule, entity]: the throttle must not swallow the escalation.
  const cfg = BASE('throttle: { realert: 1h, key: [rule, entity] }');

  test('medium notified, the same finding id at high → exactly one new notification with high after group_interval', async () => {
    const h = harness(cfg);
    const f = bruteForceIp('198.51.100.9', T0);
    await h.step([f]);
    const [first] = await h.after(30_000);
    assert.equal(first?.firing[0]?.finding.severity, 'medium');

    await h.clock.advanceTo(T0 + 2 * MIN);
    assert.deepEqual(await h.step([withSeverity(f, 'high', T0 + 2 * MIN, 100)]), [], 'waits for group_interval');
    // group_interval (5m) counts from the last notification (T0 + 30 s).
    await h.clock.advanceTo(T0 + 30_000 + 5 * MIN - 1000);
    assert.deepEqual(await h.step(), []);
    const sent = await h.after(1000);
    assert.equal(sent.length, 1);
    const n = sent[0]!;
    assert.equal(n.createdAt, T0 + 30_000 + 5 * MIN);
    assert.equal(n.status, 'firing');
    assert.deepEqual(
      n.firing.map((a) => [a.key, a.finding.severity, a.escalatedFrom]),
      [[f.id, 'high', 'medium']],
    );
    const text = plainText(n, {});
    assert.match(text, /\[HIGH\] auth\.bruteforce_ip/);
    assert.match(text, /escalated from MEDIUM to HIGH/);
    assert.match(markdown(n, {}), /escalated from MEDIUM to HIGH/);
    assert.equal(JSON.parse(webhookBody(n, {}, 1 << 20)).alerts[0].escalated_from, 'medium');
    assert.equal(h.deliveries.filter((r) => r.oci_registry.alert.notification_key === n.key).length, 1);
    assert.equal(h.deliveries.at(-1)?.oci_registry.alert.severity, 'high');

    // Told once: no further notification until repeat_interval, and the repeat carries no escalation note.
    assert.deepEqual(await h.after(60 * MIN), []);
    const [repeat] = await h.after(4 * 3_600_000);
    assert.equal(repeat?.firing[0]?.finding.severity, 'high');
    assert.equal(repeat?.firing[0]?.escalatedFrom, undefined);
  });

  test('a severity decrease schedules nothing; rising back to the notified severity neither', async () => {
    const h = harness(cfg);
    const f = bruteForceIp('198.51.100.9', T0, 'high');
    await h.step([f]);
    assert.equal((await h.after(30_000)).length, 1);
    await h.clock.advance(MIN);
    await h.step([withSeverity(f, 'medium', h.clock.now(), 30)]);
    assert.deepEqual(await h.after(10 * MIN), [], 'a decrease is no change');
    await h.step([withSeverity(f, 'high', h.clock.now(), 90)]);
    assert.deepEqual(await h.after(10 * MIN), [], 'back to the severity already told is no escalation');
    // group_interval since the last notification is long over: the escalation goes out on this tick.
    const sent = [...(await h.step([withSeverity(f, 'critical', h.clock.now(), 500)])), ...(await h.after(5 * MIN))];
    assert.deepEqual(
      sent.map((n) => n.firing.map((a) => [a.finding.severity, a.escalatedFrom])),
      [[['critical', 'high']]],
    );
  });

  test('an escalation landing in another group (grouped by every label) passes the throttle of its key', async () => {
    const h = harness(
      BASE('throttle: { realert: 1h, key: [rule, entity] }').replace('group_by: [rule]', "group_by: ['...']"),
    );
    const f = bruteForceIp('198.51.100.9', T0);
    await h.step([f]);
    assert.equal((await h.after(30_000)).length, 1);
    await h.clock.advance(MIN);
    await h.step([withSeverity(f, 'high', h.clock.now(), 100)]);
    const sent = await h.after(30_000);
    assert.deepEqual(
      sent.map((n) => n.firing.map((a) => a.finding.severity)),
      [['high']],
      'the high alert (severity label differs → new group) is not held back by the medium one',
    );
    // A new medium of the same key within the window is still held back.
    await h.step([bruteForceIp('198.51.100.9', h.clock.now() + 1)]);
    assert.deepEqual(await h.after(30_000), []);
  });

  test('throttled(): held back inside the window unless more severe than the key last notified', () => {
    const st = { until: 1000, exponent: 0, lastAt: 0, severity: 'medium' as const };
    assert.equal(throttled(st, 500, 'medium'), true);
    assert.equal(throttled(st, 500, 'low'), true);
    assert.equal(throttled(st, 500, 'high'), false);
    assert.equal(throttled(st, 1000, 'medium'), false, 'window over');
    assert.equal(throttled({ until: 1000, exponent: 0, lastAt: 0 }, 500, 'critical'), true, 'older state');
  });
});

describe('fired and resolved before the first notification (inside group_wait) is still told', () => {
  test('firing + resolved within group_wait → one notification containing it, one delivery recorded', async () => {
    const h = harness(BASE());
    // A late-shipped log replays an attack from 3 h ago: both notices arrive within seconds.
    const f = bruteForceIp('198.51.100.9', T0 - 3 * 3_600_000);
    await h.step([f]);
    await h.clock.advance(2000);
    assert.deepEqual(await h.step([resolvedOf(f, h.clock.now())]), []);
    const sent = await h.after(28_000);
    assert.equal(sent.length, 1);
    const n = sent[0]!;
    assert.equal(n.status, 'resolved');
    assert.deepEqual(n.firing, []);
    assert.deepEqual(
      n.resolved.map((a) => [a.key, a.endedBeforeNotification, a.mutedWhileFiring]),
      [[f.id, true, undefined]],
    );
    assert.match(plainText(n, {}), /fired and ended before notification/);
    assert.match(markdown(n, {}), /fired and ended before notification/);
    assert.equal(JSON.parse(webhookBody(n, {}, 1 << 20)).alerts[0].ended_before_notification, true);
    assert.equal(h.deliveries.length, 1);
    assert.deepEqual(h.deliveries[0]?.oci_registry.alert.finding_id, [f.id]);
    assert.equal(h.deliveries[0]?.event.outcome, 'success');
    assert.deepEqual(await h.after(24 * 3_600_000), [], 'told once; the group is gone');
  });

  test('told even with send_resolved: false (it is the only notice of the attack)', async () => {
    const h = harness(BASE().replace('repeat_interval: 4h', 'repeat_interval: 4h\n  send_resolved: false'));
    const f = bruteForceIp('198.51.100.9', T0);
    await h.step([f, resolvedOf(f, T0 + 1000)]);
    const sent = await h.after(30_000);
    assert.deepEqual(
      sent.map((n) => n.resolved.map((a) => a.key)),
      [[f.id]],
    );
  });

  test('alongside firing alerts of the group it comes as a resolved entry of the same notification', async () => {
    const h = harness(BASE());
    const gone = bruteForceIp('198.51.100.9', T0);
    const still = bruteForceIp('203.0.113.50', T0);
    await h.step([gone, still]);
    await h.step([resolvedOf(gone, T0 + 1000)]);
    const [n, ...rest] = await h.after(30_000);
    assert.equal(rest.length, 0);
    assert.equal(n?.status, 'firing');
    assert.deepEqual(
      n?.firing.map((a) => a.key),
      [still.id],
    );
    assert.deepEqual(
      n?.resolved.map((a) => a.key),
      [gone.id],
    );
  });

  test('a silence still covers it: shown as fired-while-muted (send_resolved), not as a new attack', async () => {
    const h = harness(BASE());
    await h.store.putSilence(
      createSilence({ matchers: ['entity=ip:198.51.100.9'], duration: '1h', createdBy: 'sec', comment: 'pentest' }, T0),
    );
    const f = bruteForceIp('198.51.100.9', T0);
    await h.step([f, resolvedOf(f, T0 + 1000)]);
    const [n] = await h.after(30_000);
    assert.deepEqual(
      n?.resolved.map((a) => [a.key, a.mutedWhileFiring, a.endedBeforeNotification]),
      [[f.id, true, undefined]],
    );
  });

  test('the per-key throttle counts it like any new alert of the key', async () => {
    const h = harness(
      BASE('throttle: { realert: 1h, key: [rule] }').replace('group_by: [rule]', 'group_by: [rule, entity]'),
    );
    await h.step([bruteForceIp('198.51.100.1', T0)]);
    assert.equal((await h.after(30_000)).length, 1);
    const g = bruteForceIp('198.51.100.2', h.clock.now());
    await h.step([g, resolvedOf(g, h.clock.now() + 1)]);
    assert.deepEqual(await h.after(30_000), [], 'held back inside the realert window');
    await h.clock.advance(2 * 3_600_000);
    const [later] = await h
      .step([bruteForceIp('198.51.100.3', h.clock.now())])
      .then(async (s) => (s.length > 0 ? s : h.after(30_000)));
    assert.equal(later?.throttled, 1, 'the held-back one is reported with the next notification of the key');
  });
});

describe('embedded default alerts config: one password spray is one alert', () => {
  test('parses with the inhibit rule of the README example', async () => {
    const cfg = await loadEmbeddedAlertsConfig(undefined, {});
    assert.equal(cfg.inhibit_rules.length, 1);
    assert.deepEqual(cfg.inhibit_rules[0]?.equal, ['source_ip']);
  });

  test('auth.bruteforce_ip inhibits the 7 auth.bruteforce_user findings from the same IP', async () => {
    const h = harness(EMBEDDED_ALERTS_CONFIG_TEXT);
    const ip = '198.51.100.9';
    const users = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace'];
    const perUser = (id: string, src: string): Finding =>
      finding({
        rule: 'auth.bruteforce_user',
        entity: { type: 'user', id },
        severity: 'medium',
        message: `${id}: 12 failed logins in 5 min`,
        evidence: {
          repositories: [],
          source_ips: [
            { ip: src, count: 12 },
            { ip: '192.0.2.77', count: 1 },
          ],
          user_agents: [],
          sample_event_ids: [],
        },
      });
    await h.step([bruteForceIp(ip, T0), ...users.map((u) => perUser(u, ip)), perUser('heidi', '192.0.2.1')]);
    const sent = await h.after(10_000);
    const alerts = sent.flatMap((n) => n.firing.map((a) => `${a.finding.rule} ${a.finding.entity.id}`)).sort();
    assert.deepEqual(alerts, [`auth.bruteforce_ip ${ip}`, 'auth.bruteforce_user heidi']);
  });
});
