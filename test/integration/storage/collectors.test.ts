import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { execFile } from 'node:child_process';
import { mkdtemp, mkdir, writeFile, rm, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { collectFilesystem, treeBytes } from '../../../services/detector/src/storage/filesystem.ts';
import { collectHarborQuota } from '../../../services/detector/src/storage/harbor.ts';
import { localStoreSink, readLocalSamples } from '../../../services/detector/src/storage/sink.ts';
import { AppError } from '../../../shared/src/errors.ts';

const root = join(import.meta.dirname, '..', '..', '..');
const run = (
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> =>
  new Promise((resolve) => {
    execFile(
      'sh',
      [join(root, 'bin', 'regwatch'), ...args],
      { cwd: root, env: { ...process.env, ...env } },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });

void describe('filesystem collector on a real directory tree', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rw-storage-'));
    const v2 = join(dir, 'docker', 'registry', 'v2');
    // layout of the Distribution filesystem driver: blobs/sha256/<2 hex>/<digest>/data
    for (const [digest, size] of [
      ['aa11', 300_000],
      ['bb22', 1_200_000],
      ['cc33', 4096],
    ] as const) {
      const d = join(v2, 'blobs', 'sha256', digest.slice(0, 2), digest);
      await mkdir(d, { recursive: true });
      await writeFile(join(d, 'data'), Buffer.alloc(size, 7));
    }
    const link = join(v2, 'repositories', 'team', 'app', '_layers', 'sha256', 'aa11');
    await mkdir(link, { recursive: true });
    await writeFile(join(link, 'link'), 'sha256:aa11');
    await writeFile(join(dir, 'unrelated.bin'), Buffer.alloc(50_000, 1));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  void test('statfs gives the volume, the walk gives the registry bytes', async () => {
    const s = await collectFilesystem(dir, new Date('2026-03-02T14:00:00Z'));
    assert.equal(s.scope, `fs:${dir}`);
    assert.equal(s.timestamp, '2026-03-02T14:00:00.000Z');
    assert.ok(s.capacity_bytes > 0 && s.used_bytes > 0 && s.used_bytes <= s.capacity_bytes);
    const blobs = s.registry_bytes?.blobs ?? 0;
    // allocated bytes: at least the apparent sizes, at most one extra 64 KiB block per file
    assert.ok(blobs >= 300_000 + 1_200_000 + 4096 - 3 * 4096 && blobs <= 1_504_096 + 3 * 65_536, `blobs ${blobs}`);
    assert.ok((s.registry_bytes?.repositories ?? 0) > 0);
    assert.equal(s.registry_bytes?.total, blobs + (s.registry_bytes?.repositories ?? 0));
    // the unrelated file is not the registry's
    const all = await treeBytes(dir);
    assert.ok(all > (s.registry_bytes?.total ?? 0));
    assert.equal(await treeBytes(join(dir, 'missing')), 0);
  });

  void test('a missing root is a clear retriable error', async () => {
    await assert.rejects(
      collectFilesystem(join(dir, 'nope')),
      (e: unknown) => e instanceof AppError && e.code === 'STORAGE_COLLECT_FAILED' && e.retriable,
    );
  });

  void test('collect-storage --once writes the local store and prints NDJSON; report capacity reads it', async () => {
    const data = await mkdtemp(join(tmpdir(), 'rw-data-'));
    const r = await run(['collect-storage', '--path', dir, '--once', '--data-dir', data]);
    assert.equal(r.code, 0, r.stderr);
    const line = JSON.parse(r.stdout.trim()) as { scope: string; used_bytes: number };
    assert.equal(line.scope, `fs:${dir}`);
    const { byScope } = await readLocalSamples(data);
    assert.equal(byScope.get(`fs:${dir}`)?.length, 1);
    // add a month of history for the same scope, then build the report from the store
    const sink = localStoreSink(data);
    const hist = [];
    for (let h = 0; h < 30 * 24; h++)
      hist.push({
        timestamp: new Date(Date.UTC(2026, 1, 1) + h * 3_600_000).toISOString(),
        used_bytes: 1e11 + h * 2e8,
        capacity_bytes: 1e12,
        scope: 'fs:/srv/registry',
      });
    await sink.write(hist);
    await writeFile(join(data, 'storage', 'samples.ndjson'), 'not json\n', { flag: 'a' });
    const out = join(data, 'report');
    const rep = await run(['report', 'capacity', '--out', out, '--data-dir', data]);
    assert.equal(rep.code, 0, rep.stderr);
    assert.match(rep.stderr, /skipped 1 unreadable line/);
    assert.match(rep.stderr, /left out: FORECAST_INPUT_INVALID/);
    const md = await readFile(join(out, 'capacity.md'), 'utf8');
    // The fixture's samples end in March 2026, so the report flags the scope as stale.
    assert.match(md, /\| fs:\/srv\/registry( \(STALE\))? \|/);
    assert.ok((await stat(join(out, 'capacity.png'))).size > 5000);
    await rm(data, { recursive: true, force: true });
  });
});

void describe('Harbor quota collector against a local server answering as Harbor documents', () => {
  let server: Server;
  let base: string;
  const seen: { url: string; auth?: string; resName?: string }[] = [];
  before(async () => {
    server = createServer((req, res) => {
      seen.push({
        url: req.url ?? '',
        auth: req.headers.authorization,
        resName: req.headers['x-is-resource-name'] as string | undefined,
      });
      const m = /^\/api\/v2\.0\/projects\/([^/]+)\/summary$/.exec(req.url ?? '');
      if (req.headers.authorization !== `Basic ${Buffer.from('robot$reader:s3cret').toString('base64')}`) {
        res
          .writeHead(401, { 'content-type': 'application/json' })
          .end('{"errors":[{"code":"UNAUTHORIZED","message":"unauthorized"}]}');
        return;
      }
      const name = decodeURIComponent(m?.[1] ?? '');
      if (name === 'library') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            repo_count: 3,
            chart_count: 0,
            project_admin_count: 1,
            quota: { hard: { storage: 10737418240 }, used: { storage: 2147483648 } },
          }),
        );
      } else if (name === 'unlimited') {
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ repo_count: 1, quota: { hard: { storage: -1 }, used: { storage: 5000 } } }));
      } else if (name === 'busy') {
        res.writeHead(503).end();
      } else {
        res
          .writeHead(404, { 'content-type': 'application/json' })
          .end('{"errors":[{"code":"NOT_FOUND","message":"project not found"}]}');
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  const auth = { username: 'robot$reader', password: 's3cret' };
  void test('quota used/hard become used/capacity bytes', async () => {
    const s = await collectHarborQuota('library', { baseUrl: base, ...auth }, new Date('2026-03-02T00:00:00Z'));
    assert.deepEqual(s, {
      timestamp: '2026-03-02T00:00:00.000Z',
      used_bytes: 2147483648,
      capacity_bytes: 10737418240,
      scope: 'harbor:library',
      source: 'harbor_quota',
    });
    assert.equal(seen.at(-1)?.resName, 'true');
    const u = await collectHarborQuota('unlimited', { baseUrl: base + '/', ...auth });
    assert.equal(u.capacity_bytes, 0);
  });
  void test('errors: 401/404 not retriable, 503 retriable, unreachable retriable', async () => {
    const check = (retriable: boolean) => (e: unknown) =>
      e instanceof AppError && e.code === 'STORAGE_COLLECT_FAILED' && e.retriable === retriable;
    await assert.rejects(collectHarborQuota('library', { baseUrl: base, username: 'x', password: 'y' }), check(false));
    await assert.rejects(collectHarborQuota('ghost', { baseUrl: base, ...auth }), check(false));
    await assert.rejects(collectHarborQuota('busy', { baseUrl: base, ...auth }), check(true));
    await assert.rejects(
      collectHarborQuota('library', { baseUrl: 'http://127.0.0.1:1', ...auth, timeoutMs: 2000 }),
      check(true),
    );
  });
  void test('collect-storage --harbor-project via the CLI, credentials from the environment', async () => {
    const data = await mkdtemp(join(tmpdir(), 'rw-data-'));
    const r = await run(
      ['collect-storage', '--harbor-url', base, '--harbor-project', 'library', '--once', '--data-dir', data],
      { HARBOR_USERNAME: 'robot$reader', HARBOR_PASSWORD: 's3cret' },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout.trim()) as { used_bytes: number }).used_bytes, 2147483648);
    assert.ok(!r.stderr.includes('s3cret'));
    await rm(data, { recursive: true, force: true });
  });
});
