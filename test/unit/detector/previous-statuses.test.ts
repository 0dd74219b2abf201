import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readStatusesFile, writeStatusesFile } from '../../../services/detector/src/forecast/previous-statuses.ts';
import { staleStatusKey } from '../../../services/detector/src/forecast/stale-findings.ts';
import { AppError } from '../../../shared/src/errors.ts';

test('storage finding statuses survive a write/read round trip; a missing file is an empty map', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rw-statuses-'));
  try {
    const path = join(dir, 'storage', 'finding-statuses.json');
    assert.deepEqual(await readStatusesFile(path), new Map());
    const statuses = new Map<string, 'firing' | 'resolved'>([
      ['fs:/var/lib/registry', 'firing'],
      [staleStatusKey('s3:bucket'), 'resolved'],
    ]);
    await writeStatusesFile(path, statuses);
    assert.deepEqual(await readStatusesFile(path), statuses);
    assert.deepEqual(JSON.parse(readFileSync(path, 'utf8')), {
      version: 1,
      statuses: { 'fs:/var/lib/registry': 'firing', 'storage.data_stale s3:bucket': 'resolved' },
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a file that is not a status file is refused with INPUT_UNREADABLE, not read as empty', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rw-statuses-'));
  try {
    for (const body of ['not json', '{"statuses":{}}', '{"version":1}', '[]']) {
      const path = join(dir, 'bad.json');
      writeFileSync(path, body);
      await assert.rejects(readStatusesFile(path), (err: unknown) => {
        assert.ok(err instanceof AppError);
        assert.equal(err.code, 'INPUT_UNREADABLE');
        assert.equal(err.retriable, false);
        assert.match(err.message, /bad\.json is not a storage status file/);
        return true;
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
