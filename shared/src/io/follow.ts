import TailFile from '@logdna/tail-file';
import type { Logger } from '../logger.ts';

export interface FollowOptions {
  /** Poll interval in ms (tail-file polls; rename rotation and truncation are handled). Default 250. */
  pollMs?: number;
  /** Start at the end of the file (only new lines, like `tail -f`) instead of the beginning. Default false. */
  fromEnd?: boolean;
  /**
   * Byte offset to start reading at (resume after a restart; see `FollowHandle.position`).
   * Wins over `fromEnd`. Must be the start of a line.
   */
  startPos?: number;
  logger: Logger;
}

export interface FollowPosition {
  /** Inode of the file the position belongs to (a different inode at restart = rotated meanwhile). */
  readonly ino: number;
  /** Byte offset just after the last complete line handed to `onLine`. */
  readonly pos: number;
}

export interface FollowHandle {
  /**
   * Stops tailing; every complete line already read is delivered (and awaited) first. A trailing
   * partial line (no newline yet) is not delivered: `position()` points at its start so a resumed
   * follower reads it whole. Idempotent.
   */
  stop(): Promise<void>;
  /**
   * After `stop()`: where a new follower should resume (`startPos`), or null when it cannot be
   * known (stopped before the first read). Before `stop()` resolves the value may be behind.
   */
  position(): FollowPosition | null;
}

/**
 * Tails a registry log file (`tail -F` semantics through @logdna/tail-file: survives rename
 * rotation without losing lines written to the old file, truncation, and the file missing for a
 * while during rotation) and calls `onLine` for every complete line (without its `\n` or `\r\n`),
 * in order, awaiting it before reading more (backpressure). Empty lines are skipped.
 * A handler that throws is logged and the line is skipped (the caller decides retries).
 * @throws the fs error (ENOENT, EACCES) when the file cannot be opened at start.
 */
export async function followFile(
  path: string,
  onLine: (line: string) => Promise<void>,
  options: FollowOptions,
): Promise<FollowHandle> {
  const log = options.logger.child({ component: 'follow', path });
  const startPos = options.startPos ?? (options.fromEnd ? undefined : 0);
  const tail = new TailFile(path, {
    pollFileIntervalMs: options.pollMs ?? 250,
    // Rotation can leave the path missing for a moment (or longer with `create` delays): keep
    // retrying instead of ending the stream after tail-file's default of 10 failed polls.
    maxPollFailures: Number.MAX_SAFE_INTEGER,
    pollFailureRetryMs: 500,
    ...(startPos !== undefined ? { startPos } : {}),
  });
  let lastRead: number | null = startPos ?? null;
  let ino: number | null = null;
  let partialBytes = 0;
  tail.on('flush', (e: { lastReadPosition: number }) => {
    lastRead = e.lastReadPosition;
  });
  tail.on('tail_error', (err: unknown) => log.warn({ err }, 'tail error; retrying'));
  // tail-file ends the stream with 'error' only on unrecoverable errors (EACCES); without a
  // listener that would crash the process.
  tail.on('error', (err: unknown) => log.error({ err }, 'cannot follow file any more'));
  tail.on('renamed', () => {
    log.info('log file rotated (renamed); following the new file');
    void statIno();
  });
  tail.on('truncated', () => log.info('log file truncated; reading from the start'));
  const statIno = async (): Promise<void> => {
    try {
      const { stat } = await import('node:fs/promises');
      ino = (await stat(path)).ino;
    } catch {
      // missing during rotation; the next rename event sets it
    }
  };
  await tail.start();
  await statIno();

  const done = (async () => {
    let pending: Buffer = Buffer.alloc(0);
    for await (const chunk of tail as AsyncIterable<Buffer>) {
      let buf = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      let nl: number;
      while ((nl = buf.indexOf(0x0a)) >= 0) {
        let end = nl;
        if (end > 0 && buf[end - 1] === 0x0d) end--;
        const line = buf.toString('utf8', 0, end);
        buf = buf.subarray(nl + 1);
        if (line.length === 0) continue;
        try {
          await onLine(line);
        } catch (err) {
          log.error({ err }, 'line handler failed; line skipped');
        }
      }
      pending = Buffer.from(buf);
      partialBytes = pending.length;
    }
  })();
  let stopping: Promise<void> | null = null;
  return {
    stop() {
      stopping ??= (async () => {
        await tail.quit();
        await done;
      })();
      return stopping;
    },
    position() {
      if (lastRead === null || ino === null) return null;
      return { ino, pos: Math.max(0, lastRead - partialBytes) };
    },
  };
}
