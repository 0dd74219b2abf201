/** Spawns `sh bin/regwatch …` for CLI tests (helper, not a test file). */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  stdin?: Buffer | string;
  env?: Record<string, string | undefined>;
  /** Called with each stderr chunk and the child (e.g. to send a signal at the right moment). */
  onStderr?: (chunk: string, child: ChildProcess) => void;
  /** Kill with SIGKILL after this many ms (the test then fails on the signal). Default 90 000. */
  killAfterMs?: number;
}

/** Runs the CLI to completion and collects its output. */
export function regwatch(args: string[], opts: CliOptions = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', [join(ROOT, 'bin/regwatch'), ...args], {
      cwd: ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
      env: opts.env ?? process.env,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const killer = setTimeout(() => child.kill('SIGKILL'), opts.killAfterMs ?? 90_000);
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => {
      err.push(c);
      opts.onStderr?.(c.toString('utf8'), child);
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(killer);
      resolve({
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(opts.stdin ?? '');
  });
}
