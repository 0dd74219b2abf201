import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Finding } from '../../../shared/src/model/finding.ts';
import { findingSchema } from '../../../shared/src/model/finding.ts';
import { buildFinding, type Detection } from '../../../services/detector/src/findings.ts';
import type { DetectorEngine } from '../../../services/detector/src/engine.ts';
import { BASE, harness, T0 } from '../alerts/fixtures.ts';
import { ev, engineWith } from './factory.ts';

/**
 * Window-rule findings through the alerts engine (services/alerts/src/engine.ts, memory store,
 * fake clock): the README's inhibit rule (bruteforce_ip silences bruteforce_user, `equal:
 * [source_ip]`) holds, escalation updates the alert in place, and the resolution is announced
 * once, after which nothing repeats.
 */

const WINDOW_RULES = ['auth.bruteforce_ip', 'auth.bruteforce_user'];
const INHIBIT = `
inhibit_rules:
  - source_matchers: ['rule=auth.bruteforce_ip']
    target_matchers: ['rule=auth.bruteforce_user']
    equal: [source_ip]
`;

/** Findings as the detector service publishes them (buildFinding, contract-checked). */
const findings = (ds: readonly Detection[], at: number): Finding[] =>
  ds.filter((d) => WINDOW_RULES.includes(d.rule)).map((d) => findingSchema.parse(buildFinding(d, { detectedAt: at })));

/** 200 failed logins from one IP against `root` (2 s apart), as the detector sees them. */
function attack(e: DetectorEngine): Finding[] {
  const out: Finding[] = [];
  for (let i = 0; i < 200; i++) {
    const ts = T0 + i * 2_000;
    out.push(...findings(e.process(ev(ts, 'login-failure', { ip: '203.0.113.77', attemptedUser: 'root' })), ts));
  }
  return out;
}

describe('window-rule findings in the alerts service', () => {
  test('README inhibit rule: the per-user brute force from the same IP is inhibited', async () => {
    const e = engineWith();
    const fs = attack(e);
    const user = fs.find((f) => f.rule === 'auth.bruteforce_user');
    assert.equal(user?.evidence.source_ips[0]?.ip, '203.0.113.77', 'source_ip label comes from the evidence');
    const h = harness(BASE(INHIBIT));
    await h.step(fs);
    const sent = await h.after(30_000);
    const rules = sent.flatMap((n) => n.firing.map((a) => a.finding.rule));
    assert.deepEqual([...new Set(rules)], ['auth.bruteforce_ip']);
  });

  test('escalation updates the alert, the resolution is announced once, then no repeats', async () => {
    const e = engineWith();
    const h = harness(BASE());
    const fs = attack(e).filter((f) => f.rule === 'auth.bruteforce_ip');
    assert.deepEqual(
      fs.map((f) => f.severity),
      ['medium', 'high'],
    );
    await h.step(fs);
    const [first] = await h.after(30_000);
    assert.equal(first?.firing.length, 1, 'one alert: both emissions share the finding id');
    assert.equal(first?.firing[0]?.finding.severity, 'high');
    // The watermark passes the quiet period (any later event, or the service's advance()).
    const end = T0 + 199 * 2_000 + 300_000 + 120_000 + 1_000;
    const resolved = findings(e.advance(end), end).filter((f) => f.rule === 'auth.bruteforce_ip');
    assert.deepEqual(
      resolved.map((f) => [f.status, f.id, f.observed.value]),
      [['resolved', fs[0]!.id, 200]],
    );
    // Ten minutes later (past group_interval since the last notification): announced at once.
    assert.deepEqual(await h.after(10 * 60_000), [], 'nothing new to say before the resolution');
    const [notice, ...more] = await h.step(resolved);
    assert.equal(more.length, 0);
    assert.equal(notice?.status, 'resolved');
    assert.equal(notice?.resolved[0]?.key, fs[0]!.id);
    assert.match(notice!.resolved[0]!.finding.message, /^Ended: 200 failed logins from 203\.0\.113\.77/);
    assert.deepEqual(await h.after(24 * 3_600_000), [], 'no repeat after the resolved notice');
  });
});
