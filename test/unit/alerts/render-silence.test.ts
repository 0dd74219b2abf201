import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silenceCommand } from '../../../services/alerts/src/render.ts';
import type { AlertView } from '../../../services/alerts/src/model.ts';
import { finding, T0 } from './fixtures.ts';

const f = finding();
const view: AlertView = { key: f.id, status: 'firing', labels: { entity: 'mallory' }, finding: f, startsAt: T0 };

test('silence command: default data dir → no --data-dir flag', () => {
  const cmd = silenceCommand(view, {});
  assert.equal(
    cmd,
    `npx regwatch silence add --matcher 'rule=${f.rule}' --matcher 'entity=mallory' --duration 2h --comment 'reason'`,
  );
});

test('silence command: a custom data dir is carried as --data-dir (quoted when it needs it)', () => {
  assert.match(silenceCommand(view, { dataDir: '/var/lib/regwatch' }), / --data-dir \/var\/lib\/regwatch --matcher /);
  assert.match(silenceCommand(view, { dataDir: "/tmp/my dir's" }), / --data-dir '\/tmp\/my dir'\\''s' --matcher /);
  assert.match(
    silenceCommand(view, { alertsUrl: 'http://10.0.0.5:9095', dataDir: 'state' }),
    /^npx regwatch silence add --url http:\/\/10\.0\.0\.5:9095 --data-dir state --matcher /,
  );
});

test('silence command: matcher values with a quote stay one shell word', () => {
  const v: AlertView = { ...view, labels: { entity: "user:o'brien" } };
  assert.match(silenceCommand(v, {}), / --matcher 'entity=user:o'\\''brien' --duration 2h/);
});
