import { execFile } from 'node:child_process';
import { AppError } from '../errors.ts';

/**
 * A thin driver for the real `skopeo` client (containers/skopeo, `skopeo copy`, `skopeo inspect`):
 * every registry operation of the demo is a real client talking the OCI Distribution API.
 * TLS verification is off (the demo registry is plain HTTP on loopback) and the signature policy
 * is `--insecure-policy` (nothing is signed; no /etc/containers/policy.json needed).
 */

export interface SkopeoResult {
  /** Process exit code (0 = success). */
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** Wall time, ms. */
  readonly ms: number;
}

export interface Credentials {
  readonly user: string;
  readonly password: string;
}

export interface SkopeoOptions {
  /** Kill the process after this many ms. Default 60 000. */
  readonly timeoutMs?: number;
  /** skopeo binary. Default `skopeo` on PATH. */
  readonly bin?: string;
}

/**
 * Runs `skopeo --insecure-policy <args>` and resolves with its exit code and output (a non-zero
 * exit is a result, not an exception: a rejected login is an expected outcome in the demo).
 * @throws AppError DEMO_TOOL_MISSING when skopeo is not installed; DEMO_TOOL_FAILED (retriable)
 *   when it was killed by the timeout.
 */
export function runSkopeo(args: readonly string[], options: SkopeoOptions = {}): Promise<SkopeoResult> {
  const bin = options.bin ?? 'skopeo';
  const started = Date.now();
  return new Promise((resolve, reject) => {
    execFile(
      bin,
      ['--insecure-policy', ...args],
      { timeout: options.timeoutMs ?? 60_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const ms = Date.now() - started;
        if (err) {
          const e = err as NodeJS.ErrnoException & { code?: unknown; killed?: boolean; signal?: string | null };
          if (e.code === 'ENOENT') {
            reject(
              new AppError('DEMO_TOOL_MISSING', `${bin} is not installed (Debian: apt-get install skopeo)`, {
                cause: err,
              }),
            );
            return;
          }
          if (e.killed || e.signal) {
            reject(
              new AppError('DEMO_TOOL_FAILED', `${bin} ${args[0] ?? ''} timed out after ${ms} ms`, {
                retriable: true,
                cause: err,
                context: { args: args.slice(0, 1) },
              }),
            );
            return;
          }
          resolve({ code: typeof e.code === 'number' ? e.code : 1, stdout, stderr, ms });
          return;
        }
        resolve({ code: 0, stdout, stderr, ms });
      },
    );
  });
}

const creds = (c: Credentials | undefined, flag: string): string[] =>
  c ? [`${flag}=${c.user}:${c.password}`] : [`${flag.replace('-creds', '-no-creds')}`];

/**
 * Pushes an OCI layout image to `docker://<host>/<repository>:<tag>` (plain HTTP registry).
 * @returns the skopeo result; `code !== 0` when the registry refused.
 */
export function pushImage(
  layoutDir: string,
  layoutTag: string,
  host: string,
  repository: string,
  tag: string,
  c: Credentials,
  options?: SkopeoOptions,
): Promise<SkopeoResult> {
  return runSkopeo(
    [
      'copy',
      '--dest-tls-verify=false',
      `--dest-creds=${c.user}:${c.password}`,
      `oci:${layoutDir}:${layoutTag}`,
      `docker://${host}/${repository}:${tag}`,
    ],
    options,
  );
}

/**
 * Pulls an image (manifest and every blob) from the registry into a `dir:` destination — what a
 * `docker pull` costs the registry.
 */
export function pullImage(
  host: string,
  repository: string,
  tag: string,
  destDir: string,
  c: Credentials | undefined,
  options?: SkopeoOptions,
): Promise<SkopeoResult> {
  return runSkopeo(
    [
      'copy',
      '--src-tls-verify=false',
      ...creds(c, '--src-creds'),
      `docker://${host}/${repository}:${tag}`,
      `dir:${destDir}`,
    ],
    options,
  );
}

/** Fetches the raw manifest only (`skopeo inspect --raw`): one manifest GET, as a quick check or a scan does. */
export function inspectImage(
  host: string,
  repository: string,
  tag: string,
  c: Credentials | undefined,
  options?: SkopeoOptions,
): Promise<SkopeoResult> {
  return runSkopeo(
    ['inspect', '--raw', '--tls-verify=false', ...creds(c, '--creds'), `docker://${host}/${repository}:${tag}`],
    options,
  );
}

/** Lists tags (`GET /v2/<name>/tags/list`). */
export function listTags(
  host: string,
  repository: string,
  c: Credentials | undefined,
  options?: SkopeoOptions,
): Promise<SkopeoResult> {
  return runSkopeo(
    ['list-tags', '--tls-verify=false', ...creds(c, '--creds'), `docker://${host}/${repository}`],
    options,
  );
}
