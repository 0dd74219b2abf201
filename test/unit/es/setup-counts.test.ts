/**
 * The setup report summary counts a skipped asset (the ILM policies on a cluster without ILM) as
 * skipped, not as a change: a re-run over installed assets reports `changed: 0`.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { countSetupChanges, formatSetupReport, type AssetChange } from '../../../shared/src/es/assets.ts';

const unchanged = (name: string): AssetChange => ({ kind: 'component_template', name, action: 'unchanged' });

describe('countSetupChanges', () => {
  test('every asset unchanged and the ILM policies skipped → changed 0, skipped 1', () => {
    const changes: AssetChange[] = [
      { kind: 'ilm_policy', name: '*', action: 'skipped', reason: 'ILM not available on this cluster' },
      unchanged('a'),
      unchanged('b'),
    ];
    assert.deepEqual(countSetupChanges({ changes }), { created: 0, updated: 0, unchanged: 2, skipped: 1, changed: 0 });
  });

  test('created and updated are changes', () => {
    const changes: AssetChange[] = [
      { kind: 'index_template', name: 't', action: 'created' },
      { kind: 'ilm_policy', name: 'p', action: 'updated', reason: 'different' },
      unchanged('c'),
    ];
    assert.deepEqual(countSetupChanges({ changes }), { created: 1, updated: 1, unchanged: 1, skipped: 0, changed: 2 });
  });

  test('the human report ends its table with the counts line', () => {
    const text = formatSetupReport({
      capabilities: { ilm: false, dataStreamApi: true, version: '9.2.4' } as never,
      changes: [{ kind: 'ilm_policy', name: '*', action: 'skipped', reason: 'no ILM' }, unchanged('a')],
      warnings: ['w'],
    });
    assert.deepEqual(text.split('\n').slice(-2), ['0 created, 0 updated, 1 unchanged, 1 skipped', 'warning: w']);
  });
});
