/**
 * Silencing with the embedded default, as a user does it: `sh bin/regwatch run` as a child process
 * started from a working directory (data in `./.data`, as after `npm start` in the repository), a
 * brute force posted to the real receiver, the console alert on stderr, then the exact
 * `npx regwatch silence add …` command that alert prints, run by the shell in the same directory
 * (token read from `.data/alerts-api.token`, URL from `.data/alerts-api.url`). A second brute
 * force from the silenced address then gives a finding but no notification, while one from another
 * address is still notified. `silence list` / `expire` work the same way.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { findingSchema, type Finding } from '../../../shared/src/model/finding.ts';
import { freePort } from '../../../shared/src/demo/registry.ts';
import { ndjson, regwatch, REPO_ROOT, type Child } from './child.ts';

const run$ = promisify(execFile);

/** htpasswd failures as Distribution logs them (JSON formatter) from one address. */
function failedLogins(ip: string, n: number, start: number): string {
  return Array.from({ length: n }, (_, i) =>
    JSON.stringify({
      'http.request.id': `req-${ip}-${start}-${i}`,
      'http.request.method': 'GET',
      'http.request.remoteaddr': `${ip}:40000`,
      'http.request.uri': '/v2/team/app/manifests/latest',
      'http.request.useragent': 'skopeo/1.9.3',
      level: 'error',
      msg: `error authenticating user "root": authentication failure`,
      time: new Date(start + i * 2000).toISOString(),
      'vars.name': 'team/app',
      'vars.reference': 'latest',
    }),
  ).join('\n');
}

async function postLogs(port: number, body: string): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${port}/v1/logs`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-ndjson', 'x-regwatch-source': 'registry-1' },
    body: `${body}\n`,
  });
  assert.equal(res.status, 202);
}

interface Delivery {
  oci_registry: { alert: { finding_id: string[]; result: string; final: boolean } };
}

const A = '198.51.100.9';
const B = '203.0.113.77';

describe('regwatch run + regwatch silence (the command printed in the alert)', () => {
  let dir: string;
  let port: number;
  let run: Child | null = null;
  const deliveries = (): Delivery[] =>
    readFileSync(join(dir, '.data', 'alerts', 'deliveries.ndjson'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Delivery);
  const notified = (id: string): boolean =>
    deliveries().some((d) => d.oci_registry.alert.final && d.oci_registry.alert.finding_id.includes(id));
  const findings = (): Finding[] => ndjson(run!.stdout).map((f) => findingSchema.parse(f));
  /** Runs a `regwatch …` command line through the shell in `dir`, with bin/regwatch as `regwatch`. */
  const shell = (line: string): Promise<{ stdout: string; stderr: string }> =>
    run$('sh', ['-c', line.replace(/^npx regwatch /, `sh '${join(REPO_ROOT, 'bin', 'regwatch')}' `)], {
      cwd: dir,
      env: { ...process.env, REGWATCH_ALERTS_TOKEN: '', REGWATCH_ALERTS_URL: '', REGWATCH_DATA_DIR: '' },
      timeout: 60_000,
    });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'regwatch-silence-e2e-'));
    port = await freePort();
    writeFileSync(
      join(dir, 'alerts.yml'),
      'route:\n  receiver: console\n  group_by: [rule, entity]\n  group_wait: 0s\n  group_interval: 1s\n  repeat_interval: 1s\nreceivers:\n  - name: console\n    channels:\n      - type: console\n        stream: stderr\n',
    );
  });
  after(async () => {
    if (run) await run.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  test(
    'a silence added with the printed command stops notifications of matching findings',
    { timeout: 180_000 },
    async () => {
      // Default data dir (.data in the working directory); the silences API on a free port (the
      // URL is found through .data/alerts-api.url), no token configured (one is generated).
      run = regwatch(
        ['run', '--port', String(port), '--alerts-config', 'alerts.yml'],
        { REGWATCH_ALERTS_PORT: '0', REGWATCH_ALERTS_TOKEN: '', REGWATCH_DATA_DIR: '', REGWATCH_LOG_LEVEL: 'warn' },
        dir,
      );
      await run.waitFor('the start banner', (_o, e) => e.includes('silences   http://127.0.0.1:'));
      const tokenFile = join(dir, '.data', 'alerts-api.token');
      assert.match(run.stderr, /token \S+\.data\/alerts-api\.token/);
      assert.equal(statSync(tokenFile).mode & 0o777, 0o600, 'token file is private');
      assert.ok(readFileSync(tokenFile, 'utf8').trim().length >= 32);

      // 1. A brute force from A → finding and a console alert that says how to silence it.
      const t0 = Date.parse('2026-05-04T09:00:00Z');
      await postLogs(port, failedLogins(A, 30, t0));
      await run.waitFor('the alert for A', (_o, e) =>
        /silence: npx regwatch silence add .*entity=ip:198\.51\.100\.9/.test(e),
      );
      const line = /silence: (npx regwatch silence add [^\n]+)/.exec(
        run.stderr.slice(run.stderr.indexOf('entity=ip:198.51.100.9') - 200),
      )?.[1];
      assert.ok(line, run.stderr.slice(-2000));
      assert.doesNotMatch(line, /--url|--token/, 'the printed command needs nothing more');

      // 2. Exactly that command, from the same directory.
      const added = await shell(line);
      const silence = JSON.parse(added.stdout) as { id: string; status: string; matchers: unknown };
      assert.equal(silence.status, 'active');
      assert.match(added.stderr, /active until/);

      // 3. A brute force from A two hours later (a new finding) and one from B.
      const t1 = t0 + 2 * 3_600_000;
      await postLogs(port, failedLogins(A, 30, t1));
      await postLogs(port, failedLogins(B, 30, t1));
      await run.waitFor('findings for the second round', () =>
        [A, B].every((ip) => findings().some((f) => f.entity.id === ip && Date.parse(f.window.end) > t1)),
      );
      const aLater = findings().find((f) => f.entity.id === A && Date.parse(f.window.end) > t1)!;
      const bLater = findings().find((f) => f.entity.id === B && Date.parse(f.window.end) > t1)!;
      const end = Date.now() + 30_000;
      while (Date.now() < end && !notified(bLater.id)) await sleep(200);
      assert.ok(notified(bLater.id), 'the unsilenced address is still notified');
      await sleep(3000); // several group intervals and silence re-reads
      assert.equal(notified(aLater.id), false, 'no notification for the silenced finding');
      assert.equal(
        deliveries().filter((d) => d.oci_registry.alert.finding_id.includes(aLater.id)).length,
        0,
        'not even an attempt',
      );

      // 4. list and expire work the same way (token and URL from .data).
      const listed = await shell('npx regwatch silence list --state active');
      assert.ok(listed.stdout.includes(silence.id));
      const expired = JSON.parse((await shell(`npx regwatch silence expire ${silence.id}`)).stdout) as {
        status: string;
      };
      assert.equal(expired.status, 'expired');

      // 5. Without the data dir there is no token: a clear error, not ECONNREFUSED.
      await assert.rejects(
        run$('sh', [join(REPO_ROOT, 'bin', 'regwatch'), 'silence', 'list', '--data-dir', join(dir, 'nowhere')], {
          cwd: dir,
          env: { ...process.env, REGWATCH_ALERTS_TOKEN: '' },
        }),
        (err: { stderr?: string }) =>
          /CONFIG_INVALID/.test(err.stderr ?? '') && /alerts-api\.token not found/.test(err.stderr ?? ''),
      );

      assert.equal(await run.stop('SIGTERM'), 0);
      assert.throws(() => statSync(join(dir, '.data', 'alerts-api.url')), /ENOENT/, 'URL file removed at stop');
    },
  );
});
