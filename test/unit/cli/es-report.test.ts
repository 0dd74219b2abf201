import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { changeOf, formatSetupReport } from '../../../shared/src/es/assets.ts';
import { fetchFailureReason } from '../../../shared/src/es/kibana-import.ts';

describe('setup report: whose asset was replaced', () => {
  const h1 = 'a'.repeat(64);
  const h2 = 'b'.repeat(64);
  test('created / replaced from another regwatch version / replaced a foreign asset', () => {
    assert.deepEqual(changeOf('index_template', 't', { found: false }, h2), {
      kind: 'index_template',
      name: 't',
      action: 'created',
      hash: h2,
    });
    const other = changeOf('component_template', 'c@mappings', { found: true, hash: h1 }, h2);
    assert.equal(other.action, 'updated');
    assert.equal(other.previousHash, h1);
    assert.equal(
      other.reason,
      'replaced template installed by another regwatch version (hash aaaaaaaaaaaa → bbbbbbbbbbbb)',
    );
    const foreign = changeOf('ilm_policy', 'p', { found: true }, h2);
    assert.equal(foreign.previousHash, undefined);
    assert.equal(foreign.reason, 'replaced ILM policy not installed by regwatch (no _meta.regwatch_hash)');
    const text = formatSetupReport({
      capabilities: { ilm: true, dataStreamApi: true, version: '9.0.0' } as never,
      changes: [other],
      warnings: [],
    });
    assert.match(
      text,
      /^updated +component_template +c@mappings \(replaced template installed by another regwatch version \(hash aaaaaaaaaaaa → bbbbbbbbbbbb\)\)$/m,
    );
  });
});

describe('fetchFailureReason', () => {
  test('a refused connection names ECONNREFUSED and the address', async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const err = await fetch(`http://127.0.0.1:${port}/`).then(
      () => assert.fail('expected a refused connection'),
      (e: unknown) => e,
    );
    assert.equal(fetchFailureReason(err), `fetch failed (ECONNREFUSED 127.0.0.1:${port})`);
  });

  test('timeouts and plain errors', () => {
    const t = new DOMException('The operation was aborted due to timeout', 'TimeoutError');
    assert.match(fetchFailureReason(t), /^timed out/);
    assert.equal(fetchFailureReason(new Error('boom')), 'boom');
    assert.equal(fetchFailureReason('x'), 'x');
  });
});
