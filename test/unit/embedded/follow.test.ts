import { appendFileSync, mkdtempSync, renameSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { followFile, type LineLocation } from '../../../shared/src/io/follow.ts';
import { silentLogger } from '../../../shared/src/logger.ts';

async function until(pred: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await sleep(20);
  }
}

describe('followFile (tail -F with rotation and resume positions)', () => {
  test('reads existing and appended lines, survives a rename rotation without losing lines, strips \\r\\n', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rw-follow-'));
    try {
      const f = join(dir, 'registry.log');
      writeFileSync(f, 'one\r\ntwo\n\n');
      const got: string[] = [];
      const h = await followFile(f, async (l) => void got.push(l), { logger: silentLogger(), pollMs: 30 });
      await until(() => got.length === 2, 'initial lines');
      appendFileSync(f, 'three\n');
      await until(() => got.length === 3, 'appended line');
      // logrotate style: the old file gets one more line after the rename, then a new file appears.
      renameSync(f, `${f}.1`);
      appendFileSync(`${f}.1`, 'four (late write to the old file)\n');
      writeFileSync(f, 'five (new file)\n');
      await until(() => got.length === 5, 'lines around the rotation');
      await h.stop();
      assert.deepEqual(got, ['one', 'two', 'three', 'four (late write to the old file)', 'five (new file)']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('position() after stop resumes exactly: no line twice, a partial line is read whole later', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rw-follow-'));
    try {
      const f = join(dir, 'registry.log');
      writeFileSync(f, 'a\nb\npartial-');
      const first: string[] = [];
      const h1 = await followFile(f, async (l) => void first.push(l), { logger: silentLogger(), pollMs: 30 });
      await until(() => first.length === 2, 'first lines');
      await h1.stop();
      assert.deepEqual(first, ['a', 'b']);
      const pos = h1.position();
      assert.ok(pos);
      assert.equal(pos.pos, 4, 'just after "b\\n", before the partial line');
      appendFileSync(f, 'line completed\nc\n');
      const second: string[] = [];
      const h2 = await followFile(f, async (l) => void second.push(l), {
        logger: silentLogger(),
        pollMs: 30,
        startPos: pos.pos,
      });
      await until(() => second.length === 2, 'resumed lines');
      await h2.stop();
      assert.deepEqual(second, ['partial-line completed', 'c']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a handler that throws is logged and the next lines still arrive; a missing file rejects', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rw-follow-'));
    try {
      const f = join(dir, 'r.log');
      writeFileSync(f, 'bad\ngood\n');
      const got: string[] = [];
      const h = await followFile(
        f,
        async (l) => {
          if (l === 'bad') throw new Error('boom');
          got.push(l);
        },
        { logger: silentLogger(), pollMs: 30 },
      );
      await until(() => got.length === 1, 'good line');
      await h.stop();
      await h.stop(); // idempotent
      assert.deepEqual(got, ['good']);
      await assert.rejects(
        followFile(join(dir, 'missing.log'), async () => undefined, { logger: silentLogger() }),
        /ENOENT/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('every line comes with its exact file, inode and byte offset, across rename rotation and truncation', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rw-follow-'));
    try {
      const f = join(dir, 'registry.log');
      writeFileSync(f, 'ab\r\n\ncd\nunfinished');
      const ino1 = statSync(f).ino;
      const dev = statSync(f).dev;
      const got: [string, LineLocation][] = [];
      const h = await followFile(f, async (l, at) => void got.push([l, at]), { logger: silentLogger(), pollMs: 30 });
      await until(() => got.length === 2, 'initial lines');
      assert.deepEqual(got, [
        ['ab', { dev, ino: ino1, offset: 0 }],
        ['cd', { dev, ino: ino1, offset: 5 }],
      ]);
      assert.deepEqual(h.position(), { dev, ino: ino1, pos: 8 }, 'before stop: after the last handled line');
      // Rotation while a line is unfinished: the old file's last bytes are a line of their own.
      renameSync(f, `${f}.1`);
      writeFileSync(f, 'new-1\nnew-2\n');
      const ino2 = statSync(f).ino;
      await until(() => got.length === 5, 'lines around the rotation');
      assert.deepEqual(got.slice(2), [
        ['unfinished', { dev, ino: ino1, offset: 8 }],
        ['new-1', { dev, ino: ino2, offset: 0 }],
        ['new-2', { dev, ino: ino2, offset: 6 }],
      ]);
      assert.deepEqual(h.position(), { dev, ino: ino2, pos: 12 });
      // Truncation in place: same inode, offsets from 0 again.
      truncateSync(f, 0);
      await sleep(150);
      appendFileSync(f, 'after-truncate\n');
      await until(() => got.length === 6, 'line after the truncation');
      assert.deepEqual(got[5], ['after-truncate', { dev, ino: ino2, offset: 0 }]);
      assert.deepEqual(h.position(), { dev, ino: ino2, pos: 15 });
      await h.stop();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('position() only covers lines whose handler resolved; a failed line holds it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rw-follow-'));
    try {
      const f = join(dir, 'registry.log');
      writeFileSync(f, 'one\ntwo\nthree\n');
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const seen: string[] = [];
      const h = await followFile(
        f,
        async (l) => {
          seen.push(l);
          if (l === 'two') await gate; // not yet acknowledged by the bus
          if (l === 'three') throw new Error('bus gone');
        },
        { logger: silentLogger(), pollMs: 30 },
      );
      await until(() => seen.length === 2, 'second line in its handler');
      assert.equal(h.position()?.pos, 4, 'only "one" is done');
      release();
      await until(() => seen.length === 3, 'third line');
      await h.stop();
      assert.equal(h.position()?.pos, 8, 'held before the line whose handler threw');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
