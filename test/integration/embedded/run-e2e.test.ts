/**
 * End to end, as a user runs it: `sh bin/regwatch run` (the README's run command) as a child
 * process with a temp data dir and a free port, the real Debian docker-registry with htpasswd
 * users sending notifications (bearer token) to it and writing JSON logs that `--follow` tails,
 * and the real skopeo client as the users. Asserts a finding arrives on stdout (NDJSON) and an
 * alert on stderr (console channel), that SIGTERM shuts down cleanly, and that a restart on the
 * same data dir neither repeats the finding nor re-alerts.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildOciLayout } from '../../../shared/src/demo/oci-layout.ts';
import { freePort, startLocalRegistry, type LocalRegistry } from '../../../shared/src/demo/registry.ts';
import { inspectImage, pullImage, pushImage } from '../../../shared/src/demo/skopeo.ts';
import { silentLogger } from '../../../shared/src/logger.ts';
import { findingSchema, type Finding } from '../../../shared/src/model/finding.ts';
import { ndjson, regwatch, type Child } from './child.ts';

/** Messages in a topic of the embedded bus (its partition logs under <data>/bus/topics/<topic>/). */
function busLines(dataDir: string, topic: string): number {
  const tdir = join(dataDir, 'bus', 'topics', topic);
  let n = 0;
  for (const f of readdirSync(tdir))
    if (f.endsWith('.ndjson')) n += readFileSync(join(tdir, f), 'utf8').split('\n').filter(Boolean).length;
  return n;
}

const TOKEN = 'e2e-receiver-token-0123456789';
const alice = { user: 'alice', password: 'alice-correct-horse' };
const bob = { user: 'bob', password: 'bob-battery-staple' };

describe('regwatch run end to end (real registry + skopeo)', () => {
  let dir: string;
  let registry: LocalRegistry;
  let port: number;
  let run: Child | null = null;
  const args = (): string[] => {
    writeFileSync(
      join(dir, 'alerts.yml'),
      'route:\n  receiver: console\n  group_by: [rule, entity]\n  group_wait: 1s\nreceivers:\n  - name: console\n    channels:\n      - type: console\n        stream: stderr\n',
    );
    return [
      'run',
      '--port',
      String(port),
      '--alerts-port',
      '0',
      '--token',
      TOKEN,
      '--data-dir',
      join(dir, 'data'),
      '--follow',
      join(dir, 'registry', 'registry.log'),
      '--alerts-config',
      join(dir, 'alerts.yml'),
    ];
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'regwatch-run-e2e-'));
    port = await freePort();
  });
  after(async () => {
    if (run) await run.stop('SIGKILL');
    await registry?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test(
    'a brute force against the registry gives a finding on stdout and an alert on stderr',
    { timeout: 180_000 },
    async () => {
      run = regwatch(args());
      await run.waitFor('the start banner', (_o, e) => e.includes(`receiver   http://127.0.0.1:${port}`));
      assert.match(run.stderr, /data\s+\S+data/);
      registry = await startLocalRegistry({
        workDir: join(dir, 'registry'),
        users: [alice, bob],
        notifications: { url: `http://127.0.0.1:${port}/v1/notifications`, token: TOKEN },
        logger: silentLogger(),
      });
      // Normal use first: a push and a pull (notifications and log lines flow, no finding).
      const img = await buildOciLayout(join(dir, 'img'), 'v1');
      assert.equal((await pushImage(img.dir, 'v1', registry.host, 'team/app', '1.0', alice)).code, 0);
      assert.equal((await pullImage(registry.host, 'team/app', '1.0', join(dir, 'pulled'), bob)).code, 0);
      // Then 25 wrong passwords for alice from one address (auth.bruteforce_ip fires at 20).
      for (let i = 0; i < 25; i++) {
        const r = await inspectImage(registry.host, 'team/app', '1.0', { user: 'alice', password: `wrong-${i}` });
        assert.notEqual(r.code, 0, 'a wrong password must be refused');
      }
      await run.waitFor('a finding on stdout', (o) => o.includes('"auth.bruteforce_ip"'), 60_000);
      await run.waitFor('the alert on stderr', (_o, e) => /\[FIRING:1\] auth\.bruteforce_ip/.test(e), 60_000);

      const findings = ndjson<Finding>(run.stdout).map((f) => findingSchema.parse(f));
      const brute = findings.find((f) => f.rule === 'auth.bruteforce_ip');
      assert.ok(brute);
      assert.deepEqual(brute.entity, { type: 'ip', id: '127.0.0.1' });
      assert.ok(brute.observed.value >= 20);
      // stdout is NDJSON only: every line parsed above as a finding.
      assert.equal(run.stdout.trim().split('\n').length, findings.length);
      // The pull and push went through the pipeline too (seen in the bus log of regwatch.events).
      const code = await run.stop('SIGTERM');
      assert.equal(code, 0, `exit code; stderr tail:\n${run.stderr.slice(-1500)}`);
      assert.match(run.stderr, /stopped cleanly/);
      run = null;
    },
  );

  test(
    'a restart on the same data dir resumes: no repeated finding, no re-alert, new input still detected',
    { timeout: 180_000 },
    async () => {
      const logLinesBefore = busLines(join(dir, 'data'), 'registry.logs');
      assert.ok(logLinesBefore > 50, `registry log lines on the bus: ${logLinesBefore}`);
      run = regwatch(args());
      await run.waitFor('the start banner', (_o, e) => e.includes('embedded pipeline started'));
      // Give the followers and every stage time to (not) replay anything.
      await sleep(6000);
      assert.equal(run.stdout.trim(), '', 'no finding is printed again after the restart');
      assert.doesNotMatch(run.stderr, /\[FIRING/, 'no alert is sent again after the restart');
      // The follower resumed at its saved position: nothing of the old log was published again.
      assert.equal(busLines(join(dir, 'data'), 'registry.logs'), logLinesBefore);
      // A different attacker user name from the same address is a new burst for the user rule.
      for (let i = 0; i < 16; i++)
        await inspectImage(registry.host, 'team/app', '1.0', { user: 'bob', password: `nope-${i}` });
      await run.waitFor(
        'a new finding after the restart',
        (o) => o.includes('"auth.bruteforce_user"') && o.includes('"bob"'),
        60_000,
      );
      await run.waitFor('its alert', (_o, e) => /\[FIRING:1\] auth\.bruteforce_user/.test(e), 60_000);
      assert.doesNotMatch(run.stdout, /"auth\.bruteforce_ip"/, 'the old burst is not reported again');
      const code = await run.stop('SIGINT');
      assert.equal(code, 0);
      run = null;
    },
  );
});
