/**
 * `regwatch analyze` cuts its input into messages the way `regwatch normalize` does
 * (shared/src/io/input-lines.ts): the case C16 (an HTTP request whose body is a pretty-printed
 * notification envelope) gives its 2 events, and a mixed file (log lines, a pretty-printed
 * envelope in the middle, access lines, a pretty-printed Harbor webhook) gives the same events
 * as `normalize` does.
 */
import { createReadStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createEngine, parseDetectionConfig } from '../../../services/detector/src/config.ts';
import { analyzeInputs, newSummary, readInputEvents } from '../../../services/detector/src/pipeline/analyze.ts';
import { mixedDocumentsInput, normalizedEvents } from '../../fixtures/cases/mixed-documents.ts';

const C16 = join(import.meta.dirname, '..', '..', 'fixtures', 'cases', 'inputs', 'C16.http');

async function analyzed(file: string): Promise<{ ids: string[]; summary: ReturnType<typeof newSummary> }> {
  const summary = newSummary();
  const ids: string[] = [];
  for await (const ev of readInputEvents([{ name: file, stream: createReadStream(file) }], summary)) ids.push(ev.id);
  return { ids, summary };
}

describe('regwatch analyze reads what regwatch normalize reads', () => {
  test('C16: request line and headers rejected, the pretty-printed envelope gives its 2 events', async () => {
    const { ids, summary } = await analyzed(C16);
    assert.equal(summary.events, 2);
    const norm = await normalizedEvents(C16);
    assert.deepEqual(norm.map((e) => e.action).sort(), ['blob-mount', 'manifest-push']);
    assert.deepEqual(ids.sort(), norm.map((e) => e.id).sort());
    assert.ok(
      summary.rejects.every((r) => r.reason === 'unknown_format'),
      'only the HTTP request line, headers and the comment are rejected',
    );
    assert.ok(!summary.rejects.some((r) => r.reason === 'not_json'));
    // Counted like `regwatch normalize` counts the same file: 66 lines, 7 rejected, 4 ignored
    // (2 blank lines, 2 log lines that complete no request).
    assert.deepEqual([summary.lines, summary.rejected, summary.ignored], [66, 7, 4]);

    // Through the whole analyze pipeline (sort + detection) too.
    const s2 = newSummary();
    for await (const f of analyzeInputs(
      [{ name: C16, stream: createReadStream(C16) }],
      createEngine(parseDetectionConfig({})),
      s2,
    ))
      void f;
    assert.equal(s2.events, 2);
  });

  test('a mixed file: the same events as normalize (ids included), documents anywhere in it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rw-analyze-docs-'));
    try {
      const file = join(dir, 'mixed.log');
      writeFileSync(file, mixedDocumentsInput());
      const norm = await normalizedEvents(file);
      const { ids, summary } = await analyzed(file);
      assert.ok(norm.length >= 10, `normalize gives ${norm.length} events`);
      // The envelope's event (a v2.x pull notification) is among them, not rejected line by line.
      assert.ok(norm.some((e) => e.action === 'manifest-pull'));
      assert.equal(summary.events, norm.length);
      assert.deepEqual(ids.sort(), norm.map((e) => e.id).sort());
      assert.ok(!summary.rejects.some((r) => r.reason === 'not_json'), JSON.stringify(summary.rejects));
      assert.equal(readFileSync(file, 'utf8'), mixedDocumentsInput(), 'fixture is deterministic');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
