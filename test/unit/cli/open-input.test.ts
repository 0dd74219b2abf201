import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { gzipSync } from 'node:zlib';
import { AppError } from '../../../shared/src/errors.ts';
import { fileIsGzip, inputReadError, isGzipMagic, openInput } from '../../../shared/src/io/open-input.ts';
import { createMemoryBus } from '../../../shared/src/bus/memory.ts';
import { TOPICS } from '../../../shared/src/topics.ts';
import { silentLogger } from '../../../shared/src/logger.ts';
import { followInputs, readInputFile } from '../../../services/embedded/src/inputs.ts';
import { newSummary, readInputEvents } from '../../../services/detector/src/pipeline/analyze.ts';

const PLAIN = 'line one\nline two\n';
let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'rw-open-input-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('openInput: one opener for files and stdin, gzip by magic bytes', () => {
  test('isGzipMagic looks at the bytes only', () => {
    assert.equal(isGzipMagic(Buffer.from([0x1f, 0x8b, 8])), true);
    assert.equal(isGzipMagic(Buffer.from([0x1f])), false);
    assert.equal(isGzipMagic(Buffer.from('{"a":1}')), false);
  });

  test('a gzip file is decompressed whatever its name; a plain .gz-named file is read as is', async () => {
    const gz = join(dir, 'registry.log'); // gzip content without a .gz name
    writeFileSync(gz, gzipSync(PLAIN));
    const o = await openInput(gz);
    assert.equal(o.gzip, true);
    assert.equal(o.name, gz);
    assert.ok(o.size !== null && o.size > 0);
    assert.equal(await text(o.stream), PLAIN);
    assert.equal(fileIsGzip(gz), true);

    const fake = join(dir, 'plain.gz');
    writeFileSync(fake, PLAIN);
    const p = await openInput(fake);
    assert.equal(p.gzip, false);
    assert.equal(await text(p.stream), PLAIN);
    assert.equal(fileIsGzip(fake), false);
  });

  test('concatenated gzip members read as one stream', async () => {
    const f = join(dir, 'multi.gz');
    writeFileSync(f, Buffer.concat([gzipSync('a\n'), gzipSync('b\n')]));
    assert.equal(await text((await openInput(f)).stream), 'a\nb\n');
  });

  test('"-" reads the given stdin, gzip included, even when it arrives one byte at a time', async () => {
    const gz = gzipSync(PLAIN);
    const stdin = new PassThrough();
    const opening = openInput('-', { stdin });
    for (const b of gz) {
      stdin.write(Buffer.from([b]));
      await new Promise((r) => setImmediate(r));
    }
    stdin.end();
    const o = await opening;
    assert.equal(o.name, 'stdin');
    assert.equal(o.gzip, true);
    assert.equal(o.size, null);
    assert.equal(await text(o.stream), PLAIN);
    const empty = await openInput('-', { stdin: Readable.from([]) });
    assert.equal(await text(empty.stream), '');
  });

  test('missing file and directory are INPUT_UNREADABLE naming the path, not retriable', async () => {
    for (const p of [join(dir, 'missing.log'), dir]) {
      await assert.rejects(openInput(p), (err: unknown) => {
        assert.ok(err instanceof AppError);
        assert.equal(err.code, 'INPUT_UNREADABLE');
        assert.equal(err.retriable, false);
        assert.match(err.message, new RegExp(`cannot read ${p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
        return true;
      });
    }
  });

  test('corrupt gzip fails while reading; inputReadError names the file and says gzip', async () => {
    const f = join(dir, 'corrupt.gz');
    writeFileSync(f, Buffer.concat([Buffer.from([0x1f, 0x8b]), Buffer.from('not really gzip at all, sorry')]));
    const o = await openInput(f);
    await assert.rejects(text(o.stream), (err: unknown) => {
      const e = inputReadError(f, err);
      assert.equal(e.code, 'INPUT_UNREADABLE');
      assert.match(e.message, /corrupt or truncated gzip/);
      assert.match(e.message, /corrupt\.gz/);
      return true;
    });
  });
});

describe('gzip through the readers that use openInput', () => {
  test('readInputFile (regwatch run --input) reads a gzip file line by line and as one document', async () => {
    const lines = join(dir, 'input-lines.log.gz');
    writeFileSync(lines, gzipSync('first log line\n\nsecond log line\n'));
    const doc = join(dir, 'input-doc.gz');
    writeFileSync(doc, gzipSync(JSON.stringify({ events: [{ id: 'x', action: 'pull' }] }, null, 2)));
    const bus = createMemoryBus();
    try {
      await bus.ensureTopics(Object.values(TOPICS), 1);
      const counts = (await readInputFile(lines, bus.publisher(), TOPICS)).counts;
      assert.deepEqual(counts, { notifications: 0, logs: 2, harborWebhooks: 0 });
      const docCounts = (await readInputFile(doc, bus.publisher(), TOPICS)).counts;
      assert.deepEqual(docCounts, { notifications: 1, logs: 0, harborWebhooks: 0 });
      const seen: string[] = [];
      const sub = await bus.subscribe({ groupId: 't', topics: [TOPICS.logs] }, async (b) => {
        seen.push(...b.map((m) => m.value.toString()));
      });
      while (seen.length < 2) await new Promise((r) => setTimeout(r, 10));
      await sub.close();
      assert.deepEqual(seen, ['first log line', 'second log line']);
    } finally {
      await bus.close();
    }
  });

  test('readInputFile on a corrupt gzip is INPUT_UNREADABLE', async () => {
    const f = join(dir, 'bad-input.gz');
    writeFileSync(f, Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0]), Buffer.alloc(40, 7)]));
    const bus = createMemoryBus();
    try {
      await bus.ensureTopics(Object.values(TOPICS), 1);
      await assert.rejects(readInputFile(f, bus.publisher(), TOPICS), { code: 'INPUT_UNREADABLE' });
    } finally {
      await bus.close();
    }
  });

  test('followInputs (--follow) refuses a gzip file clearly and starts nothing', async () => {
    const plain = join(dir, 'follow-plain.log');
    writeFileSync(plain, 'x\n');
    const gz = join(dir, 'follow.log.gz');
    writeFileSync(gz, gzipSync('x\n'));
    const bus = createMemoryBus();
    try {
      await assert.rejects(
        followInputs({ paths: [plain, gz], publisher: bus.publisher(), topics: TOPICS, logger: silentLogger() }),
        (err: unknown) => {
          assert.ok(err instanceof AppError);
          assert.equal(err.code, 'INPUT_UNREADABLE');
          assert.match(err.message, /gzip-compressed.*--input/);
          return true;
        },
      );
    } finally {
      await bus.close();
    }
  });

  test('empty inputs (file, stdin, pipe) end at once for the reader; the other inputs are still read', async () => {
    const empty = join(dir, 'empty.log');
    writeFileSync(empty, '');
    const events = join(dir, 'events.ndjson');
    writeFileSync(
      events,
      '{"events":[{"id":"e-1","timestamp":"2026-03-02T10:00:00Z","action":"pull","target":{"mediaType":"application/vnd.oci.image.manifest.v1+json","repository":"team/app","digest":"sha256:' +
        'a'.repeat(64) +
        '","tag":"1.0"},"request":{"id":"r-1","addr":"192.0.2.1:5000","method":"GET","useragent":"skopeo/1.9"},"actor":{"name":"alice"}}]}\n',
    );
    // Before: peeking at an empty input consumed its 'end', and analyze waited forever (exit 13).
    for (const open of [() => openInput(empty), () => openInput('-', { stdin: Readable.from([]) })]) {
      const o = await open();
      assert.equal(await text(o.stream), '');
    }
    const stdin = new PassThrough();
    stdin.end();
    const inputs = [await openInput(events), await openInput('-', { stdin }), await openInput(empty)];
    const summary = newSummary();
    const got: string[] = [];
    for await (const ev of readInputEvents(
      inputs.map((o) => ({ name: o.name, stream: o.stream })),
      summary,
    ))
      got.push(ev.id);
    assert.deepEqual(got, ['e-1']);
  });

  test('readInputEvents (regwatch analyze) wraps a failing stream as INPUT_UNREADABLE', async () => {
    const f = join(dir, 'bad-analyze.gz');
    writeFileSync(f, Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0]), Buffer.alloc(40, 7)]));
    const o = await openInput(f);
    await assert.rejects(
      (async () => {
        for await (const _ of readInputEvents([{ name: o.name, stream: o.stream }], newSummary())) void _;
      })(),
      (err: unknown) => {
        assert.ok(err instanceof AppError);
        assert.equal(err.code, 'INPUT_UNREADABLE');
        assert.match(err.message, /bad-analyze\.gz/);
        return true;
      },
    );
  });
});
