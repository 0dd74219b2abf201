import { closeSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { AppError } from '../../../shared/src/errors.ts';

/** The layout of the embedded mode's data directory (one place, so docs and code agree). */
export interface DataDirLayout {
  readonly root: string;
  /** In-process bus: partition logs and committed offsets (shared/src/bus/memory.ts). */
  readonly bus: string;
  /** Detector state (snapshots). */
  readonly detector: string;
  /** Alerts state (SQLite: groups, throttles, silences, claimed notifications). */
  readonly alerts: string;
  /** Alert delivery records, NDJSON (what ES holds in full mode). */
  readonly deliveries: string;
  /** Resume positions of followed files (`follow-*.json`) and of `--input` files (`input-*.json`). */
  readonly inputs: string;
  /** Which findings were already written to the output. */
  readonly findingsSeen: string;
  /** Storage samples store (NDJSON, services/detector/src/storage/sink.ts `localStorePath`). */
  readonly storage: string;
  /** Generated bearer token of the silences API (mode 0600), when none is configured. */
  readonly alertsApiToken: string;
  /** `http://host:port` of the running silences API (removed at a clean stop). */
  readonly alertsApiUrl: string;
  readonly lock: string;
}

export function dataDirLayout(root: string): DataDirLayout {
  const r = resolve(root);
  return {
    root: r,
    bus: join(r, 'bus'),
    detector: join(r, 'detector'),
    alerts: join(r, 'alerts'),
    deliveries: join(r, 'alerts', 'deliveries.ndjson'),
    inputs: join(r, 'inputs'),
    findingsSeen: join(r, 'output', 'findings-seen.json'),
    storage: join(r, 'storage', 'samples.ndjson'),
    alertsApiToken: join(r, 'alerts-api.token'),
    alertsApiUrl: join(r, 'alerts-api.url'),
    lock: join(r, 'LOCK'),
  };
}

/**
 * `mkdir -p` that cannot loop: creates `dir` and its missing ancestors one level at a time.
 * (Node's `mkdirSync(dir, { recursive: true })` spins forever, ignoring signals, where `mkdir`
 * answers ENOENT although the parent exists, e.g. under /proc or /sys.)
 * @throws the fs error (ENOENT, EACCES, EROFS, ENOTDIR, EEXIST for a non-directory) of the
 *   level that could not be created.
 */
export function makeDirs(dir: string): void {
  try {
    mkdirSync(dir);
    return;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      if (statSync(dir).isDirectory()) return;
      throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${dir}'`), { code: 'ENOTDIR', path: dir });
    }
    if (code !== 'ENOENT') throw err;
  }
  const parent = dirname(dir);
  if (parent === dir) throw Object.assign(new Error(`ENOENT: no root directory ${dir}`), { code: 'ENOENT' });
  makeDirs(parent);
  // The parent exists now: a second ENOENT (pseudo file systems) is final, not a reason to retry.
  try {
    mkdirSync(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' && statSync(dir).isDirectory()) return; // created concurrently
    if (code === 'ENOENT')
      throw Object.assign(
        new Error(`${(err as Error).message} (the parent exists but its file system does not accept new directories)`),
        { code },
      );
    throw err;
  }
}

/** Lock files held by this process (a pid in a lock file can be ours from a previous life, e.g. pid 1 in a container). */
const heldHere = new Set<string>();

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Creates the data directory tree and takes its lock file (`LOCK`, holding our pid) so two
 * processes never write the same bus logs. A lock left by a dead process is taken over.
 * @returns a release function (removes the lock; idempotent).
 * @throws AppError EMBEDDED_START_FAILED when another live process holds the lock or the
 *   directory cannot be created.
 */
export function prepareDataDir(layout: DataDirLayout): () => void {
  try {
    for (const d of [
      layout.root,
      layout.bus,
      layout.detector,
      layout.alerts,
      layout.inputs,
      join(layout.root, 'output'),
    ])
      makeDirs(d);
  } catch (err) {
    throw new AppError(
      'EMBEDDED_START_FAILED',
      `cannot create data directory ${layout.root}: ${(err as Error).message}`,
      { cause: err },
    );
  }
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      if (heldHere.has(layout.lock)) {
        throw new AppError(
          'EMBEDDED_START_FAILED',
          `data directory ${layout.root} is already in use by this process; use another --data-dir`,
        );
      }
      const fd = openSync(layout.lock, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      heldHere.add(layout.lock);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        heldHere.delete(layout.lock);
        rmSync(layout.lock, { force: true });
      };
    } catch (err) {
      if (err instanceof AppError) throw err;
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new AppError(
          'EMBEDDED_START_FAILED',
          `cannot lock data directory ${layout.root}: ${(err as Error).message}`,
          { cause: err },
        );
      }
      const holder = Number(readFileSync(layout.lock, 'utf8').trim());
      if (
        Number.isInteger(holder) &&
        holder > 0 &&
        (holder === process.pid ? heldHere.has(layout.lock) : pidAlive(holder))
      ) {
        throw new AppError(
          'EMBEDDED_START_FAILED',
          `data directory ${layout.root} is in use by process ${holder} (another regwatch run?); use another --data-dir`,
          {
            context: { holder },
          },
        );
      }
      rmSync(layout.lock, { force: true }); // stale lock of a crashed process
    }
  }
  throw new AppError('EMBEDDED_START_FAILED', `cannot lock data directory ${layout.root}`);
}
