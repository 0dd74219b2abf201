import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { buildOciLayout, tarOneFile } from '../../../shared/src/demo/oci-layout.ts';
import { htpasswdLines, registryConfig } from '../../../shared/src/demo/registry.ts';
import { AppError } from '../../../shared/src/errors.ts';
import { dataDirLayout, prepareDataDir } from '../../../services/embedded/src/data-dir.ts';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('demo registry driver', () => {
  test('an OCI layout whose blobs match their digests, with a layer real tar can list', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rw-oci-'));
    try {
      const img = await buildOciLayout(dir, 'v1', { layerBytes: 1000, fileName: 'hello.bin' });
      const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as {
        manifests: { digest: string; annotations: Record<string, string> }[];
      };
      assert.equal(index.manifests[0]!.digest, img.manifestDigest);
      assert.equal(index.manifests[0]!.annotations['org.opencontainers.image.ref.name'], 'v1');
      const blob = (d: string): Buffer => readFileSync(join(dir, 'blobs', 'sha256', d.replace('sha256:', '')));
      const manifest = JSON.parse(blob(img.manifestDigest).toString()) as {
        config: { digest: string; size: number };
        layers: { digest: string; size: number }[];
      };
      for (const d of [manifest.config, ...manifest.layers]) {
        assert.equal(`sha256:${sha(blob(d.digest))}`, d.digest);
        assert.equal(blob(d.digest).length, d.size);
      }
      const layerFile = join(dir, 'layer.tgz');
      writeFileSync(layerFile, blob(manifest.layers[0]!.digest));
      assert.equal(execFileSync('tar', ['-tzf', layerFile]).toString().trim(), 'hello.bin');
      const config = JSON.parse(blob(manifest.config.digest).toString()) as { rootfs: { diff_ids: string[] } };
      assert.equal(config.rootfs.diff_ids[0], `sha256:${sha(gunzipSync(blob(manifest.layers[0]!.digest)))}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('tar headers carry a valid checksum and a size padded to 512-byte blocks', () => {
    const t = tarOneFile('a.txt', Buffer.from('hello'), 0);
    assert.equal(t.length, 512 + 512 + 1024);
    const header = Buffer.from(t.subarray(0, 512));
    const stored = parseInt(header.toString('ascii', 148, 154), 8);
    header.write('        ', 148, 'ascii');
    assert.equal(
      stored,
      header.reduce((s, b) => s + b, 0),
    );
    assert.throws(() => tarOneFile('x'.repeat(100), Buffer.alloc(0), 0), RangeError);
  });

  test('registry config: JSON logs, htpasswd auth, notifications with a bearer header', () => {
    const c = registryConfig({
      port: 5001,
      storageDir: '/s',
      htpasswdFile: '/h',
      notifications: { url: 'http://127.0.0.1:8080/v1/notifications', token: 't0k' },
    });
    // What docker-registry reads: the YAML document startLocalRegistry writes.
    const y = parseYaml(toYaml(c)) as {
      log: { formatter: string };
      http: { addr: string };
      auth: { htpasswd: { path: string } };
      notifications: { endpoints: { url: string; headers: unknown }[] };
    };
    assert.equal(y.log.formatter, 'json');
    assert.equal(y.http.addr, '127.0.0.1:5001');
    assert.equal(y.auth.htpasswd.path, '/h');
    assert.deepEqual(y.notifications.endpoints[0]!.headers, { Authorization: ['Bearer t0k'] });
    assert.equal(y.notifications.endpoints[0]!.url, 'http://127.0.0.1:8080/v1/notifications');
  });

  test('htpasswd lines are bcrypt (Distribution accepts only bcrypt)', async () => {
    const text = await htpasswdLines([
      { user: 'alice', password: 'pw' },
      { user: 'bob', password: 'pw2' },
    ]);
    const lines = text.trim().split('\n');
    assert.equal(lines.length, 2);
    assert.match(lines[0]!, /^alice:\$2y\$/);
    assert.match(lines[1]!, /^bob:\$2y\$/);
  });
});

describe('embedded data directory', () => {
  test('one process per data dir: a live holder is refused, a stale lock is taken over, release frees it', () => {
    const root = mkdtempSync(join(tmpdir(), 'rw-data-'));
    try {
      const layout = dataDirLayout(join(root, 'd'));
      const release = prepareDataDir(layout);
      assert.equal(readFileSync(layout.lock, 'utf8'), String(process.pid));
      // A second pipeline in this same process is refused too.
      assert.throws(
        () => prepareDataDir(layout),
        (e: unknown) => e instanceof AppError && e.code === 'EMBEDDED_START_FAILED' && /this process/.test(e.message),
      );
      release();
      release(); // idempotent
      writeFileSync(layout.lock, String(process.ppid)); // a live process that is not us
      assert.throws(
        () => prepareDataDir(layout),
        (e: unknown) =>
          e instanceof AppError && e.code === 'EMBEDDED_START_FAILED' && /in use by process \d+/.test(e.message),
      );
      writeFileSync(layout.lock, '2147483646'); // no such pid: a crashed holder
      const again = prepareDataDir(layout);
      assert.equal(readFileSync(layout.lock, 'utf8'), String(process.pid));
      again();
      writeFileSync(layout.lock, String(process.pid)); // our pid, left by an earlier life (pid 1 in a container)
      prepareDataDir(layout)();
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
