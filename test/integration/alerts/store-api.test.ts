import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { silentLogger } from '../../../shared/src/logger.ts';
import { buildApi } from '../../../services/alerts/src/api.ts';
import { systemClock } from '../../../services/alerts/src/clock.ts';
import { createSqliteStore } from '../../../services/alerts/src/store/sqlite.ts';
import type { AlertStore } from '../../../services/alerts/src/store/types.ts';
import { BASE, finding, harness, T0 } from '../../unit/alerts/fixtures.ts';
import { silenceCommand } from '../../../services/alerts/src/render.ts';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..', '..');

describe('sqlite store (embedded mode): state survives a restart', () => {
  test('a group waiting in group_wait is notified exactly once by the next process', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'alerts-sqlite-')), 'alerts.sqlite');
    const s1 = createSqliteStore(path);
    const h1 = harness(BASE(), { store: s1 });
    await h1.step([finding(), finding({ entity: { type: 'user', id: 'bob' } })]);
    await s1.close(); // "crash" before group_wait is over
    const s2 = createSqliteStore(path);
    const h2 = harness(BASE(), { store: s2 });
    await h2.clock.advanceTo(T0 + 30_000);
    const sent = await h2.step();
    assert.equal(sent.length, 1);
    assert.equal(sent[0]?.firing.length, 2);
    assert.deepEqual(await h2.after(60 * 60_000), []);
    await s2.close();
  });
  test('compare-and-set: a stale version loses', async () => {
    const s = createSqliteStore(':memory:');
    const h = harness(BASE(), { store: s });
    await h.step([finding()]);
    const [key] = await s.dueGroups(Number.MAX_SAFE_INTEGER, 10);
    const cur = await s.getGroup(key!);
    assert.ok(cur);
    assert.ok(await s.putGroup(cur.value, 1, cur.version));
    assert.equal(
      await s.putGroup(cur.value, 1, cur.version),
      undefined,
      'second writer with the same version is rejected',
    );
    assert.equal(await s.putGroup(cur.value, 1, undefined), undefined, 'create-if-absent fails when it exists');
    await s.close();
  });
});

describe('silences HTTP API (Fastify, bearer) and `regwatch silence add|list|expire`', () => {
  const token = 'test-token-0123456789abcdef';
  let app: FastifyInstance;
  let store: AlertStore;
  let url: string;
  before(async () => {
    store = createSqliteStore(':memory:');
    app = buildApi({ store, clock: systemClock, logger: silentLogger(), tokens: [token] });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
  });
  after(async () => {
    await app.close();
    await store.close();
  });

  test('401 without or with a wrong token; healthz is open', async () => {
    assert.equal((await app.inject({ method: 'GET', url: '/api/v1/silences' })).statusCode, 401);
    assert.equal(
      (
        await app.inject({
          method: 'GET',
          url: '/api/v1/silences',
          headers: { authorization: 'Bearer nope-nope-nope-nope' },
        })
      ).statusCode,
      401,
    );
    assert.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
    assert.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200);
  });
  test('readyz is open and answers 503 with the reason while not ready', async () => {
    let reason: string | undefined = 'starting';
    const probe = buildApi({
      store,
      clock: systemClock,
      logger: silentLogger(),
      tokens: [token],
      notReady: () => reason,
    });
    try {
      const r = await probe.inject({ method: 'GET', url: '/readyz' });
      assert.equal(r.statusCode, 503);
      assert.deepEqual(r.json(), { reason: 'starting' });
      reason = undefined;
      assert.deepEqual((await probe.inject({ method: 'GET', url: '/readyz' })).json(), { status: 'ready' });
    } finally {
      await probe.close();
    }
  });
  test('create → list → expire; bad input → 400 with code', async () => {
    const auth = { authorization: `Bearer ${token}` };
    const bad = await app.inject({
      method: 'POST',
      url: '/api/v1/silences',
      headers: auth,
      payload: { matchers: ['rule=~('], duration: '2h', createdBy: 'a', comment: 'b' },
    });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().error, 'ALERTS_SILENCE_INVALID');
    const created = await app.inject({
      method: 'POST',
      url: '/api/v1/silences',
      headers: auth,
      payload: {
        matchers: ['rule=pull.volume_spike', 'entity=user:alice'],
        duration: '2h',
        createdBy: 'sec',
        comment: 'pentest',
      },
    });
    assert.equal(created.statusCode, 201);
    const id = created.json().id as string;
    const list = await app.inject({ method: 'GET', url: '/api/v1/silences?state=active', headers: auth });
    assert.deepEqual(
      list.json().silences.map((s: { id: string }) => s.id),
      [id],
    );
    const exp = await app.inject({ method: 'DELETE', url: `/api/v1/silences/${id}`, headers: auth });
    assert.equal(exp.json().status, 'expired');
    assert.equal((await app.inject({ method: 'DELETE', url: '/api/v1/silences/nope', headers: auth })).statusCode, 404);
  });
  test('the CLI talks to the running API: JSON on stdout, summary on stderr, clear errors', async () => {
    const cli = (...args: string[]) =>
      run('sh', [join(ROOT, 'bin/regwatch'), 'silence', ...args, '--url', url, '--token', token], { cwd: ROOT });
    const add = await cli(
      'add',
      '--matcher',
      'rule=pull.volume_spike',
      '--matcher',
      'entity=user:bob',
      '--duration',
      '30m',
      '--author',
      'ci',
      '--comment',
      'load test',
    );
    const s = JSON.parse(add.stdout) as { id: string; status: string; matchers: string[] };
    assert.equal(s.status, 'active');
    assert.deepEqual(s.matchers, ['rule=pull.volume_spike', 'entity=user:bob']);
    assert.match(add.stderr, /active until/);
    const list = await cli('list', '--state', 'active');
    assert.ok(list.stdout.includes(s.id));
    const exp = await cli('expire', s.id);
    assert.equal((JSON.parse(exp.stdout) as { status: string }).status, 'expired');
    await assert.rejects(
      cli('add', '--matcher', 'rule=~(', '--comment', 'x'),
      (e: { code: number; stderr: string }) => e.code === 2 && /ALERTS_SILENCE_INVALID/.test(e.stderr),
    );
    await assert.rejects(
      run('sh', [join(ROOT, 'bin/regwatch'), 'silence', 'list', '--url', url, '--token', 'wrong-token-wrong-token'], {
        cwd: ROOT,
      }),
      (e: { stderr: string }) => /ALERTS_API_FAILED: alerts API answered 401/.test(e.stderr),
    );
  });

  test('the silence command printed in an alert works as pasted from the repository root', async () => {
    const f = finding({ rule: 'auth.bruteforce_ip', entity: { type: 'ip', id: '198.51.100.9' } });
    const line = silenceCommand(
      { key: f.id, status: 'firing', labels: { entity: 'ip:198.51.100.9' }, finding: f, startsAt: T0 },
      { alertsUrl: url },
    );
    assert.match(line, /^npx regwatch silence add /);
    // Exactly as a person pastes it: through the shell, from the repository root, token from the env.
    const r = await run('sh', ['-c', line], {
      cwd: ROOT,
      env: { ...process.env, REGWATCH_ALERTS_TOKEN: token, REGWATCH_ALERTS_URL: '', REGWATCH_DATA_DIR: '' },
      timeout: 60_000,
    });
    const s = JSON.parse(r.stdout) as { status: string; matchers: string[]; comment: string };
    assert.equal(s.status, 'active');
    assert.deepEqual(s.matchers, ['rule=auth.bruteforce_ip', 'entity=ip:198.51.100.9']);
    assert.doesNotMatch(r.stderr, /warning/, 'a known rule id gives no warning');
  });

  test('silence add: a rule id nobody emits warns (and still creates); no --matcher names the flag', async () => {
    const cli = (...args: string[]) =>
      run('sh', [join(ROOT, 'bin/regwatch'), 'silence', ...args, '--url', url, '--token', token], { cwd: ROOT });
    const typo = await cli('add', '-m', 'rule=auth.brutforce_user', '-m', 'entity=user:bob', '--comment', 'typo');
    assert.match(
      typo.stderr,
      /warning: --matcher 'rule=auth\.brutforce_user': rule="auth\.brutforce_user" names no detector rule id \(auth\.\* ids: [^)]*auth\.bruteforce_user/,
    );
    const created = JSON.parse(typo.stdout) as { id: string; status: string };
    assert.equal(created.status, 'active', 'the silence is created anyway');
    const listed = await cli('list', '--state', 'active');
    assert.ok(listed.stdout.includes(created.id));
    const regex = await cli('add', '-m', 'rule=~auth\\..*', '--comment', 'all auth');
    assert.doesNotMatch(regex.stderr, /warning/, 'a regex matching known ids is fine');
    await assert.rejects(cli('add', '--comment', 'no matchers'), (e: { code: number; stderr: string }) => {
      assert.equal(e.code, 2);
      assert.match(e.stderr, /required option '-m, --matcher <matcher>' not specified/);
      assert.doesNotMatch(e.stderr, /Too small|expected array/);
      return true;
    });
  });
});
