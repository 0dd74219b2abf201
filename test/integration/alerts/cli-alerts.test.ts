import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { finding } from '../../unit/alerts/fixtures.ts';
import { REPO_ROOT, tempFile } from './support.ts';

const run = promisify(execFile);

describe('regwatch alerts test --finding FILE', () => {
  test('renders what each receiver would get, secrets masked, nothing sent', async () => {
    const findings = [
      finding(),
      finding({ entity: { type: 'user', id: 'bob' } }),
      finding({ rule: 'repo.crawling', severity: 'critical' }),
    ];
    const file = tempFile('findings.ndjson', findings.map((f) => JSON.stringify(f)).join('\n'));
    const cfg = tempFile(
      'alerts.yaml',
      `
route:
  receiver: sec
  group_by: [rule]
  routes: [{ matchers: ['severity=critical'], receiver: oncall, continue: true }]
receivers:
  - { name: sec, channels: [{ type: slack, url: "https://hooks.slack.com/services/T1/B1/CLISECRET" }, { type: teams, url: "https://x.logic.azure.com/workflows/w/triggers/manual/paths/invoke?sig=TEAMSSIG" }] }
  - { name: oncall, channels: [{ type: pagerduty, routing_key: "PDKEY0123456789ABCDEF0123456789AB" }] }
`,
    );
    const { stdout, stderr } = await run(
      'sh',
      [join(REPO_ROOT, 'bin/regwatch'), 'alerts', 'test', '--finding', file, '--config', cfg],
      { cwd: REPO_ROOT },
    );
    assert.match(stderr, /3 finding\(s\) → 2 notification\(s\); nothing was sent/);
    for (const s of ['CLISECRET', 'TEAMSSIG', 'PDKEY0123456789']) assert.ok(!stdout.includes(s), `stdout leaks ${s}`);
    const docs = stdout
      .split(/\n(?=\{)/)
      .map((t) => JSON.parse(t) as { receiver: string; alerts: number; requests: { channel: string }[] });
    const summary = docs.map((d) => `${d.receiver}:${d.alerts}:${d.requests.map((r) => r.channel).join('+')}`).sort();
    // The critical finding matches the oncall child (continue: true) and no later sibling, so it
    // leaves the parent receiver (Alertmanager semantics).
    assert.deepEqual(summary, ['oncall:1:pagerduty', 'sec:2:slack+teams']);
  });
  test('a malformed finding file gives a clear error and exit code', async () => {
    const bad = tempFile('bad.json', JSON.stringify({ id: 'x', rule: 'NotDotted' }));
    await assert.rejects(
      run('sh', [join(REPO_ROOT, 'bin/regwatch'), 'alerts', 'test', '--finding', bad], { cwd: REPO_ROOT }),
      (e: { code: number; stderr: string }) =>
        e.code === 2 && /FINDING_INVALID: invalid finding\(s\).*\n.*rule/s.test(e.stderr),
    );
  });
});
