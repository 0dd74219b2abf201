import TailFile from '@logdna/tail-file';
import split2 from 'split2';
import type { Logger } from '../logger.ts';

export interface FollowOptions {
  /** Poll interval in ms (tail-file polls; rename rotation and truncation are handled). Default 250. */
  pollMs?: number;
  /** Start at the end of the file (only new lines, like `tail -f`) instead of the beginning. Default false. */
  fromEnd?: boolean;
  logger: Logger;
}

export interface FollowHandle {
  /** Stops tailing; lines already read are delivered first. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Tails a registry log file (`tail -F` semantics through @logdna/tail-file: survives rename
 * rotation without losing lines written to the old file, and truncation) and calls `onLine`
 * for every complete line, in order, awaiting it before reading more (backpressure).
 * @throws Error when the file does not exist at start.
 */
export async function followFile(
  path: string,
  onLine: (line: string) => Promise<void>,
  options: FollowOptions,
): Promise<FollowHandle> {
  const log = options.logger.child({ component: 'follow', path });
  const tail = new TailFile(path, {
    encoding: 'utf8',
    pollFileIntervalMs: options.pollMs ?? 250,
    ...(options.fromEnd ? {} : { startPos: 0 }),
  });
  tail.on('tail_error', (err: unknown) => log.warn({ err }, 'tail error; retrying'));
  tail.on('renamed', () => log.info('log file rotated (renamed); following the new file'));
  tail.on('truncated', () => log.info('log file truncated; reading from the start'));
  await tail.start();
  const lines = tail.pipe(split2());
  const done = (async () => {
    for await (const line of lines as AsyncIterable<string>) {
      if (line.length === 0) continue;
      try {
        await onLine(line);
      } catch (err) {
        log.error({ err }, 'line handler failed');
      }
    }
  })();
  let stopped = false;
  return {
    async stop() {
      if (stopped) return;
      stopped = true;
      await tail.quit();
      await done;
    },
  };
}
