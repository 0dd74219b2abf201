/**
 * `npm start` (the README's main job) stops when npm is told to stop: npm forwards SIGTERM to its
 * script's process, which must be regwatch itself. With `"start": "sh bin/regwatch run"` the
 * shell between them was signalled instead and exited, leaving `regwatch run` running under PID 1.
 * Ctrl-C in a terminal signals the whole foreground process group, and npm forwards its own copy:
 * regwatch gets SIGINT twice within milliseconds, which must still be a clean stop (it was taken
 * as "second SIGINT: exiting without a clean shutdown", losing the followed files' positions).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Pids of the processes whose command line contains `marker` (ps, Linux). */
function pidsWith(marker: string): number[] {
  const out = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter((l) => l.includes(marker) && l.includes('cli/main.ts'))
    .map((l) => Number(l.trim().split(/\s+/)[0]));
}

test('npm start: SIGTERM to npm stops regwatch run cleanly (no orphan left behind)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'regwatch-npm-start-'));
  const dataDir = join(dir, 'data');
  const npm = spawn('npm', ['start', '--', '--port', '0', '--alerts-port', '0', '--data-dir', dataDir], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  npm.stdout.on('data', (c: Buffer) => (out += c.toString()));
  npm.stderr.on('data', (c: Buffer) => (out += c.toString()));
  try {
    const deadline = Date.now() + 60_000;
    while (!out.includes('regwatch run started') && Date.now() < deadline) await sleep(100);
    assert.ok(out.includes('regwatch run started'), out.slice(-2000));
    const [pid] = pidsWith(dataDir);
    assert.ok(pid !== undefined && pid > 0, 'regwatch run is running');
    npm.kill('SIGTERM');
    const gone = Date.now() + 30_000;
    while (pidsWith(dataDir).length > 0 && Date.now() < gone) await sleep(100);
    assert.deepEqual(pidsWith(dataDir), [], 'regwatch run still running after npm was stopped');
    assert.ok(out.includes('regwatch run stopped'), `no clean stop logged:\n${out.slice(-2000)}`);
  } finally {
    for (const pid of pidsWith(dataDir)) process.kill(pid, 'SIGKILL');
    npm.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
});

test('npm start: Ctrl-C (SIGINT to the process group) is one clean stop, not a forced exit', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'regwatch-npm-start-'));
  const dataDir = join(dir, 'data');
  // detached: npm leads its own process group, as a terminal's foreground job does.
  const npm = spawn('npm', ['start', '--', '--port', '0', '--alerts-port', '0', '--data-dir', dataDir], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  npm.stdout.on('data', (c: Buffer) => (out += c.toString()));
  npm.stderr.on('data', (c: Buffer) => (out += c.toString()));
  try {
    const deadline = Date.now() + 60_000;
    while (!out.includes('regwatch run started') && Date.now() < deadline) await sleep(100);
    assert.ok(out.includes('regwatch run started'), out.slice(-2000));
    assert.ok(npm.pid !== undefined);
    const [pid] = pidsWith(dataDir);
    assert.ok(pid !== undefined && pid > 0, 'regwatch run is running');
    process.kill(-npm.pid, 'SIGINT');
    // npm's forwarded copy can come a little later than the terminal's.
    await sleep(30);
    if (pidsWith(dataDir).length > 0) process.kill(pid, 'SIGINT');
    const gone = Date.now() + 30_000;
    while (pidsWith(dataDir).length > 0 && Date.now() < gone) await sleep(100);
    assert.deepEqual(pidsWith(dataDir), [], 'regwatch run still running after Ctrl-C');
    await sleep(500);
    assert.match(out, /stopped cleanly; state saved/, out.slice(-2000));
    assert.doesNotMatch(out, /second SIGINT|without a clean shutdown/, out.slice(-2000));
  } finally {
    for (const pid of pidsWith(dataDir)) process.kill(pid, 'SIGKILL');
    try {
      if (npm.pid !== undefined) process.kill(-npm.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    await rm(dir, { recursive: true, force: true });
  }
});
