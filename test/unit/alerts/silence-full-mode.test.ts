/**
 * Full mode: the silence command in each alert names the alerts service API (`--url`) and the
 * token variable; `regwatch silence add --help` says how to connect in both modes. The embedded
 * command (no URL, no hint) is unchanged.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { alertsPublicUrl } from '../../../services/alerts/src/env-config.ts';
import type { AlertView } from '../../../services/alerts/src/model.ts';
import { SILENCE_TOKEN_HINT, silenceCommand } from '../../../services/alerts/src/render.ts';
import { regwatch } from '../cli/cli-run.ts';
import { finding, T0 } from './fixtures.ts';

const f = finding();
const view: AlertView = { key: f.id, status: 'firing', labels: { entity: 'mallory' }, finding: f, startsAt: T0 };

describe('silence command in full mode', () => {
  test('--url and the token hint (a shell comment, no secret)', () => {
    const cmd = silenceCommand(view, { alertsUrl: 'http://127.0.0.1:9095', tokenHint: true });
    assert.equal(
      cmd,
      `npx regwatch silence add --url http://127.0.0.1:9095 --matcher 'rule=${f.rule}' --matcher 'entity=mallory' --duration 2h --comment 'reason'  ${SILENCE_TOKEN_HINT}`,
    );
    assert.match(SILENCE_TOKEN_HINT, /^# .*REGWATCH_ALERTS_TOKEN/);
  });

  test('embedded settings (no URL, no hint) keep the short command', () => {
    assert.equal(
      silenceCommand(view, {}),
      `npx regwatch silence add --matcher 'rule=${f.rule}' --matcher 'entity=mallory' --duration 2h --comment 'reason'`,
    );
  });

  test('alertsPublicUrl: REGWATCH_ALERTS_PUBLIC_URL, else global.alerts_url, else the bound address', () => {
    const env = { REGWATCH_ALERTS_HOST: '127.0.0.1' };
    assert.equal(
      alertsPublicUrl({ ...env, REGWATCH_ALERTS_PUBLIC_URL: 'https://alerts.example.com/' }, 'https://x.test', 1),
      'https://alerts.example.com',
    );
    assert.equal(alertsPublicUrl(env, 'https://x.test', 1), 'https://x.test');
    assert.equal(alertsPublicUrl(env, undefined, 9095), 'http://127.0.0.1:9095');
    assert.equal(alertsPublicUrl({ REGWATCH_ALERTS_HOST: '0.0.0.0' }, undefined, 41234), 'http://127.0.0.1:41234');
    assert.equal(alertsPublicUrl({ REGWATCH_ALERTS_HOST: '::' }, undefined, 9095), 'http://127.0.0.1:9095');
    assert.equal(alertsPublicUrl({ REGWATCH_ALERTS_HOST: 'fd00::5' }, undefined, 9095), 'http://[fd00::5]:9095');
    assert.equal(
      alertsPublicUrl({ REGWATCH_ALERTS_HOST: 'alerts.internal' }, undefined, 9095),
      'http://alerts.internal:9095',
    );
  });

  test('regwatch silence add --help names REGWATCH_ALERTS_URL and REGWATCH_ALERTS_TOKEN for full mode', async () => {
    const r = await regwatch(['silence', 'add', '--help']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /full mode \(alerts service\): export REGWATCH_ALERTS_URL=/);
    assert.match(r.stdout, /REGWATCH_ALERTS_TOKEN=<one of the service's REGWATCH_ALERTS_TOKEN values>/);
    assert.match(r.stdout, /regwatch run \(embedded\): nothing to set/);
  });
});
