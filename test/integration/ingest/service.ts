/**
 * Runs the real ingest service (services/ingest/src/main.ts) as a child process, so fault tests
 * can kill -9 it, and reads its pino JSON lines from stdout.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { elasticsearchUrl, kafkaBrokers } from './engines.ts';
import type { Pipeline } from './pipeline.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface ServiceProcess {
  readonly child: ChildProcess;
  readonly lines: Record<string, unknown>[];
  readonly stderr: string[];
  /** Resolves when a log line with `msg` appears (rejects if the process exits first). */
  waitFor(msg: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Environment that points the service at a test pipeline's topics, group and indices. */
export function envFor(p: Pipeline, extra: Record<string, string> = {}): Record<string, string> {
  return {
    KAFKA_BROKERS: kafkaBrokers().join(','),
    REGWATCH_TOPIC_PREFIX: p.prefix,
    INGEST_GROUP_ID: p.groupId,
    ES_URLS: elasticsearchUrl(),
    ES_NAMESPACE: p.namespace,
    ES_FINDINGS_INDEX: p.indices.findings,
    ES_STORAGE_INDEX: p.indices.storage,
    KAFKA_SESSION_TIMEOUT_MS: '6000',
    KAFKA_HEARTBEAT_INTERVAL_MS: '500',
    LOG_LEVEL: 'info',
    ...extra,
  };
}

const running = new Set<ChildProcess>();

/** SIGKILLs every service process still running (call from `after` so a failed test leaves nothing behind). */
export async function killAllIngest(): Promise<void> {
  const waits = [...running].map(
    (c) => new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r(null) : c.once('exit', r))),
  );
  for (const c of running) c.kill('SIGKILL');
  await Promise.all(waits);
}

export function spawnIngest(env: Record<string, string>): ServiceProcess {
  const child = spawn('sh', ['scripts/node.sh', 'services/ingest/src/main.ts'], {
    cwd: ROOT,
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: process.env['HOME'] ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  const lines: Record<string, unknown>[] = [];
  const stderr: string[] = [];
  const waiters: { msg: string; resolve: (l: Record<string, unknown>) => void }[] = [];
  let buf = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buf += chunk.toString('utf8');
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        const rec = JSON.parse(line) as Record<string, unknown>;
        lines.push(rec);
        for (const w of [...waiters]) {
          if (rec['msg'] === w.msg) {
            waiters.splice(waiters.indexOf(w), 1);
            w.resolve(rec);
          }
        }
      } catch {
        stderr.push(`(stdout) ${line}`);
      }
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  return {
    child,
    lines,
    stderr,
    exited,
    waitFor(msg, timeoutMs = 60_000) {
      const seen = lines.find((l) => l['msg'] === msg);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const t = setTimeout(
          () =>
            reject(new Error(`no "${msg}" log line within ${timeoutMs} ms; stderr: ${stderr.join('').slice(-2000)}`)),
          timeoutMs,
        );
        waiters.push({
          msg,
          resolve: (l) => {
            clearTimeout(t);
            resolve(l);
          },
        });
        void exited.then(({ code, signal }) => {
          clearTimeout(t);
          reject(
            new Error(
              `service exited (code ${code}, signal ${signal}) before "${msg}"; stderr: ${stderr.join('').slice(-2000)}`,
            ),
          );
        });
      });
    },
  };
}
