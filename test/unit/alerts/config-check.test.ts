import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppError } from '../../../shared/src/errors.ts';
import { parseAlertsConfig, unknownRuleMatcherWarnings } from '../../../services/alerts/src/config.ts';
import { consoleChannel } from '../../../services/alerts/src/channels/console.ts';
import { rules } from '../../../services/detector/src/rules/index.ts';
import { finding } from './fixtures.ts';

const root = join(import.meta.dirname, '..', '..', '..');

function run(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      'sh',
      [join(root, 'bin', 'regwatch'), ...args],
      { cwd: root, env: { ...process.env, ...env } },
      (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

/** The problem lines of a CONFIG_INVALID error (`path: message`, without the `  - ` bullet). */
function problems(text: string): string[] {
  try {
    parseAlertsConfig(text);
  } catch (e) {
    assert.ok(e instanceof AppError && e.code === 'CONFIG_INVALID', String(e));
    const lines = e.message.split('\n');
    assert.match(lines[0] ?? '', new RegExp(`\\(${lines.length - 1} problem\\(s\\)\\)`), 'the count matches the list');
    return lines.slice(1).map((l) => l.replace(/^ {2}- /, ''));
  }
  return assert.fail('should throw');
}

describe('alerts config: reference and uniqueness checks', () => {
  test('duplicate receiver names are listed together with shape errors and other reference problems', () => {
    const p = problems(`
route: { receiver: sec, group_wait: 5x, routes: [{ receiver: ghost, mute_time_intervals: [nope] }] }
receivers:
  - name: sec
    channels: [{ type: slack, url: nope }]
  - name: sec
    channels: [{ type: bogus }]
time_intervals:
  - { name: w, time_intervals: [{ weekdays: [saturday] }] }
  - { name: w, time_intervals: [{ weekdays: [sunday] }] }
delivery: { health_receiver: nobody }
`);
    for (const line of [
      'route.group_wait: not a duration: "5x" (use e.g. 30s, 5m, 4h, 1d)',
      'receivers.1.name: duplicate receiver "sec"',
      'time_intervals.1.name: duplicate time interval "w"',
      'route.routes.0.receiver: unknown receiver "ghost"',
      'route.routes.0.mute_time_intervals.0: unknown time interval "nope"',
      'delivery.health_receiver: unknown receiver "nobody"',
    ])
      assert.ok(p.includes(line), `missing "${line}" in:\n${p.join('\n')}`);
    assert.ok(p.some((l) => l.startsWith('receivers.0.channels.0.url:')));
    assert.ok(p.some((l) => l.startsWith('receivers.1.channels.0.type:')));
    assert.equal(p.length, 8, p.join('\n'));
    assert.equal(new Set(p).size, p.length, 'no problem is listed twice');
  });

  test('with otherwise valid shapes every reference problem is listed once', () => {
    const p = problems(`
route: { receiver: sec, routes: [{ receiver: ghost, active_time_intervals: [nope] }] }
receivers:
  - { name: sec, fallback: sec, channels: [{ type: console }] }
  - { name: sec, channels: [{ type: console }] }
  - { name: mail, fallback: missing, channels: [{ type: console }] }
`);
    assert.deepEqual(p.sort(), [
      'receivers.0.fallback: a receiver cannot fall back to itself',
      'receivers.1.name: duplicate receiver "sec"',
      'receivers.2.fallback: unknown receiver "missing"',
      'route.routes.0.active_time_intervals.0: unknown time interval "nope"',
      'route.routes.0.receiver: unknown receiver "ghost"',
    ]);
  });

  test('root route checks and value checks still apply', () => {
    const p = problems(`
route: { matchers: ['severity=high'] }
receivers: [{ name: r, channels: [{ type: console }] }]
delivery: { deadline: 20m, lease: 10m }
`);
    assert.deepEqual(p.sort(), [
      'delivery.lease: lease must be longer than deadline',
      'route.matchers: the root route must not have matchers',
      'route.receiver: the root route needs a receiver',
    ]);
  });
});

describe('alerts config: matchers on unknown rule ids are warnings', () => {
  const known = ['auth.bruteforce_ip', 'auth.bruteforce_user', 'pull.volume_spike', 'storage.exhaustion'];
  test('=, !=, regexes and alertname in routes (nested) and inhibit rules', () => {
    const cfg = parseAlertsConfig(`
route:
  receiver: r
  routes:
    - matchers: ['rule=pull.volume_spike']
      receiver: r
      routes: [{ matchers: ['alertname=pull.volume_spik'], receiver: r }]
    - { matchers: ['rule=~"auth\\\\..*"', 'severity=critical'], receiver: r }
    - { matchers: ['rule=~"nothing.*"'], receiver: r }
receivers: [{ name: r, channels: [{ type: console }] }]
inhibit_rules:
  - { source_matchers: ['rule=auth.bruteforce_ip'], target_matchers: ['rule=auth.failed_login_user'], equal: [source_ip] }
  - { source_matchers: ['rule=storage.exhaustion'], target_matchers: ['rule!=storage.exhaustio', 'rule!~"pull\\\\..*"'] }
`);
    const w = unknownRuleMatcherWarnings(cfg, known);
    assert.equal(w.length, 4, w.join('\n'));
    assert.match(
      w[0] ?? '',
      /^route\.routes\.0\.routes\.0\.matchers\.0: alertname="pull\.volume_spik" names no detector rule id \(pull\.\* ids: pull\.volume_spike\)$/,
    );
    assert.match(
      w[1] ?? '',
      /^route\.routes\.2\.matchers\.0: rule=~"nothing\.\*" matches no detector rule id \(known ids: auth\.bruteforce_ip, /,
    );
    assert.equal(
      w[2],
      'inhibit_rules.0.target_matchers.0: rule="auth.failed_login_user" names no detector rule id (auth.* ids: auth.bruteforce_ip, auth.bruteforce_user)',
    );
    assert.match(
      w[3] ?? '',
      /^inhibit_rules\.1\.target_matchers\.0: rule!="storage\.exhaustio" names no detector rule id/,
    );
  });

  test('the example config in services/alerts/README.md is valid and names only real detector rules', async () => {
    const readme = await readFile(join(root, 'services', 'alerts', 'README.md'), 'utf8');
    const example = /## Example config\s+```yaml\n([\s\S]*?)\n```/.exec(readme)?.[1];
    assert.ok(example, 'README has an example config');
    const cfg = parseAlertsConfig(example, {
      SLACK_SECURITY_WEBHOOK: 'https://hooks.slack.com/services/T0/B0/x',
      SMTP_PASSWORD: 'secret',
      PD_ROUTING_KEY: '0123456789abcdef0123456789abcdef',
      TEAMS_WORKFLOW_URL: 'https://example.logic.azure.com/workflows/x',
    });
    assert.ok(cfg.inhibit_rules.some((r) => r.target_matchers.some((m) => m.value === 'auth.bruteforce_user')));
    assert.deepEqual(unknownRuleMatcherWarnings(cfg, rules.keys()), []);
  });

  test('regwatch alerts check-config: warning on stderr, exit 0; duplicate receiver fails with every problem', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rw-alerts-cfg-'));
    const warn = join(dir, 'warn.yaml');
    await writeFile(
      warn,
      `route: { receiver: sec }
receivers: [{ name: sec, channels: [{ type: console }] }]
inhibit_rules:
  - { source_matchers: ['rule=auth.bruteforce_ip'], target_matchers: ['rule=auth.failed_login_user'], equal: [source_ip] }
  - { source_matchers: ['rule=storage.exhaustion'], target_matchers: ['rule=~"pull\\\\.population_surge_.*"'] }
`,
    );
    const ok = await run(['alerts', 'check-config', '--config', warn]);
    assert.equal(ok.code, 0, ok.stderr);
    const warnings = ok.stderr.split('\n').filter((l) => l.startsWith('warning: '));
    assert.equal(warnings.length, 1, ok.stderr);
    assert.match(
      warnings[0] ?? '',
      /inhibit_rules\.0\.target_matchers\.0: rule="auth\.failed_login_user" names no detector rule id \(auth\.\* ids: auth\.bruteforce_ip, auth\.bruteforce_user\)/,
    );
    const out = JSON.parse(ok.stdout) as { ok: boolean; warnings: string[] };
    assert.equal(out.ok, true);
    assert.equal(out.warnings.length, 1);

    const dup = join(dir, 'dup.yaml');
    await writeFile(
      dup,
      `route: { receiver: sec, group_wait: soon }
receivers:
  - { name: sec, channels: [{ type: console }] }
  - { name: sec, channels: [{ type: console, stream: stdout2 }] }
`,
    );
    const bad = await run(['alerts', 'check-config', '--config', dup]);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /CONFIG_INVALID: .*\(3 problem\(s\)\)/);
    assert.match(bad.stderr, /route\.group_wait: not a duration/);
    assert.match(bad.stderr, /receivers\.1\.channels\.0\.stream:/);
    assert.match(bad.stderr, /receivers\.1\.name: duplicate receiver "sec"/);
    assert.equal(bad.stdout, '');
  });
});

describe('console channel stream', () => {
  test('destination names the configured stream; stdout is the default', () => {
    const errCfg = consoleChannel.configSchema.parse({ type: 'console', stream: 'stderr' });
    const outCfg = consoleChannel.configSchema.parse({ type: 'console' });
    assert.equal(consoleChannel.destination(errCfg), 'console:stderr');
    assert.equal(consoleChannel.destination(outCfg), 'console:stdout');
    assert.throws(() => consoleChannel.configSchema.parse({ type: 'console', stream: 'stdlog' }));
  });

  test('regwatch alerts test without --config shows the embedded default target (stderr), with --config the configured one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rw-alerts-test-'));
    const f = join(dir, 'finding.json');
    await writeFile(
      f,
      JSON.stringify(finding({ rule: 'auth.bruteforce_ip', entity: { type: 'ip', id: '203.0.113.7' } })),
    );
    const def = await run(['alerts', 'test', '--finding', f]);
    assert.equal(def.code, 0, def.stderr);
    const shown = JSON.parse(def.stdout) as { receiver: string; requests: { channel: string; target: string }[] };
    assert.equal(shown.receiver, 'console');
    assert.deepEqual(
      shown.requests.map((r) => [r.channel, r.target]),
      [['console', 'stderr']],
    );
    const cfg = join(dir, 'alerts.yaml');
    await writeFile(
      cfg,
      'route: { receiver: c, group_wait: 1s }\nreceivers: [{ name: c, channels: [{ type: console, stream: stdout }] }]\n',
    );
    const withCfg = await run(['alerts', 'test', '--finding', f, '--config', cfg]);
    assert.equal(withCfg.code, 0, withCfg.stderr);
    assert.equal((JSON.parse(withCfg.stdout) as typeof shown).requests[0]?.target, 'stdout');
  });
});
