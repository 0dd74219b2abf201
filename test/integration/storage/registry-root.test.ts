/**
 * The filesystem collector against the storage root of the real Distribution registry (Debian
 * docker-registry 2.8, filesystem driver) after real `skopeo copy` pushes: the registry-tree
 * accounting must equal the bytes of the pushed blobs (layers + config + manifest) exactly, and
 * statfs must describe the volume the root lives on (checked against `df`).
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collectFilesystem, treeUsage } from '../../../services/detector/src/storage/filesystem.ts';
import { readLocalSamples } from '../../../services/detector/src/storage/sink.ts';
import type { StorageSampleRecord } from '../../../services/detector/src/storage/types.ts';
import { buildOciLayout, skopeo, startRegistry, type OciLayout, type RegistryHandle } from '../../helpers/registry.ts';

const REPO_ROOT = join(import.meta.dirname, '..', '..', '..');
const USER = 'pusher';
const PASSWORD = 'pusher-pass-1';

const exec = (cmd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
  new Promise((resolve) => {
    execFile(cmd, args, { cwd: REPO_ROOT, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });

/** Digest → byte length of every blob file in an OCI layout (layers, config, manifest). */
async function layoutBlobSizes(layout: OciLayout): Promise<Map<string, number>> {
  const dir = join(layout.dir, 'blobs', 'sha256');
  const out = new Map<string, number>();
  for (const hex of await readdir(dir)) out.set(`sha256:${hex}`, (await stat(join(dir, hex))).size);
  return out;
}

/** Digests stored by the registry: `docker/registry/v2/blobs/sha256/<2 hex>/<hex>/data`. */
async function registryDigests(storageDir: string): Promise<Set<string>> {
  const base = join(storageDir, 'docker', 'registry', 'v2', 'blobs', 'sha256');
  const out = new Set<string>();
  for (const pre of await readdir(base))
    for (const hex of await readdir(join(base, pre))) {
      await stat(join(base, pre, hex, 'data')); // throws if the blob has no data file
      out.add(`sha256:${hex}`);
    }
  return out;
}

const sum = (m: Map<string, number>): number => [...m.values()].reduce((a, b) => a + b, 0);

async function push(reg: RegistryHandle, layout: OciLayout, repo: string): Promise<void> {
  const r = await skopeo([
    'copy',
    '--dest-tls-verify=false',
    '--dest-creds',
    `${USER}:${PASSWORD}`,
    layout.reference,
    `docker://${reg.host}/${repo}:${layout.tag}`,
  ]);
  assert.equal(r.code, 0, `skopeo copy failed: ${r.stderr}`);
  // the registry stored the manifest under the digest the layout computed (no conversion)
  const head = await fetch(`${reg.url}/v2/${repo}/manifests/${layout.tag}`, {
    method: 'HEAD',
    headers: {
      authorization: `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`,
      accept: layout.mediaType,
    },
  });
  assert.equal(head.status, 200);
  assert.equal(head.headers.get('docker-content-digest'), layout.digest);
}

void describe('collector on the real registry storage root after skopeo pushes', () => {
  let reg: RegistryHandle;
  let work: string;
  let first: OciLayout;
  let second: OciLayout;
  let firstSizes: Map<string, number>;
  let secondSizes: Map<string, number>;
  let afterFirst: StorageSampleRecord;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'rw-storage-reg-'));
    reg = await startRegistry({ users: { [USER]: PASSWORD }, accessLog: false });
    first = await buildOciLayout(join(work, 'img1'), { tag: 'v1', layers: 3, layerBytes: 150_000 });
    second = await buildOciLayout(join(work, 'img2'), { tag: 'v2', layers: 2, layerBytes: 70_000 });
    firstSizes = await layoutBlobSizes(first);
    secondSizes = await layoutBlobSizes(second);
  });
  after(async () => {
    await reg.stop();
    await rm(work, { recursive: true, force: true });
  });

  void test('blobs accounting equals layer + config + manifest bytes of the push, exactly', async (t) => {
    // 3 layers + config + manifest, each a distinct blob
    assert.equal(firstSizes.size, 5);
    const img = first.images[0];
    assert.ok(img);
    assert.deepEqual(new Set(firstSizes.keys()), new Set([...img.layerDigests, img.configDigest, img.manifestDigest]));
    const expected = sum(firstSizes);
    assert.ok(expected > 3 * 150_000, `random layers do not compress: ${expected}`);

    await push(reg, first, 'team/app');
    assert.deepEqual(await registryDigests(reg.storageDir), new Set(firstSizes.keys()));

    afterFirst = await collectFilesystem(reg.storageDir, new Date('2026-03-02T14:00:00Z'));
    const rb = afterFirst.registry_bytes;
    assert.ok(rb?.apparent);
    assert.equal(rb.apparent.blobs, expected);
    // repositories/ holds link files only, each `sha256:<64 hex>` (71 bytes): one per layer and
    // config in _layers, the manifest revision, the tag's current link and its index entry
    const repos = await treeUsage(join(reg.storageDir, 'docker', 'registry', 'v2', 'repositories'));
    assert.equal(repos.files, 3 + 1 + 3);
    assert.equal(rb.apparent.repositories, 71 * 7);
    assert.equal(rb.apparent.total, expected + 71 * 7);
    // allocated blocks cover the content, at most one 64 KiB block of slack per file
    assert.ok(rb.blobs >= expected && rb.blobs <= expected + 5 * 65_536, `allocated blobs ${rb.blobs}`);
    assert.equal(rb.total, rb.blobs + rb.repositories);
    assert.equal(afterFirst.scope, `fs:${reg.storageDir}`);
    assert.equal(afterFirst.source, 'statfs');
    t.diagnostic(
      `pushed blobs ${[...firstSizes.values()].join(' + ')} = ${expected} B; apparent blobs ${rb.apparent.blobs} B, ` +
        `allocated ${rb.blobs} B; repositories ${rb.apparent.repositories} B; ` +
        `statfs used ${afterFirst.used_bytes} of ${afterFirst.capacity_bytes} B`,
    );
  });

  void test('statfs used/capacity describe the volume of the storage root (checked against df)', async () => {
    const s = afterFirst;
    assert.ok(s.capacity_bytes > s.used_bytes && s.used_bytes > 0, `used ${s.used_bytes} of ${s.capacity_bytes}`);
    // the registry's files live on that volume
    assert.ok(s.used_bytes >= (s.registry_bytes?.total ?? Infinity));
    const df = await exec('df', ['-B1', '--output=size,used', reg.storageDir]);
    assert.equal(df.code, 0, df.stderr);
    const [size, used] = (df.stdout.trim().split('\n')[1] ?? '').trim().split(/\s+/).map(Number);
    assert.equal(s.capacity_bytes, size);
    // other processes write to the same volume meanwhile: same order of magnitude, not equal
    assert.ok(used !== undefined && Math.abs(s.used_bytes - used) < 0.05 * s.capacity_bytes, `df used ${used}`);
  });

  void test('a second push into another repository adds exactly its blob bytes', async () => {
    await push(reg, second, 'team/tools');
    const s = await collectFilesystem(reg.storageDir);
    assert.equal(s.registry_bytes?.apparent?.blobs, sum(firstSizes) + sum(secondSizes));
    // 2 layers + config + revision + tag current + tag index, 71 bytes each
    assert.equal(s.registry_bytes?.apparent?.repositories, 71 * 7 + 71 * 6);
  });

  void test('`regwatch collect-storage --path <root> --once` reports the same accounting', async () => {
    const data = await mkdtemp(join(tmpdir(), 'rw-storage-cli-'));
    try {
      const r = await exec('sh', [
        join(REPO_ROOT, 'bin', 'regwatch'),
        'collect-storage',
        '--path',
        reg.storageDir,
        '--once',
        '--data-dir',
        data,
      ]);
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.trim().split('\n');
      assert.equal(lines.length, 1);
      const printed = JSON.parse(lines[0] ?? '') as StorageSampleRecord;
      assert.equal(printed.scope, `fs:${reg.storageDir}`);
      assert.ok(Number.isFinite(Date.parse(printed.timestamp)));
      assert.ok(printed.capacity_bytes > printed.used_bytes && printed.used_bytes > 0);
      assert.deepEqual(printed.registry_bytes?.apparent, {
        blobs: sum(firstSizes) + sum(secondSizes),
        repositories: 71 * 13,
        total: sum(firstSizes) + sum(secondSizes) + 71 * 13,
      });
      // and the embedded store holds the same sample
      const { byScope, skipped } = await readLocalSamples(data);
      assert.equal(skipped, 0);
      assert.deepEqual(byScope.get(printed.scope), [printed]);
    } finally {
      await rm(data, { recursive: true, force: true });
    }
  });
});
