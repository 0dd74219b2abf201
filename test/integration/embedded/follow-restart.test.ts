/**
 * `--follow` across a crash: a real follower process (follow-child.ts: `followInputs` with a
 * state directory, a publisher that appends each message before acknowledging it) is killed with
 * SIGKILL — no `stop()`, no clean save — and started again on the same state directory. It must
 * resume at the position saved periodically while it ran (not at the start of the file), and the
 * lines it reads again carry the same `regwatch.line_ref` as the first time, which is exactly
 * `file:<dev>:<ino>:<byte offset of the line>` of the file the line is in (also across a rename
 * rotation). A file rotated while the follower was down: the rest of its old generation (still
 * next to it under another name) is read first, then the new file.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import {
  appendFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';

const CHILD = join(import.meta.dirname, 'follow-child.ts');

interface Published {
  value: string;
  ref: string;
}

/** Every follower started, so a failed test cannot leave one running (it would keep this run alive). */
const children = new Set<ChildProcess>();

function startChild(file: string, state: string, out: string, saveMs: number, delayMs: number): ChildProcess {
  const c = spawn(process.execPath, [CHILD, file, state, out, String(saveMs), String(delayMs)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.add(c);
  return c;
}

async function kill9(p: ChildProcess): Promise<void> {
  children.delete(p);
  if (p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise<void>((r) => p.once('exit', () => r()));
  p.kill('SIGKILL');
  await exited;
}

after(async () => {
  for (const c of [...children]) await kill9(c);
});

/** The messages a follower published so far: complete lines only (it may be mid-write). */
const published = (out: string): Published[] =>
  existsSync(out)
    ? readFileSync(out, 'utf8')
        .split('\n')
        .slice(0, -1)
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Published)
    : [];

async function until(pred: () => boolean, what: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await sleep(20);
  }
}

/** `line → expected ref` for every complete line of `text` (a file with `dev`/`ino`). */
function refsOf(text: string, dev: number, ino: number): Map<string, string> {
  const m = new Map<string, string>();
  let off = 0;
  for (const l of text.split('\n').slice(0, -1)) {
    m.set(l, `file:${dev}:${ino}:${off}`);
    off += Buffer.byteLength(l) + 1;
  }
  return m;
}

/** The one saved follow position in `state` (follow-<hash>.json). */
function savedPosition(state: string): { ino: number; pos: number } | null {
  const f = existsSync(state) ? readdirSync(state).find((n) => /^follow-[0-9a-f]{16}\.json$/.test(n)) : undefined;
  return f ? (JSON.parse(readFileSync(join(state, f), 'utf8')) as { ino: number; pos: number }) : null;
}

const lines = (tag: string, from: number, n: number): string =>
  Array.from(
    { length: n },
    (_, i) =>
      `198.51.100.7 - - [04/May/2026:09:00:${String((from + i) % 60).padStart(2, '0')} +0000] "DELETE /v2/team/app/manifests/sha256:${tag}${from + i} HTTP/1.1" 202 0 "" "curl/8.5.0"`,
  ).join('\n') + '\n';

describe('followInputs killed with SIGKILL and restarted (real processes, real files)', () => {
  test(
    'resumes at the periodically saved position; lines read again keep their line refs',
    { timeout: 120_000 },
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'rw-follow-crash-'));
      try {
        const file = join(dir, 'registry.log');
        const state = join(dir, 'inputs');
        const out1 = join(dir, 'out1.ndjson');
        const out2 = join(dir, 'out2.ndjson');
        writeFileSync(file, lines('a', 0, 200));
        const firstPart = statSync(file).size;
        // 5 ms per publish: the 300 lines take ~1.5 s, several periodic saves (every 200 ms).
        const c1 = startChild(file, state, out1, 200, 5);
        await until(() => published(out1).length >= 200, 'first 200 lines published');
        await sleep(600);
        appendFileSync(file, lines('b', 200, 100));
        await until(() => published(out1).length >= 250, 'some appended lines published');
        await kill9(c1); // a crash: no stop(), no save at exit
        const before = published(out1);
        const saved = savedPosition(state);
        assert.ok(saved, 'a position was saved while following (not only at a clean stop)');
        assert.ok(saved.pos >= firstPart, `saved ${saved.pos} covers the first ${firstPart} bytes`);

        const c2 = startChild(file, state, out2, 200, 0);
        try {
          await until(() => before.length + published(out2).length >= 300, 'the rest after the restart');
          await sleep(300);
        } finally {
          await kill9(c2);
        }
        const after = published(out2);
        const text = readFileSync(file, 'utf8');
        const st = statSync(file);
        const expected = refsOf(text, st.dev, st.ino);
        // The restart started exactly at the saved position: its first line is the one at `pos`.
        assert.equal(after[0]?.ref, `file:${st.dev}:${st.ino}:${saved.pos}`);
        // Nothing lost, each line's ref is the exact place of the line, in both runs.
        assert.deepEqual(new Set([...before, ...after].map((p) => p.value)), new Set(expected.keys()));
        for (const p of [...before, ...after]) assert.equal(p.ref, expected.get(p.value), p.value);
        // Lines published twice (after the last save, before the kill) have the same ref both times.
        const firstRef = new Map(before.map((p) => [p.value, p.ref]));
        const again = after.filter((p) => firstRef.has(p.value));
        for (const p of again) assert.equal(p.ref, firstRef.get(p.value));
        assert.equal(again.length, before.length + after.length - 300, 'only lines after the save were read again');
        process.stderr.write(`# re-read after SIGKILL: ${again.length} lines\n`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  test(
    'rotation, then SIGKILL, then restart: resumes in the new file; the rotated file is not read again',
    { timeout: 120_000 },
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'rw-follow-crash-'));
      try {
        const file = join(dir, 'registry.log');
        const state = join(dir, 'inputs');
        const out1 = join(dir, 'out1.ndjson');
        const out2 = join(dir, 'out2.ndjson');
        writeFileSync(file, lines('old', 0, 100));
        const c1 = startChild(file, state, out1, 200, 2);
        await until(() => published(out1).length >= 100, 'old file read');
        renameSync(file, `${file}.1`);
        appendFileSync(`${file}.1`, lines('late', 100, 5)); // a late write to the rotated file
        writeFileSync(file, lines('new', 0, 50));
        await until(() => published(out1).length >= 155, 'both files read');
        await sleep(600); // a periodic save in the new file
        appendFileSync(file, lines('more', 50, 40));
        await until(() => published(out1).length >= 165, 'some appended lines published');
        await kill9(c1);
        const before = published(out1);
        const saved = savedPosition(state);
        assert.ok(saved);
        assert.equal(saved.ino, statSync(file).ino, 'the saved position is in the new file');

        const c2 = startChild(file, state, out2, 200, 0);
        try {
          await until(() => before.length + published(out2).length >= 195, 'the rest after the restart');
          await sleep(300);
        } finally {
          await kill9(c2);
        }
        const after = published(out2);
        const oldSt = statSync(`${file}.1`);
        const newSt = statSync(file);
        const expected = new Map([
          ...refsOf(readFileSync(`${file}.1`, 'utf8'), oldSt.dev, oldSt.ino),
          ...refsOf(readFileSync(file, 'utf8'), newSt.dev, newSt.ino),
        ]);
        assert.equal(expected.size, 195);
        assert.deepEqual(new Set([...before, ...after].map((p) => p.value)), new Set(expected.keys()));
        for (const p of [...before, ...after]) assert.equal(p.ref, expected.get(p.value), p.value);
        assert.ok(
          after.every((p) => p.ref.startsWith(`file:${newSt.dev}:${newSt.ino}:`)),
          'nothing of the rotated file is published again',
        );
        assert.equal(after[0]?.ref, `file:${newSt.dev}:${newSt.ino}:${saved.pos}`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  test(
    'rotated while stopped: the rest of the old generation (lines written after the saved position) is read, then the new file',
    { timeout: 120_000 },
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'rw-follow-crash-'));
      try {
        const file = join(dir, 'registry.log');
        const state = join(dir, 'inputs');
        const out1 = join(dir, 'out1.ndjson');
        const out2 = join(dir, 'out2.ndjson');
        writeFileSync(file, lines('first', 0, 60));
        const c1 = startChild(file, state, out1, 100, 0);
        await until(() => published(out1).length >= 60, 'first lines read');
        await until(() => savedPosition(state)?.pos === statSync(file).size, 'position saved at the end');
        await kill9(c1);
        // While it is down: more lines into the file, then an mv rotation and a new file.
        appendFileSync(file, lines('unread', 60, 30));
        renameSync(file, `${file}.1`);
        writeFileSync(file, lines('new', 0, 20));
        const c2 = startChild(file, state, out2, 100, 0);
        try {
          await until(() => published(out2).length >= 50, 'the old rest and the new file');
          await sleep(300);
        } finally {
          await kill9(c2);
        }
        const after = published(out2);
        const oldSt = statSync(`${file}.1`);
        const newSt = statSync(file);
        const oldRefs = refsOf(readFileSync(`${file}.1`, 'utf8'), oldSt.dev, oldSt.ino);
        const newRefs = refsOf(readFileSync(file, 'utf8'), newSt.dev, newSt.ino);
        assert.equal(after.length, 50, 'nothing lost, nothing twice');
        // The 30 unread lines of the old generation first, in order, with their refs in that file.
        assert.deepEqual(
          after.slice(0, 30).map((p) => p.value),
          lines('unread', 60, 30).split('\n').filter(Boolean),
        );
        for (const p of after.slice(0, 30)) assert.equal(p.ref, oldRefs.get(p.value));
        for (const p of after.slice(30)) assert.equal(p.ref, newRefs.get(p.value));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
