/**
 * Runs `sh bin/regwatch <args>` as a child process and collects its stdout/stderr, so the
 * end-to-end tests exercise the exact command a user types.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const REPO_ROOT = join(import.meta.dirname, '..', '..', '..');

export interface Child {
  readonly proc: ChildProcess;
  stdout: string;
  stderr: string;
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  /** Waits until `pred(stdout, stderr)` holds; throws with the output tail after `timeoutMs`. */
  waitFor(what: string, pred: (out: string, err: string) => boolean, timeoutMs?: number): Promise<void>;
  /** Sends `signal` and waits for the exit code. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>;
}

/** @param cwd working directory of the child (default the repository root, as after `npm start`). */
export function regwatch(args: readonly string[], env: Record<string, string> = {}, cwd = REPO_ROOT): Child {
  const proc = spawn('sh', [join(REPO_ROOT, 'bin', 'regwatch'), ...args], {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const c: Child = {
    proc,
    stdout: '',
    stderr: '',
    exited: new Promise((resolve) => proc.once('exit', (code) => resolve(code))),
    async waitFor(what, pred, timeoutMs = 60_000) {
      const end = Date.now() + timeoutMs;
      while (Date.now() < end) {
        if (pred(c.stdout, c.stderr)) return;
        if (proc.exitCode !== null) break;
        await sleep(100);
      }
      if (pred(c.stdout, c.stderr)) return;
      throw new Error(
        `timed out waiting for ${what}; exit=${proc.exitCode}\n--- stdout (tail)\n${c.stdout.slice(-2000)}\n--- stderr (tail)\n${c.stderr.slice(-4000)}`,
      );
    },
    async stop(signal = 'SIGTERM', timeoutMs = 30_000) {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      const t = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
      const code = await c.exited;
      clearTimeout(t);
      return code;
    },
  };
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => (c.stdout += d));
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (c.stderr += d));
  return c;
}

/** Parses the NDJSON lines of a stdout capture (every line must be JSON). */
export function ndjson<T = Record<string, unknown>>(text: string): T[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as T);
}
