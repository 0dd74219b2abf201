import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, chmodSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../../shared/src/logger.ts';
import { systemClock } from '../../../services/alerts/src/clock.ts';
import { createSqliteStore } from '../../../services/alerts/src/store/sqlite.ts';
import { ensureAlertsApiToken, readAlertsApiFiles, startAlertsApi } from '../../../services/embedded/src/alerts-api.ts';
import { dataDirLayout } from '../../../services/embedded/src/data-dir.ts';

function tmpLayout() {
  const dir = mkdtempSync(join(tmpdir(), 'rw-alerts-api-'));
  mkdirSync(dir, { recursive: true });
  return { dir, layout: dataDirLayout(dir) };
}

describe('embedded silences API token and URL files', () => {
  test('a token is generated once (mode 0600) and reused; a short or loose one is fixed', () => {
    const { dir, layout } = tmpLayout();
    try {
      assert.deepEqual(readAlertsApiFiles(layout), { token: null, url: null });
      const first = ensureAlertsApiToken(layout);
      assert.equal(first.created, true);
      assert.ok(first.token.length >= 32);
      assert.equal(statSync(layout.alertsApiToken).mode & 0o777, 0o600);
      assert.deepEqual(ensureAlertsApiToken(layout), { token: first.token, created: false });
      assert.equal(readAlertsApiFiles(layout).token, first.token);

      chmodSync(layout.alertsApiToken, 0o644);
      assert.equal(ensureAlertsApiToken(layout).token, first.token);
      assert.equal(statSync(layout.alertsApiToken).mode & 0o777, 0o600, 'tightened');

      writeFileSync(layout.alertsApiToken, 'short\n');
      assert.equal(readAlertsApiFiles(layout).token, null);
      const again = ensureAlertsApiToken(layout);
      assert.equal(again.created, true);
      assert.notEqual(again.token, 'short');
      assert.equal(statSync(layout.alertsApiToken).mode & 0o777, 0o600);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the API answers with the stored token only, writes its URL, removes it on close', async () => {
    const { dir, layout } = tmpLayout();
    const store = createSqliteStore(join(dir, 'alerts.db'));
    try {
      const api = await startAlertsApi({
        host: '127.0.0.1',
        port: 0,
        tokens: [],
        layout,
        store,
        clock: systemClock,
        logger: silentLogger(),
      });
      assert.equal(api.tokenFile, layout.alertsApiToken);
      const files = readAlertsApiFiles(layout);
      assert.equal(files.url, api.url);
      assert.match(api.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      const token = readFileSync(layout.alertsApiToken, 'utf8').trim();
      const list = (t: string) => fetch(`${api.url}/api/v1/silences`, { headers: { authorization: `Bearer ${t}` } });
      assert.equal((await list('wrong-token-wrong-token')).status, 401);
      const ok = await list(token);
      assert.equal(ok.status, 200);
      assert.deepEqual(await ok.json(), { silences: [] });
      const created = await fetch(`${api.url}/api/v1/silences`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ matchers: ['rule=auth.bruteforce_ip'], duration: '1h', createdBy: 't', comment: 'c' }),
      });
      assert.equal(created.status, 201);
      assert.equal((await store.listSilences()).length, 1, 'the silence is in the shared alert store');
      await api.close();
      assert.equal(readAlertsApiFiles(layout).url, null);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('configured tokens are used and no token file is written', async () => {
    const { dir, layout } = tmpLayout();
    const store = createSqliteStore(join(dir, 'alerts.db'));
    try {
      const api = await startAlertsApi({
        host: '127.0.0.1',
        port: 0,
        tokens: ['configured-token-0123456789'],
        layout,
        store,
        clock: systemClock,
        logger: silentLogger(),
      });
      assert.equal(api.tokenFile, null);
      assert.equal(readAlertsApiFiles(layout).token, null);
      const res = await fetch(`${api.url}/api/v1/silences`, {
        headers: { authorization: 'Bearer configured-token-0123456789' },
      });
      assert.equal(res.status, 200);
      await api.close();
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
