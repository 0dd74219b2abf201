/**
 * `regwatch run --input`: what the data directory remembers about each input file
 * (`readInputFile` with a state directory). A second read of the same, unchanged file publishes
 * nothing; an interrupted read resumes after the last published batch; appended lines are the
 * only ones published; a file with new content at the same path is read again from the start.
 */
import { appendFileSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { OutgoingMessage, Publisher } from '../../../shared/src/bus/types.ts';
import { TOPICS } from '../../../shared/src/topics.ts';
import { readInputFile } from '../../../services/embedded/src/inputs.ts';

/** A publisher that records every published line (the bus itself is not what is tested here). */
function recorder(onPublish?: (published: number) => void): Publisher & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    async publish(_topic: string, messages: readonly OutgoingMessage[]) {
      for (const m of messages) lines.push(String(m.value));
      onPublish?.(lines.length);
    },
    async close() {},
  };
}

const logLines = (from: number, n: number, tag = 'a'): string[] =>
  Array.from({ length: n }, (_, i) => `time="2026-05-04T09:00:00Z" level=info msg="line ${tag}-${from + i}"`);

function withDir(fn: (dir: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rw-input-resume-'));
    try {
      await fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

describe('readInputFile with a state directory (regwatch run --input across restarts)', () => {
  test(
    'a file read completely is skipped on the next start; new content at the same path is read again',
    withDir(async (dir) => {
      const state = join(dir, 'inputs');
      const input = join(dir, 'registry.log');
      const first = logLines(0, 12_345);
      writeFileSync(input, `${first.join('\n')}\n`);

      const p1 = recorder();
      const r1 = await readInputFile(input, p1, TOPICS, { stateDir: state, batchSize: 500 });
      assert.deepEqual(p1.lines, first);
      assert.equal(r1.resume, 'fresh');
      assert.equal(r1.counts.logs, first.length);
      assert.equal(r1.complete, true);
      assert.equal(readdirSync(state).filter((f) => /^input-[0-9a-f]{16}\.json$/.test(f)).length, 1);

      // "Restart": a new reader on the same state directory publishes nothing.
      const p2 = recorder();
      const r2 = await readInputFile(input, p2, TOPICS, { stateDir: state, batchSize: 500 });
      assert.deepEqual(p2.lines, []);
      assert.equal(r2.resume, 'skipped');
      assert.equal(r2.skippedLines, first.length);

      // Only touched (mtime changed, same bytes): the lines are checked, none published again.
      utimesSync(input, new Date(), new Date(Date.now() + 5000));
      const p3 = recorder();
      const r3 = await readInputFile(input, p3, TOPICS, { stateDir: state });
      assert.deepEqual(p3.lines, []);
      assert.equal(r3.resume, 'resumed');

      // New content at the same path (same line count, other lines): read again from the start.
      const second = logLines(0, 12_345, 'b');
      writeFileSync(input, `${second.join('\n')}\n`);
      const p4 = recorder();
      const r4 = await readInputFile(input, p4, TOPICS, { stateDir: state, batchSize: 500 });
      assert.deepEqual(p4.lines, second);
      assert.equal(r4.resume, 'changed');

      // A shorter new file (fewer lines than were read before) is new too.
      writeFileSync(input, 'only one line\n');
      const p5 = recorder();
      assert.equal((await readInputFile(input, p5, TOPICS, { stateDir: state })).resume, 'changed');
      assert.deepEqual(p5.lines, ['only one line']);
    }),
  );

  test(
    'an interrupted read resumes after the last published batch: every line exactly once, in order',
    withDir(async (dir) => {
      const state = join(dir, 'inputs');
      const input = join(dir, 'registry.log');
      const all = logLines(0, 2_000);
      writeFileSync(input, `${all.join('\r\n')}\r\n\r\n`);
      const stop = new AbortController();
      // SIGTERM arrives once the third batch was published.
      const p1 = recorder((n) => n >= 300 && stop.abort());
      const r1 = await readInputFile(input, p1, TOPICS, { stateDir: state, batchSize: 100, signal: stop.signal });
      assert.equal(r1.complete, false);
      assert.equal(p1.lines.length, 300);

      const p2 = recorder();
      const r2 = await readInputFile(input, p2, TOPICS, { stateDir: state, batchSize: 100 });
      assert.equal(r2.resume, 'resumed');
      assert.equal(r2.skippedLines, 300);
      assert.equal(r2.complete, true);
      assert.deepEqual([...p1.lines, ...p2.lines], all);

      // Lines appended later are the only ones published on the next start.
      appendFileSync(input, `${logLines(2_000, 3).join('\n')}\n`);
      const p3 = recorder();
      const r3 = await readInputFile(input, p3, TOPICS, { stateDir: state });
      assert.equal(r3.resume, 'resumed');
      assert.deepEqual(p3.lines, logLines(2_000, 3));
    }),
  );

  test(
    'gzip input and a pretty-printed JSON document are remembered too; without a state dir every read publishes',
    withDir(async (dir) => {
      const state = join(dir, 'inputs');
      const gz = join(dir, 'recorded.log.gz');
      const lines = logLines(0, 1_200);
      writeFileSync(gz, gzipSync(`${lines.join('\n')}\n`));
      const stop = new AbortController();
      const p1 = recorder((n) => n >= 200 && stop.abort());
      await readInputFile(gz, p1, TOPICS, { stateDir: state, batchSize: 100, signal: stop.signal });
      const p2 = recorder();
      await readInputFile(gz, p2, TOPICS, { stateDir: state, batchSize: 100 });
      assert.deepEqual([...p1.lines, ...p2.lines], lines);
      const p3 = recorder();
      assert.equal((await readInputFile(gz, p3, TOPICS, { stateDir: state })).resume, 'skipped');
      assert.deepEqual(p3.lines, []);

      const doc = join(dir, 'webhook.json');
      const webhook = { type: 'PUSH_ARTIFACT', occur_at: 1, operator: 'u', event_data: { resources: [] } };
      writeFileSync(doc, `${JSON.stringify(webhook, null, 2)}\n`);
      const d1 = recorder();
      assert.equal((await readInputFile(doc, d1, TOPICS, { stateDir: state })).counts.harborWebhooks, 1);
      utimesSync(doc, new Date(), new Date(Date.now() + 5000));
      const d2 = recorder();
      await readInputFile(doc, d2, TOPICS, { stateDir: state });
      assert.deepEqual(d2.lines, [], 'the same document, only touched');
      writeFileSync(doc, `${JSON.stringify({ ...webhook, operator: 'other' }, null, 2)}\n`);
      const d3 = recorder();
      assert.equal((await readInputFile(doc, d3, TOPICS, { stateDir: state })).resume, 'changed');
      assert.equal(d3.lines.length, 1);

      // No state directory: nothing is remembered.
      const n1 = recorder();
      const n2 = recorder();
      await readInputFile(gz, n1, TOPICS);
      await readInputFile(gz, n2, TOPICS);
      assert.deepEqual(n1.lines, lines);
      assert.deepEqual(n2.lines, lines);
    }),
  );

  test(
    'a failed publish saves nothing past the last accepted batch: the next start publishes the rest',
    withDir(async (dir) => {
      const state = join(dir, 'inputs');
      const input = join(dir, 'registry.log');
      const all = logLines(0, 1_000);
      writeFileSync(input, `${all.join('\n')}\n`);
      const accepted: string[] = [];
      const failing: Publisher = {
        async publish(_t, messages) {
          if (accepted.length >= 400) throw new Error('bus refused');
          for (const m of messages) accepted.push(String(m.value));
        },
        async close() {},
      };
      await assert.rejects(readInputFile(input, failing, TOPICS, { stateDir: state, batchSize: 100 }), /bus refused/);
      const p2 = recorder();
      await readInputFile(input, p2, TOPICS, { stateDir: state, batchSize: 100 });
      assert.deepEqual([...accepted, ...p2.lines], all);
    }),
  );
});
