import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppError } from '../../../shared/src/errors.ts';
import { dataDirLayout, makeDirs, prepareDataDir } from '../../../services/embedded/src/data-dir.ts';
import { ROOT, regwatch } from './cli-run.ts';

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'rw-run-start-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('data directory creation cannot loop', () => {
  test('makeDirs creates nested directories and accepts existing ones', () => {
    const d = join(dir, 'a', 'b', 'c');
    makeDirs(d);
    makeDirs(d);
    const release = prepareDataDir(dataDirLayout(join(dir, 'x', 'y')));
    release();
  });

  test('a directory under /proc fails at once with EMBEDDED_START_FAILED (Node recursive mkdir spins there)', () => {
    for (const root of ['/proc/nope', '/proc/nope/deeper/still']) {
      assert.throws(
        () => prepareDataDir(dataDirLayout(root)),
        (err: unknown) => {
          assert.ok(err instanceof AppError);
          assert.equal(err.code, 'EMBEDDED_START_FAILED');
          assert.match(err.message, /cannot create data directory .*ENOENT.*\/proc\/nope/);
          return true;
        },
      );
    }
  });

  test('a path under a regular file is ENOTDIR', () => {
    const f = join(dir, 'file');
    writeFileSync(f, '');
    assert.throws(() => prepareDataDir(dataDirLayout(join(f, 'sub'))), /ENOTDIR/);
  });
});

describe('regwatch run start-up', () => {
  test('--data-dir /proc/nope exits 1 with a clear error instead of hanging', async () => {
    const r = await regwatch(['run', '--data-dir', '/proc/nope', '--port', '0', '--alerts-port', '0'], {
      killAfterMs: 60_000,
    });
    assert.equal(r.signal, null, 'the process had to be killed: it hung');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /regwatch: EMBEDDED_START_FAILED: cannot create data directory \/proc\/nope: ENOENT/);
  });

  test('SIGTERM during start-up (while a large --input is read) stops the process cleanly', async () => {
    const input = join(dir, 'big.log');
    const line =
      'time="2026-01-05T10:00:00Z" level=info msg="response completed" http.request.method=GET http.request.uri="/v2/team/app/manifests/latest" http.response.status=200\n';
    writeFileSync(input, line.repeat(150_000));
    let sent = false;
    const r = await regwatch(
      [
        'run',
        '--data-dir',
        join(dir, 'data'),
        '--port',
        '0',
        '--alerts-port',
        '0',
        '--input',
        input,
        '--log-level',
        'info',
      ],
      {
        killAfterMs: 120_000,
        onStderr: (chunk, child) => {
          // The first log line means the signal handlers are installed and start-up is under way.
          if (!sent && chunk.includes('"level"')) {
            sent = true;
            child.kill('SIGTERM');
          }
        },
      },
    );
    assert.ok(sent, 'no log line seen before exit');
    assert.equal(r.signal, null, 'SIGTERM was ignored: the process had to be killed');
    assert.match(r.stderr, /SIGTERM during start-up/);
    assert.match(r.stderr, /stopped cleanly/);
    assert.equal(r.code, 0);
  });

  test('--input FILE.gz is decompressed (every line published as a log line, none rejected)', async () => {
    const sample = readFileSync(
      join(ROOT, 'test/fixtures/registry-samples/16-dist-applog-v3-json-pull-and-push.ndjson'),
    );
    const lines = sample
      .toString('utf8')
      .split('\n')
      .filter((l) => l.trim() !== '').length;
    const gz = join(dir, 'recorded.log.gz');
    writeFileSync(gz, gzipSync(sample));
    let sent = false;
    const r = await regwatch(
      ['run', '--data-dir', join(dir, 'data-gz'), '--no-receiver', '--no-alerts-api', '--input', gz],
      {
        onStderr: (_chunk, child) => {
          if (!sent && /"msg":"input file read"/.test(_chunk)) {
            sent = true;
            child.kill('SIGTERM');
          }
        },
      },
    );
    assert.equal(r.code, 0, r.stderr);
    const read = r.stderr
      .split('\n')
      .filter((l) => l.includes('"msg":"input file read"'))
      .map((l) => JSON.parse(l) as { logs: number; notifications: number });
    assert.equal(read.length, 1, r.stderr);
    assert.equal(read[0]!.logs, lines);
    assert.doesNotMatch(r.stderr, /unknown_format/);
  });
});
