import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify as toYaml } from 'yaml';
import { AppError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { Credentials } from './skopeo.ts';

/**
 * Starts the real CNCF Distribution registry (Debian package `docker-registry`, 2.8.x) for the
 * demo: a generated `config.yml` (Distribution "Configuring a registry": `log`, `storage`,
 * `http`, `auth.htpasswd`, `notifications.endpoints`), bcrypt htpasswd users made with
 * `htpasswd -Bbn`, JSON logs (logrus formatter `json`) appended to a file that regwatch follows,
 * and notifications POSTed to the regwatch receiver with a bearer token.
 */

export interface LocalRegistryOptions {
  /** Directory for config.yml, htpasswd, storage and the log file (created if missing). */
  readonly workDir: string;
  readonly users: readonly Credentials[];
  /** Where the registry sends its notification envelopes (regwatch: `<receiver>/v1/notifications`). */
  readonly notifications?: { readonly url: string; readonly token?: string };
  /** Listen port on 127.0.0.1; 0 or absent picks a free one. */
  readonly port?: number;
  /** `docker-registry` binary. Default `docker-registry` on PATH. */
  readonly bin?: string;
  /** How long to wait for `/v2/` to answer, ms. Default 20 000. */
  readonly startTimeoutMs?: number;
  readonly logger: Logger;
}

export interface LocalRegistry {
  /** `127.0.0.1:<port>` (skopeo's `docker://<host>/…`). */
  readonly host: string;
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** The registry's stdout+stderr (JSON log lines): what `regwatch run --follow` tails. */
  readonly logFile: string;
  readonly configFile: string;
  readonly pid: number;
  /** SIGTERM, then SIGKILL after 5 s; resolves when the process exited. Idempotent. */
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1 (bound and released; a tiny race with other binders remains). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * One bcrypt htpasswd line per user via `htpasswd -Bbn` (apache2-utils), as Distribution's
 * htpasswd auth requires (bcrypt only).
 * @throws AppError DEMO_TOOL_MISSING when htpasswd is absent, DEMO_TOOL_FAILED when it fails.
 */
export async function htpasswdLines(users: readonly Credentials[]): Promise<string> {
  const lines: string[] = [];
  for (const u of users) {
    lines.push(
      await new Promise<string>((resolve, reject) => {
        execFile('htpasswd', ['-Bbn', u.user, u.password], (err, stdout) => {
          if (err) {
            const code = (err as NodeJS.ErrnoException).code;
            reject(
              code === 'ENOENT'
                ? new AppError(
                    'DEMO_TOOL_MISSING',
                    'htpasswd is not installed (Debian: apt-get install apache2-utils)',
                    { cause: err },
                  )
                : new AppError('DEMO_TOOL_FAILED', `htpasswd failed for user ${u.user}: ${err.message}`, {
                    cause: err,
                  }),
            );
            return;
          }
          resolve(stdout.trim());
        });
      }),
    );
  }
  return `${lines.join('\n')}\n`;
}

/** The registry configuration document (YAML-ready object). Exported for tests and docs. */
export function registryConfig(o: {
  port: number;
  storageDir: string;
  htpasswdFile: string;
  notifications?: { url: string; token?: string };
}): Record<string, unknown> {
  const config: Record<string, unknown> = {
    version: 0.1,
    log: {
      level: 'info',
      formatter: 'json',
      fields: { service: 'registry', environment: 'regwatch-demo' },
      // The access log (combined format) repeats each request; the app log already has it.
      accesslog: { disabled: true },
    },
    storage: {
      filesystem: { rootdirectory: o.storageDir },
      delete: { enabled: true },
      cache: { blobdescriptor: 'inmemory' },
    },
    http: {
      addr: `127.0.0.1:${o.port}`,
      secret: 'regwatch-demo-not-a-secret',
      headers: { 'X-Content-Type-Options': ['nosniff'] },
    },
    auth: { htpasswd: { realm: 'regwatch-demo', path: o.htpasswdFile } },
  };
  if (o.notifications) {
    config['notifications'] = {
      events: { includereferences: true },
      endpoints: [
        {
          name: 'regwatch',
          url: o.notifications.url,
          ...(o.notifications.token ? { headers: { Authorization: [`Bearer ${o.notifications.token}`] } } : {}),
          timeout: '2s',
          threshold: 5,
          backoff: '1s',
        },
      ],
    };
  }
  return config;
}

function waitExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/**
 * Starts `docker-registry serve <config>` on 127.0.0.1 and waits until `GET /v2/` answers
 * (401 with auth on).
 * @throws AppError DEMO_TOOL_MISSING (no htpasswd/docker-registry), REGISTRY_START_FAILED (exited
 *   or not ready in time; the message carries the end of its log).
 */
export async function startLocalRegistry(options: LocalRegistryOptions): Promise<LocalRegistry> {
  const log = options.logger.child({ component: 'demo-registry' });
  await mkdir(join(options.workDir, 'storage'), { recursive: true });
  const port = options.port || (await freePort());
  const htpasswdFile = join(options.workDir, 'htpasswd');
  await writeFile(htpasswdFile, await htpasswdLines(options.users), { mode: 0o600 });
  const configFile = join(options.workDir, 'config.yml');
  await writeFile(
    configFile,
    toYaml(
      registryConfig({
        port,
        storageDir: join(options.workDir, 'storage'),
        htpasswdFile,
        ...(options.notifications ? { notifications: options.notifications } : {}),
      }),
    ),
    { mode: 0o600 },
  );
  const logFile = join(options.workDir, 'registry.log');
  const fd = openSync(logFile, 'a');
  const bin = options.bin ?? 'docker-registry';
  let child: ChildProcess;
  try {
    child = spawn(bin, ['serve', configFile], { stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd);
  }
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  const host = `127.0.0.1:${port}`;
  const url = `http://${host}`;
  const tail = async (): Promise<string> => {
    const { readFile } = await import('node:fs/promises');
    const text = await readFile(logFile, 'utf8').catch(() => '');
    return text.split('\n').slice(-6).join('\n');
  };
  const deadline = Date.now() + (options.startTimeoutMs ?? 20_000);
  for (;;) {
    const early = await Promise.race([spawnError, sleep(150).then(() => null)]);
    if (early) {
      const code = (early as NodeJS.ErrnoException).code;
      throw code === 'ENOENT'
        ? new AppError('DEMO_TOOL_MISSING', `${bin} is not installed (Debian: apt-get install docker-registry)`, {
            cause: early,
          })
        : new AppError('REGISTRY_START_FAILED', `could not start ${bin}: ${early.message}`, { cause: early });
    }
    if (child.exitCode !== null)
      throw new AppError('REGISTRY_START_FAILED', `${bin} exited with code ${child.exitCode}:\n${await tail()}`, {
        context: { port },
      });
    try {
      const res = await fetch(`${url}/v2/`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 401 || res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new AppError('REGISTRY_START_FAILED', `${bin} did not answer on ${url}/v2/ in time:\n${await tail()}`, {
        retriable: true,
        context: { port },
      });
    }
  }
  log.info({ registry: url, pid: child.pid, logFile, users: options.users.map((u) => u.user) }, 'registry started');
  let stopping: Promise<void> | null = null;
  return {
    host,
    url,
    logFile,
    configFile,
    pid: child.pid ?? -1,
    stop() {
      stopping ??= (async () => {
        const exited = waitExit(child);
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(t);
        log.info({ registry: url }, 'registry stopped');
      })();
      return stopping;
    },
  };
}
