/**
 * The real CNCF Distribution registry (Debian `docker-registry`, 2.8.2) and the real `skopeo`
 * client for integration tests, plus an OCI image layout builder so tests have images to push
 * without downloading anything.
 *
 * Registry configuration keys follow Distribution 2.8 `configuration/configuration.go`
 * (docs/configuration.md): `log.formatter`, `log.accesslog.disabled`, `auth.htpasswd`,
 * `storage.filesystem`, `storage.delete.enabled`, `notifications.endpoints[]` (see
 * ../shared/design/FORMATS.md §1a.5, §1b.1). OCI layout per the OCI image-spec v1.1
 * `image-layout.md` (oci-layout, index.json, blobs/sha256/<hex>).
 */
import { execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import split2 from 'split2';
import { stringify } from 'yaml';

/** Path of the registry binary: env `REGWATCH_REGISTRY_BIN` or Debian's /usr/bin/docker-registry. */
export function registryBinary(): string {
  return process.env['REGWATCH_REGISTRY_BIN'] ?? '/usr/bin/docker-registry';
}

export interface RegistryOptions {
  /** htpasswd users, name → clear-text password (hashed with bcrypt by `htpasswd -Bbn`). Default: none (no auth). */
  users?: Record<string, string>;
  /** Basic-auth realm (default `regwatch-test`). */
  realm?: string;
  /** Notification endpoint URL; omitted = no notifications. */
  notifyUrl?: string;
  /** Bearer token sent as `Authorization: Bearer <token>` with every notification (default `test-token`). */
  notifyToken?: string;
  /** Per-POST timeout of the notification client, Go duration (default `2s`). */
  notifyTimeout?: string;
  /** Consecutive failures before the endpoint backs off (default 3). */
  notifyThreshold?: number;
  /** Back-off while the breaker is open, Go duration (default `1s`). */
  notifyBackoff?: string;
  /** `notifications.events.includereferences` (default false). */
  includeReferences?: boolean;
  /** `ignore.mediatypes` / `ignore.actions` of the endpoint. */
  notifyIgnore?: { mediatypes?: string[]; actions?: string[] };
  /** `log.formatter` (default `json`). */
  logFormatter?: 'json' | 'text' | 'logstash';
  /** `log.level` (default `info`). */
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /** `log.fields` added to every app-log line (default `{service: 'registry', environment: 'test'}`). */
  logFields?: Record<string, string>;
  /** Keep the Apache combined access log on stdout (default true). */
  accessLog?: boolean;
  /** Start-up timeout in ms (default 20 000). */
  startTimeoutMs?: number;
}

/** One line the registry printed: app log (stderr) or access log (stdout). */
export interface RegistryOutputLine {
  stream: 'stdout' | 'stderr';
  line: string;
}

export interface RegistryHandle {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** `127.0.0.1:<port>` (what skopeo and image references use). */
  host: string;
  port: number;
  /** Filesystem storage root (`storage.filesystem.rootdirectory`). */
  storageDir: string;
  /** The generated config.yml. */
  configPath: string;
  /** Every line printed so far, stdout and stderr, in arrival order. */
  stdoutLines(): string[];
  /** Same, with the stream each line came from. */
  output(): RegistryOutputLine[];
  /** Resolves with the first line (already printed or future) matching `pred`; rejects after `timeoutMs`. */
  waitForLine(pred: (line: string) => boolean, timeoutMs?: number): Promise<string>;
  /** SIGTERM, wait for exit, remove the temp dir. Idempotent. */
  stop(): Promise<void>;
}

/** Resolves with a TCP port that was free on 127.0.0.1 a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function run(
  cmd: string,
  args: string[],
  timeoutMs = 120_000,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') {
        reject(new Error(`${cmd} could not run: ${err.message}`));
        return;
      }
      resolve({ code: err ? (err.code as number) : 0, stdout, stderr });
    });
  });
}

/** bcrypt htpasswd line `name:$2y$…` via `htpasswd -Bbn` (apache2-utils). Throws if htpasswd fails. */
export async function htpasswdLine(user: string, password: string): Promise<string> {
  const res = await run('htpasswd', ['-Bbn', user, password]);
  if (res.code !== 0) throw new Error(`htpasswd -Bbn ${user} failed: ${res.stderr}`);
  return res.stdout.trim();
}

/**
 * Starts `docker-registry serve <config.yml>` on a free 127.0.0.1 port with filesystem storage in
 * a fresh temp dir. Resolves when `GET /v2/` answers (401 with auth, 200 without); rejects with
 * the registry's output if it exits or does not answer within `startTimeoutMs`.
 */
export async function startRegistry(opts: RegistryOptions = {}): Promise<RegistryHandle> {
  const bin = registryBinary();
  if (!existsSync(bin)) throw new Error(`${bin} not found: apt-get install -y docker-registry`);
  const dir = await mkdtemp(join(tmpdir(), 'regwatch-registry-'));
  const storageDir = join(dir, 'storage');
  await mkdir(storageDir);
  const port = await freePort();
  const host = `127.0.0.1:${port}`;

  const config: Record<string, unknown> = {
    version: 0.1,
    log: {
      level: opts.logLevel ?? 'info',
      formatter: opts.logFormatter ?? 'json',
      fields: opts.logFields ?? { service: 'registry', environment: 'test' },
      accesslog: { disabled: opts.accessLog === false },
    },
    storage: {
      filesystem: { rootdirectory: storageDir },
      delete: { enabled: true },
      cache: { blobdescriptor: 'inmemory' },
    },
    http: { addr: host, headers: { 'X-Content-Type-Options': ['nosniff'] } },
  };
  const users = opts.users ?? {};
  if (Object.keys(users).length > 0) {
    const lines = await Promise.all(Object.entries(users).map(([u, p]) => htpasswdLine(u, p)));
    const htpasswdPath = join(dir, 'htpasswd');
    await writeFile(htpasswdPath, lines.join('\n') + '\n', { mode: 0o600 });
    config['auth'] = { htpasswd: { realm: opts.realm ?? 'regwatch-test', path: htpasswdPath } };
  }
  if (opts.notifyUrl) {
    const endpoint: Record<string, unknown> = {
      name: 'regwatch-test',
      url: opts.notifyUrl,
      headers: { Authorization: [`Bearer ${opts.notifyToken ?? 'test-token'}`] },
      timeout: opts.notifyTimeout ?? '2s',
      threshold: opts.notifyThreshold ?? 3,
      backoff: opts.notifyBackoff ?? '1s',
    };
    if (opts.notifyIgnore) endpoint['ignore'] = opts.notifyIgnore;
    config['notifications'] = {
      events: { includereferences: opts.includeReferences ?? false },
      endpoints: [endpoint],
    };
  }
  const configPath = join(dir, 'config.yml');
  await writeFile(configPath, stringify(config));

  const output: RegistryOutputLine[] = [];
  const waiters: { pred: (l: string) => boolean; resolve: (l: string) => void }[] = [];
  const child = spawn(bin, ['serve', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  let exited = false;
  let exitInfo = '';
  const exitPromise = new Promise<void>((resolve) => {
    child.on('exit', (code, signal) => {
      exited = true;
      exitInfo = `code ${String(code)} signal ${String(signal)}`;
      resolve();
    });
  });
  const onLine = (stream: 'stdout' | 'stderr') => (line: string) => {
    output.push({ stream, line });
    for (let i = waiters.length - 1; i >= 0; i--) {
      const w = waiters[i];
      if (w?.pred(line)) {
        waiters.splice(i, 1);
        w.resolve(line);
      }
    }
  };
  child.stdout.pipe(split2()).on('data', onLine('stdout'));
  child.stderr.pipe(split2()).on('data', onLine('stderr'));

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (!stopped) {
      stopped = true;
      if (!exited) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exitPromise;
        clearTimeout(timer);
      }
      await rm(dir, { recursive: true, force: true });
    }
  };

  const deadline = Date.now() + (opts.startTimeoutMs ?? 20_000);
  for (;;) {
    if (exited) {
      await stop();
      throw new Error(`docker-registry exited during start-up (${exitInfo}):\n${output.map((o) => o.line).join('\n')}`);
    }
    try {
      const res = await fetch(`http://${host}/v2/`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 200 || res.status === 401) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`docker-registry did not answer on ${host}:\n${output.map((o) => o.line).join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  return {
    url: `http://${host}`,
    host,
    port,
    storageDir,
    configPath,
    stdoutLines: () => output.map((o) => o.line),
    output: () => output.slice(),
    waitForLine: (pred, timeoutMs = 10_000) => {
      const hit = output.find((o) => pred(o.line));
      if (hit) return Promise.resolve(hit.line);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          const i = waiters.indexOf(w);
          if (i >= 0) waiters.splice(i, 1);
          reject(new Error(`no matching registry output line within ${timeoutMs} ms`));
        }, timeoutMs);
        const w = {
          pred,
          resolve: (l: string) => {
            clearTimeout(timer);
            resolve(l);
          },
        };
        waiters.push(w);
      });
    },
    stop,
  };
}

/**
 * Runs the real `skopeo` (1.9.x) with `--insecure-policy` (no /etc/containers/policy.json
 * needed) plus `args`. Callers add `--tls-verify=false` / `--src-tls-verify=false` /
 * `--dest-tls-verify=false` and credentials (`--creds u:p`, `--src-creds`, `--dest-creds`) as the
 * subcommand needs them. Never rejects on a non-zero exit; check `code`.
 */
export function skopeo(args: string[], timeoutMs = 120_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return run('skopeo', ['--insecure-policy', ...args], timeoutMs);
}

export interface OciLayoutOptions {
  /** Tag written as `org.opencontainers.image.ref.name` in index.json (default `latest`). */
  tag?: string;
  /** Layers per image (default 2). */
  layers?: number;
  /** Bytes of random file content per layer (default 4096). */
  layerBytes?: number;
  /** Platforms; two or more make an OCI image index (multi-arch). Default one linux/amd64 image. */
  platforms?: { os: string; architecture: string }[];
}

export interface OciImageInfo {
  platform: { os: string; architecture: string };
  manifestDigest: string;
  manifestSize: number;
  configDigest: string;
  layerDigests: string[];
}

export interface OciLayout {
  dir: string;
  tag: string;
  /** Digest of what the tag points to: the image manifest, or the image index when multi-arch. */
  digest: string;
  mediaType: string;
  /** True when `digest` is an image index. */
  multiArch: boolean;
  images: OciImageInfo[];
  /** `oci:<dir>:<tag>`, the skopeo source reference. */
  reference: string;
}

const MT_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const MT_INDEX = 'application/vnd.oci.image.index.v1+json';
const MT_CONFIG = 'application/vnd.oci.image.config.v1+json';
const MT_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';

const sha256 = (b: Buffer | string): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** A one-file tar archive made by GNU tar (reproducible: mtime 0, owner 0). */
async function tarOneFile(name: string, content: Buffer): Promise<Buffer> {
  const work = await mkdtemp(join(tmpdir(), 'regwatch-layer-'));
  try {
    await writeFile(join(work, name), content);
    return await new Promise<Buffer>((resolve, reject) => {
      execFile(
        'tar',
        [
          '--create',
          '--file=-',
          '--mtime=@0',
          '--owner=0',
          '--group=0',
          '--numeric-owner',
          `--directory=${work}`,
          name,
        ],
        { encoding: 'buffer', maxBuffer: 256 * 1024 * 1024 },
        (err, stdout) => (err ? reject(new Error(`tar failed: ${err.message}`)) : resolve(stdout)),
      );
    });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * Writes an OCI image layout (image-spec v1.1 `image-layout.md`) into `dir` (created if missing):
 * `oci-layout`, `index.json`, and `blobs/sha256/<hex>` for every config, layer (gzip tar with one
 * random file, so each call makes distinct digests), manifest and, for several platforms, the
 * image index. Resolves with the digests; copy it with
 * `skopeo copy [--all] oci:<dir>:<tag> docker://<host>/<repo>:<tag>`.
 */
export async function buildOciLayout(dir: string, opts: OciLayoutOptions = {}): Promise<OciLayout> {
  const tag = opts.tag ?? 'latest';
  const platforms = opts.platforms ?? [{ os: 'linux', architecture: 'amd64' }];
  const blobDir = join(dir, 'blobs', 'sha256');
  await mkdir(blobDir, { recursive: true });
  const putBlob = async (data: Buffer | string): Promise<{ digest: string; size: number }> => {
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    const digest = sha256(buf);
    await writeFile(join(blobDir, digest.slice('sha256:'.length)), buf);
    return { digest, size: buf.length };
  };

  const images: OciImageInfo[] = [];
  const manifestDescs: Record<string, unknown>[] = [];
  for (const platform of platforms) {
    const layers: { digest: string; size: number }[] = [];
    const diffIds: string[] = [];
    for (let i = 0; i < (opts.layers ?? 2); i++) {
      const tar = await tarOneFile(
        `file-${i}-${randomBytes(4).toString('hex')}.bin`,
        randomBytes(opts.layerBytes ?? 4096),
      );
      diffIds.push(sha256(tar));
      layers.push(await putBlob(gzipSync(tar)));
    }
    const config = await putBlob(
      JSON.stringify({
        created: '2026-01-01T00:00:00Z',
        architecture: platform.architecture,
        os: platform.os,
        config: { Cmd: ['/file-0.bin'], Labels: { 'org.regwatch.test': randomBytes(4).toString('hex') } },
        rootfs: { type: 'layers', diff_ids: diffIds },
        history: diffIds.map(() => ({ created: '2026-01-01T00:00:00Z', created_by: 'regwatch buildOciLayout' })),
      }),
    );
    const manifest = await putBlob(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MT_MANIFEST,
        config: { mediaType: MT_CONFIG, digest: config.digest, size: config.size },
        layers: layers.map((l) => ({ mediaType: MT_LAYER_GZIP, digest: l.digest, size: l.size })),
      }),
    );
    images.push({
      platform,
      manifestDigest: manifest.digest,
      manifestSize: manifest.size,
      configDigest: config.digest,
      layerDigests: layers.map((l) => l.digest),
    });
    manifestDescs.push({ mediaType: MT_MANIFEST, digest: manifest.digest, size: manifest.size, platform });
  }

  const multiArch = platforms.length > 1;
  let top: { mediaType: string; digest: string; size: number };
  if (multiArch) {
    const index = await putBlob(JSON.stringify({ schemaVersion: 2, mediaType: MT_INDEX, manifests: manifestDescs }));
    top = { mediaType: MT_INDEX, ...index };
  } else {
    const only = images[0];
    if (!only) throw new Error('buildOciLayout: at least one platform is required');
    top = { mediaType: MT_MANIFEST, digest: only.manifestDigest, size: only.manifestSize };
  }
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await writeFile(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MT_INDEX,
      manifests: [{ ...top, annotations: { 'org.opencontainers.image.ref.name': tag } }],
    }),
  );
  return { dir, tag, digest: top.digest, mediaType: top.mediaType, multiArch, images, reference: `oci:${dir}:${tag}` };
}
