import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ev, engineWith, runAll, history, rulesOf, restart, H, D } from './factory.ts';
import { severityRank } from '../../../shared/src/model/finding.ts';
import { hourOfWeek } from '../../../services/detector/src/time.ts';
import { rules } from '../../../services/detector/src/rules/index.ts';

const MON = Date.parse('2026-03-02T00:00:00Z'); // a Monday
const atLeast = (s: Parameters<typeof severityRank>[0], min: Parameters<typeof severityRank>[0]): boolean =>
  severityRank(s) >= severityRank(min);

describe('pull.volume_spike (table-driven)', () => {
  const base = () => history('alice', MON, 21, 10);
  const day22 = MON + 22 * D; // Tuesday of week 4
  const cases: { name: string; extra: () => ReturnType<typeof ev>[]; expect: 'none' | 'medium+' }[] = [
    {
      name: 'flat: the usual 10 pulls',
      extra: () =>
        Array.from({ length: 10 }, (_, i) =>
          ev(day22 + 10 * H + i * 60_000, 'manifest-pull', { user: 'alice', repo: 'team-a/api', ip: '10.1.0.5' }),
        ),
      expect: 'none',
    },
    {
      name: 'spike: 600 pulls in one hour',
      extra: () =>
        Array.from({ length: 600 }, (_, i) =>
          ev(day22 + 10 * H + i * 5_000, 'manifest-pull', { user: 'alice', repo: `team-a/r${i % 40}`, ip: '10.1.0.5' }),
        ),
      expect: 'medium+',
    },
    { name: 'dip: nothing at all', extra: () => [ev(day22 + 10 * H, 'ping', { user: 'alice' })], expect: 'none' },
    {
      name: 'zero variance: 13 instead of exactly 10',
      extra: () =>
        Array.from({ length: 13 }, (_, i) =>
          ev(day22 + 10 * H + i * 60_000, 'manifest-pull', { user: 'alice', repo: 'team-a/api', ip: '10.1.0.5' }),
        ),
      expect: 'none',
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const ds = rulesOf(runAll(engineWith(), [...base(), ...c.extra()]), 'pull.volume_spike').filter(
        (d) => d.windowStart >= day22,
      );
      if (c.expect === 'none')
        assert.deepEqual(
          ds.map((d) => d.message),
          [],
        );
      else {
        assert.ok(ds.length >= 1);
        assert.ok(atLeast(ds[0]!.severity, 'medium'), ds[0]!.severity);
        assert.equal(ds[0]!.labels?.phase, 'early', 'fires before the hour closes');
        const final = ds[ds.length - 1]!;
        assert.match(final.message, /pulled 600 images .* typical 10/);
        assert.equal(final.observed.value, 600);
        assert.equal(final.observed.unit, 'count');
      }
    });
  }

  test('too little history: a new identity pulling a normal amount is not an anomaly', () => {
    const others = ['bob', 'carol', 'dave'].flatMap((u) => history(u, MON, 10, 10));
    const newHire = Array.from({ length: 15 }, (_, i) =>
      ev(MON + 9 * D + 10 * H + i * 60_000, 'manifest-pull', { user: 'newbie', repo: 'team-a/api' }),
    );
    assert.deepEqual(
      rulesOf(
        runAll(
          engineWith(),
          [...others, ...newHire].sort((a, b) => a.ts - b.ts),
        ),
        'pull.volume_spike',
      ),
      [],
    );
  });

  test('a new identity pulling far beyond the population fires (population fallback)', () => {
    const others = ['bob', 'carol', 'dave'].flatMap((u) => history(u, MON, 10, 10));
    const thief = Array.from({ length: 900 }, (_, i) =>
      ev(MON + 9 * D + 10 * H + i * 3_000, 'manifest-pull', { user: 'stranger', repo: `x/r${i % 90}` }),
    );
    const ds = rulesOf(
      runAll(
        engineWith(),
        [...others, ...thief].sort((a, b) => a.ts - b.ts),
      ),
      'pull.volume_spike',
    );
    assert.equal(ds[0]?.labels?.basis, 'population');
    assert.ok(atLeast(ds[0]!.severity, 'medium'));
  });

  test('release day: many identities surging together is one info finding, individual findings low', () => {
    const users = Array.from({ length: 12 }, (_, i) => `dev${i}`);
    const hist = users.flatMap((u) => history(u, MON, 21, 10));
    const surge = users.flatMap((u) =>
      Array.from({ length: 60 }, (_, i) =>
        ev(MON + 22 * D + 10 * H + i * 50_000, 'manifest-pull', { user: u, repo: 'team-a/api' }),
      ),
    );
    const ds = runAll(
      engineWith(),
      [...hist, ...surge].sort((a, b) => a.ts - b.ts),
    ).filter((d) => d.windowStart >= MON + 22 * D);
    assert.ok(rulesOf(ds, 'pull.population_surge_pulls').length === 1);
    for (const d of rulesOf(ds, 'pull.volume_spike'))
      assert.ok(!atLeast(d.severity, 'medium'), `${d.entity.id} ${d.severity}`);
  });

  test('first pull of a cold identity before the population exists: no finding at hour close', () => {
    // Regression: the early-fire cache stored Infinity for "no threshold yet", which hour close
    // read as "already fired early" and reported 1 pull against a threshold of 50. Here admin
    // pulls just after 05:00, before hour 04 (25 identities) has closed into the population.
    const e = engineWith();
    const earlier = Array.from({ length: 25 }, (_, i) =>
      ev(MON + 4 * H + 30 * 60_000 + i * 1000, 'manifest-pull', { user: `u${i}`, repo: 'team-a/api' }),
    );
    const first = ev(MON + 5 * H + 10_000, 'manifest-pull', { user: 'admin', repo: 'library/busybox' });
    const later = [5 * H + 40 * 60_000, 7 * H].map((t) => ev(MON + t, 'ping', { user: 'u1' }));
    assert.deepEqual(rulesOf(runAll(e, [...earlier, first, ...later]), 'pull.volume_spike'), []);
  });

  test('late events: a replayed backlog lands in its own hour and never looks like a burst', () => {
    const e = engineWith();
    const hist = history('alice', MON, 21, 10);
    // Day 22: hour 10 is missing live (outage), the next hours are live; then hour 10 is replayed.
    const live = [11, 12, 13].flatMap((h) =>
      Array.from({ length: 10 }, (_, i) =>
        ev(MON + 22 * D + h * H + i * 60_000, 'manifest-pull', { user: 'alice', repo: 'team-a/api', ip: '10.1.0.5' }),
      ),
    );
    const backlog = Array.from({ length: 10 }, (_, i) =>
      ev(MON + 22 * D + 10 * H + i * 60_000, 'manifest-pull', { user: 'alice', repo: 'team-a/api', ip: '10.1.0.5' }),
    );
    const ds = runAll(e, [...hist, ...live, ...backlog]);
    assert.ok(e.stats.lateEvents >= 10);
    assert.deepEqual(
      rulesOf(ds, 'pull.volume_spike').filter((d) => d.windowStart >= MON + 22 * D),
      [],
    );
  });
});

describe('pull.bytes_spike and repo.crawl (table-driven)', () => {
  const day22 = MON + 22 * D + 10 * H;
  const blobs = (n: number, size: number, repos = 2) =>
    Array.from({ length: n }, (_, i) =>
      ev(day22 + i * 20_000, 'blob-pull', { user: 'alice', repo: `team-a/r${i % repos}`, ip: '10.1.0.5', bytes: size }),
    );
  const hist = () => [
    ...history('alice', MON, 21, 10),
    ...history('alice', MON, 21, 2).map((e) => ({
      ...e,
      action: 'blob-pull' as const,
      imagePull: false,
      bytes: 50_000_000,
      id: `${e.id}b`,
    })),
  ];
  const cases: { name: string; extra: () => ReturnType<typeof ev>[]; rule: string; expect: boolean }[] = [
    {
      name: 'bytes flat: the usual 2 × 50 MB',
      extra: () => blobs(2, 50_000_000),
      rule: 'pull.bytes_spike',
      expect: false,
    },
    { name: 'bytes spike: 60 × 1.5 GB', extra: () => blobs(60, 1_500_000_000), rule: 'pull.bytes_spike', expect: true },
    { name: 'bytes dip: nothing', extra: () => [], rule: 'pull.bytes_spike', expect: false },
    { name: 'crawl flat: 2 repositories', extra: () => blobs(10, 1000, 2), rule: 'repo.crawl', expect: false },
    {
      name: 'crawl spike: 80 repositories in an hour',
      extra: () => blobs(80, 1000, 80),
      rule: 'repo.crawl',
      expect: true,
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const ds = rulesOf(
        runAll(
          engineWith(),
          [...hist(), ...c.extra()].sort((a, b) => a.ts - b.ts),
        ),
        c.rule,
      ).filter((d) => d.windowStart >= MON + 22 * D);
      assert.equal(ds.length > 0, c.expect, ds.map((d) => d.message).join('\n'));
      if (c.expect) assert.ok(atLeast(ds[ds.length - 1]!.severity, 'medium'));
    });
  }
});

describe('window rules', () => {
  const T = Date.parse('2026-03-10T12:00:00Z');
  /** Firing detections only (window rules also resolve their bursts at flush). */
  const firing = (ds: ReturnType<typeof rulesOf>) => ds.filter((d) => d.status !== 'resolved');
  test('auth.bruteforce_ip: 25 failed logins in 2 minutes fire once, resolve once at the end', () => {
    const evs = Array.from({ length: 25 }, (_, i) =>
      ev(T + i * 5_000, 'login-failure', { ip: '203.0.113.9', attemptedUser: `u${i % 7}` }),
    );
    const ds = rulesOf(runAll(engineWith(), evs), 'auth.bruteforce_ip');
    assert.deepEqual(
      ds.map((d) => [d.status ?? 'firing', d.observed.value]),
      [
        ['firing', 20],
        ['resolved', 25],
      ],
    );
    assert.equal(ds[0]!.entity.id, '203.0.113.9');
    assert.match(ds[0]!.message, /20 failed logins from 203\.0\.113\.9/);
  });
  test('auth.bruteforce_ip: a burst arriving out of order (two partitions) → one finding whose window covers every counted event', () => {
    const evs = Array.from({ length: 25 }, (_, i) =>
      ev(T + i * 5_000, 'login-failure', { ip: '203.0.113.9', attemptedUser: `u${i % 7}` }),
    );
    // Interleave the two halves as two partitions read alternately would.
    const late = evs.slice(0, 12);
    const early = evs.slice(12);
    const mixed = early.flatMap((e, i) => (late[i] ? [e, late[i]] : [e]));
    const ds = firing(rulesOf(runAll(engineWith(), mixed), 'auth.bruteforce_ip'));
    assert.equal(ds.length, 1);
    const d = ds[0]!;
    assert.equal(d.observed.value, 20);
    const counted = mixed.slice(0, mixed.indexOf(mixed.find((_, i) => i === 19)!) + 1);
    const minTs = Math.min(...counted.map((e) => e.ts));
    const maxTs = Math.max(...counted.map((e) => e.ts));
    assert.equal(d.windowStart, Math.floor(minTs / 1000) * 1000);
    assert.equal(d.windowEnd, maxTs);
  });
  test('a 401 challenge is not a failure', () => {
    const evs = Array.from({ length: 60 }, (_, i) =>
      ev(T + i * 1_000, 'auth-challenge', { ip: '203.0.113.9', status: 401 }),
    );
    assert.deepEqual(rulesOf(runAll(engineWith(), evs), 'auth.bruteforce_ip'), []);
  });
  test('failures spread over hours stay below the threshold', () => {
    const evs = Array.from({ length: 60 }, (_, i) => ev(T + i * 10 * 60_000, 'login-failure', { ip: '203.0.113.9' }));
    assert.deepEqual(rulesOf(runAll(engineWith(), evs), 'auth.bruteforce_ip'), []);
  });
  test('auth.bruteforce_user: one user name from many IPs', () => {
    const evs = Array.from({ length: 20 }, (_, i) =>
      ev(T + i * 20_000, 'login-failure', { ip: `198.51.100.${i}`, attemptedUser: 'admin' }),
    );
    const ds = firing(rulesOf(runAll(engineWith(), evs), 'auth.bruteforce_user'));
    assert.equal(ds.length, 1);
    assert.equal(ds[0]!.severity, 'high');
  });
  test('registry.enumeration: tags-list over 40 repositories', () => {
    const evs = Array.from({ length: 40 }, (_, i) =>
      ev(T + i * 3_000, 'tags-list', { user: 'mallory', repo: `ns/r${i}` }),
    );
    assert.equal(firing(rulesOf(runAll(engineWith(), evs), 'registry.enumeration')).length, 1);
  });
  test('access.denied_probing needs several repositories', () => {
    const one = Array.from({ length: 30 }, (_, i) => ev(T + i * 3_000, 'access-denied', { user: 'm', repo: 'ns/a' }));
    const many = Array.from({ length: 30 }, (_, i) =>
      ev(T + i * 3_000, 'access-denied', { user: 'm', repo: `ns/r${i}` }),
    );
    assert.equal(rulesOf(runAll(engineWith(), one), 'access.denied_probing').length, 0);
    // Fires at 10 denials on 10 repositories (medium), escalates once at 20 repositories (high).
    assert.deepEqual(
      firing(rulesOf(runAll(engineWith(), many), 'access.denied_probing')).map((d) => d.severity),
      ['medium', 'high'],
    );
  });
  test('delete.burst', () => {
    const evs = Array.from({ length: 30 }, (_, i) =>
      ev(T + i * 3_000, 'manifest-delete', { user: 'm', repo: `ns/r${i}` }),
    );
    const ds = firing(rulesOf(runAll(engineWith(), evs), 'delete.burst'));
    assert.equal(ds.length, 1);
    assert.ok(atLeast(ds[0]!.severity, 'high'));
  });
  test('C24: a restart that redelivers the same events does not double count', () => {
    const cfg = {
      rules: { params: { 'access.denied_probing': { threshold: 8, windowSeconds: 900, minDistinct: 0 } } },
    };
    const denied = [30, 90, 150, 210, 270].map((s, i) =>
      ev(Date.parse('2026-03-10T10:00:00Z') + s * 1000, 'access-denied', {
        user: 'user-u',
        repo: 'ns/app',
        id: `d${i + 1}`,
      }),
    );
    const e1 = engineWith(cfg);
    assert.deepEqual(rulesOf(runAll(e1, denied, false), 'access.denied_probing'), []);
    const e2 = restart(e1, cfg);
    const again = runAll(e2, denied, false);
    assert.deepEqual(rulesOf(again, 'access.denied_probing'), []);
    assert.equal(e2.stats.duplicates, 5);
  });
});

describe('first-seen, tags, dormant, unusual hours', () => {
  const hist = (u: string, o: Parameters<typeof history>[4] = {}) => history(u, MON, 21, 4, o);
  const day22 = MON + 22 * D + 10 * H;
  test('robot token from a new network is high; from a known one nothing', () => {
    const h = hist('robot$ci-deploy', { kind: 'robot', ip: '10.9.0.4', ua: 'containerd/1.7.2' });
    const known = ev(day22, 'manifest-pull', {
      user: 'robot$ci-deploy',
      kind: 'robot',
      ip: '10.9.0.8',
      repo: 'team-a/api',
      ua: 'containerd/1.7.2',
    });
    const fresh = ev(day22 + 60_000, 'manifest-pull', {
      user: 'robot$ci-deploy',
      kind: 'robot',
      ip: '185.220.101.7',
      repo: 'team-a/api',
      ua: 'containerd/1.7.2',
    });
    const ds = rulesOf(runAll(engineWith(), [...h, known, fresh]), 'identity.new_network');
    assert.equal(ds.length, 1);
    assert.equal(ds[0]!.severity, 'high');
  });
  test('robot with an interactive client (curl) is high', () => {
    const h = hist('robot$ci-deploy', { kind: 'robot', ua: 'containerd/1.7.2' });
    const ds = rulesOf(
      runAll(engineWith(), [
        ...h,
        ev(day22, 'manifest-pull', {
          user: 'robot$ci-deploy',
          kind: 'robot',
          ip: '10.1.0.5',
          repo: 'team-a/api',
          ua: 'curl/8.5.0',
        }),
      ]),
      'robot.new_client',
    );
    assert.equal(ds[0]?.severity, 'high');
  });
  test('first access to another team’s namespace is medium', () => {
    const cfg = {
      settings: {
        teams: [
          { name: 'a', members: '^alice$', namespaces: ['team-a'] },
          { name: 'b', members: '^bob$', namespaces: ['team-b'] },
        ],
      },
    };
    const ds = rulesOf(
      runAll(engineWith(cfg), [
        ...hist('alice'),
        ev(day22, 'manifest-pull', { user: 'alice', repo: 'team-b/secrets', ip: '10.1.0.5' }),
      ]),
      'access.first_seen_namespace',
    );
    assert.equal(ds[0]?.severity, 'medium');
  });
  test('first-seen rules judge at the event’s own time: an event older than all history (late, replayed) is not "new"', () => {
    const old = MON - 2000 * D; // years before everything known about alice
    const ds = runAll(engineWith(), [
      ...hist('alice'),
      ev(old, 'manifest-pull', { user: 'alice', repo: 'team-z/legacy', ip: '192.0.2.77' }),
      ev(day22, 'manifest-pull', { user: 'alice', repo: 'team-q/new', ip: '10.1.0.5' }),
    ]);
    const ns = rulesOf(ds, 'access.first_seen_namespace');
    assert.deepEqual(
      ns.map((d) => d.labels?.['namespace']),
      ['team-q'],
      'the 2020-days-old pull is not judged; the current one is',
    );
    assert.equal(rulesOf(ds, 'access.first_seen_network').length, 0, 'the old IP is not a new network now');
  });
  test('released tag re-pointed: high for a person, medium for CI, nothing for latest', () => {
    const T = Date.parse('2026-03-10T12:00:00Z');
    const push = (t: number, user: string, tag: string, digest: string) =>
      ev(t, 'manifest-push', { user, repo: 'team-a/api', tag, digest: `sha256:${digest.repeat(64).slice(0, 64)}` });
    const ds = runAll(engineWith(), [
      push(T, 'ci-bot', 'v1.2.3', 'a'),
      push(T + 1000, 'mallory', 'v1.2.3', 'b'),
      push(T + 2000, 'ci-bot', 'v1.2.3', 'c'),
      push(T + 3000, 'ci-bot', 'latest', 'a'),
      push(T + 4000, 'ci-bot', 'latest', 'b'),
    ]);
    assert.deepEqual(
      rulesOf(ds, 'tag.released_repointed').map((d) => d.severity),
      ['high', 'medium'],
    );
  });
  test('dormant identity reactivated after 35 days', () => {
    const h = history('old-svc', MON, 5, 2);
    const ds = rulesOf(
      runAll(engineWith(), [...h, ev(MON + 40 * D + 10 * H, 'manifest-pull', { user: 'old-svc', repo: 'team-a/api' })]),
      'identity.dormant_reactivated',
    );
    assert.equal(ds.length, 1);
    assert.ok(ds[0]!.observed.value >= 35);
  });
  test('activity at 03:00 for a 9-to-5 identity is unusual; at 10:00 it is not', () => {
    const night = Array.from({ length: 12 }, (_, i) =>
      ev(MON + 22 * D + 3 * H + i * 60_000, 'manifest-pull', { user: 'alice', repo: 'team-a/api', ip: '10.1.0.5' }),
    );
    const ds = rulesOf(runAll(engineWith(), [...hist('alice'), ...night]), 'activity.unusual_hour');
    // Fires at the 5th request (seconds of latency), then at the hour's close with the final count (same window → same id).
    assert.deepEqual(
      ds.map((d) => [d.labels?.phase ?? 'final', d.observed.value]),
      [
        ['early', 5],
        ['final', 12],
      ],
    );
    const day = night.map((e) => ({ ...e, ts: e.ts + 7 * H, id: `${e.id}x` }));
    assert.equal(rulesOf(runAll(engineWith(), [...hist('alice'), ...day]), 'activity.unusual_hour').length, 0);
  });
  test('DST change day: 09:00–17:00 Berlin activity stays usual across 2026-03-29 when the zone is configured', () => {
    // Local 09–17 in Berlin: UTC 08–16 before 29 March (CET), 07–15 after (CEST).
    const start = Date.parse('2026-03-09T00:00:00Z');
    const evs = [];
    for (let d = 0; d < 28; d++) {
      const day = start + d * D;
      const wd = new Date(day).getUTCDay();
      if (wd === 0 || wd === 6) continue;
      const utcStart = day >= Date.parse('2026-03-29T01:00:00Z') ? 7 : 8;
      for (let h = utcStart; h < utcStart + 8; h++)
        for (let i = 0; i < 6; i++)
          evs.push(
            ev(day + h * H + i * 600_000, 'manifest-pull', { user: 'berlin-dev', repo: 'team-a/api', ip: '10.1.0.5' }),
          );
    }
    const cfg = { settings: { zoneGroups: [{ pattern: '^berlin-', zone: 'Europe/Berlin' }] } };
    assert.deepEqual(rulesOf(runAll(engineWith(cfg), evs), 'activity.unusual_hour'), []);
    assert.equal(hourOfWeek(Date.parse('2026-03-27T08:00:00Z'), 'Europe/Berlin') % 24, 9);
    assert.equal(hourOfWeek(Date.parse('2026-03-30T07:00:00Z'), 'Europe/Berlin') % 24, 9);
    assert.equal(hourOfWeek(Date.parse('2026-03-29T01:30:00Z'), 'Europe/Berlin'), 6 * 24 + 3); // 01:59:59 CET → 03:00 CEST
  });
});

describe('SLO rules', () => {
  const T = Date.parse('2026-03-10T12:00:00Z');
  test('pull success below 99.9 %', () => {
    const evs = Array.from({ length: 1000 }, (_, i) =>
      ev(T + i * 3_000, 'manifest-pull', {
        user: `u${i % 9}`,
        repo: 'a/b',
        status: i % 100 === 0 ? 503 : 200,
        durationMs: 20,
      }),
    );
    const ds = rulesOf(runAll(engineWith(), evs), 'slo.pull_success_rate');
    assert.equal(ds.length, 1);
    assert.equal(ds[0]!.observed.value, 0.99);
  });
  test('pull latency P99 above 500 ms; fast hour is fine', () => {
    const slow = Array.from({ length: 200 }, (_, i) =>
      ev(T + i * 10_000, 'manifest-pull', { user: 'u', repo: 'a/b', durationMs: i % 20 === 0 ? 2000 : 30 }),
    );
    const fast = Array.from({ length: 200 }, (_, i) =>
      ev(T + i * 10_000, 'manifest-pull', { user: 'u', repo: 'a/b', durationMs: 30 }),
    );
    assert.equal(rulesOf(runAll(engineWith(), slow), 'slo.latency_p99').length, 1);
    assert.equal(rulesOf(runAll(engineWith(), fast), 'slo.latency_p99').length, 0);
  });
});

describe('rule registry contract', () => {
  for (const [id, r] of rules) {
    test(`${id}: params defaults parse and an empty run is quiet`, () => {
      assert.doesNotThrow(() => r.paramsSchema.parse({}));
      assert.match(id, /^[a-z0-9_]+(\.[a-z0-9_]+)+$/);
      assert.ok(r.description.length > 10);
    });
  }
});
