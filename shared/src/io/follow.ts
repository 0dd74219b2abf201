import { statSync } from 'node:fs';
import TailFile from '@logdna/tail-file';
import type { Logger } from '../logger.ts';

export interface FollowOptions {
  /** Poll interval in ms (tail-file polls; rename rotation and truncation are handled). Default 250. */
  pollMs?: number;
  /** Start at the end of the file (only new lines, like `tail -f`) instead of the beginning. Default false. */
  fromEnd?: boolean;
  /**
   * Byte offset to start reading at (resume after a restart; see `FollowHandle.position`).
   * Wins over `fromEnd`. Must be the start of a line. Beyond the end of the file = the file was
   * truncated meanwhile: read from its start.
   */
  startPos?: number;
  logger: Logger;
}

/** Where a line was read: the file (device + inode, as `stat` gives them) and its byte offset. */
export interface LineLocation {
  readonly dev: number;
  readonly ino: number;
  /** Byte offset of the first byte of the line in that file. */
  readonly offset: number;
}

export interface FollowPosition {
  /** Inode of the file the position belongs to (a different inode at restart = rotated meanwhile). */
  readonly ino: number;
  /** Device of that file (absent in positions saved by older versions). */
  readonly dev?: number;
  /** Byte offset just after the last line whose handler resolved (every line before it did too). */
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
   * Where a new follower should resume (`startPos`, with the inode it belongs to): just after the
   * last line whose `onLine` resolved, all lines before it having resolved too — so it is safe to
   * save at any time, not only after `stop()` (a crash after saving it re-reads at most the lines
   * handled since). A line whose handler threw holds the position at its start for good (it is
   * read again by the next follower). Null when the file's inode could not be read.
   */
  position(): FollowPosition | null;
}

/** A stretch of the tailed byte stream that comes from one file, from byte `base` of it on. */
interface Segment {
  /** Offset in the tailed stream (all bytes tail-file pushed) where the stretch starts. */
  readonly at: number;
  readonly dev: number;
  readonly ino: number;
  /** File offset of the stretch's first byte. */
  readonly base: number;
}

/**
 * tail-file's stream with the byte count of everything it pushed, so a `renamed`/`truncated`
 * event (emitted after the old file's last bytes were pushed and before the new file's first)
 * marks the exact stream offset where the file changed.
 */
class CountingTail extends TailFile {
  pushed = 0;
  override push(chunk: Buffer | null, encoding?: BufferEncoding): boolean {
    if (chunk) this.pushed += chunk.length;
    return super.push(chunk, encoding);
  }
}

/**
 * Tails a registry log file (`tail -F` semantics through @logdna/tail-file: survives rename
 * rotation without losing lines written to the old file, truncation, and the file missing for a
 * while during rotation) and calls `onLine` for every complete line (without its `\n` or `\r\n`)
 * with where it was read (device, inode, byte offset of the line start: the same every time the
 * same line of the same file is read, however often and whenever), in order, awaiting it before
 * reading more (backpressure). Empty lines are skipped.
 *
 * Offsets are exact across rotation: the bytes tail-file pushes are counted, and its `renamed` /
 * `truncated` events (emitted between the old file's last bytes and the new file's first) start a
 * new stretch at offset 0 of the file now at `path` (its inode read when the event fires; a second
 * rotation within that instant could name the wrong inode). A last line of a rotated or truncated
 * file without a newline is delivered when the switch is seen (that file gets no more bytes).
 * Not detectable (tail-file compares sizes): a copy-truncate that refills the file past the old
 * position between two polls.
 *
 * A handler that throws is logged and the line is skipped (the caller decides retries), and
 * `position()` stays before it.
 * @throws the fs error (ENOENT, EACCES) when the file cannot be opened at start.
 */
export async function followFile(
  path: string,
  onLine: (line: string, at: LineLocation) => Promise<void>,
  options: FollowOptions,
): Promise<FollowHandle> {
  const log = options.logger.child({ component: 'follow', path });
  const st = statSync(path);
  // Always an explicit start: the stream's first byte is then at a known file offset.
  const startPos = options.startPos ?? (options.fromEnd ? st.size : 0);
  const tail = new CountingTail(path, {
    pollFileIntervalMs: options.pollMs ?? 250,
    // Rotation can leave the path missing for a moment (or longer with `create` delays): keep
    // retrying instead of ending the stream after tail-file's default of 10 failed polls.
    maxPollFailures: Number.MAX_SAFE_INTEGER,
    pollFailureRetryMs: 500,
    startPos,
  });
  const segments: Segment[] = [{ at: 0, dev: st.dev, ino: st.ino, base: startPos }];
  let committed: FollowPosition | null = { dev: st.dev, ino: st.ino, pos: startPos };
  let held = false; // a handler threw: the position stays before that line
  const newSegment = (): void => {
    const prev = segments[segments.length - 1]!;
    try {
      const now = statSync(path);
      segments.push({ at: tail.pushed, dev: now.dev, ino: now.ino, base: 0 });
    } catch (err) {
      // Gone again right after tail-file opened it: offsets of this stretch cannot be tied to a file.
      log.warn({ err }, 'cannot stat the new file after rotation; its lines get no stable position');
      segments.push({ at: tail.pushed, dev: prev.dev, ino: -1, base: 0 });
    }
  };
  tail.on('tail_error', (err: unknown) => log.warn({ err }, 'tail error; retrying'));
  // tail-file ends the stream with 'error' only on unrecoverable errors (EACCES); without a
  // listener that would crash the process.
  tail.on('error', (err: unknown) => log.error({ err }, 'cannot follow file any more'));
  tail.on('renamed', () => {
    log.info('log file rotated (renamed); following the new file');
    newSegment();
  });
  tail.on('truncated', () => {
    log.info('log file truncated; reading from the start');
    newSegment();
  });
  await tail.start();

  const deliver = async (line: string, seg: Segment, start: number, end: number): Promise<void> => {
    // `start`/`end`: stream offsets of the line's first byte and of the byte after its `\n`.
    if (line.length > 0) {
      try {
        await onLine(line, { dev: seg.dev, ino: seg.ino, offset: seg.base + (start - seg.at) });
      } catch (err) {
        log.error({ err }, 'line handler failed; line skipped');
        held = true;
      }
    }
    if (!held) committed = seg.ino < 0 ? null : { dev: seg.dev, ino: seg.ino, pos: seg.base + (end - seg.at) };
  };

  const done = (async () => {
    let segIdx = 0;
    let consumed = 0; // stream offset of the next byte to look at
    let pending: Buffer = Buffer.alloc(0); // bytes of the current line read so far
    let pendingAt = 0; // stream offset of its first byte
    const lineOf = (buf: Buffer, end: number): string => {
      if (end > 0 && buf[end - 1] === 0x0d) end--;
      return buf.toString('utf8', 0, end);
    };
    for await (const chunk of tail as AsyncIterable<Buffer>) {
      let rest = chunk;
      while (rest.length > 0) {
        // Move into the stretch the next byte belongs to; a line left unfinished there is complete.
        while (segIdx + 1 < segments.length && segments[segIdx + 1]!.at <= consumed) {
          if (pending.length > 0) {
            log.warn('last line of the rotated or truncated file had no newline; delivered as it is');
            await deliver(lineOf(pending, pending.length), segments[segIdx]!, pendingAt, consumed);
            pending = Buffer.alloc(0);
          }
          segIdx++;
        }
        const seg = segments[segIdx]!;
        const next = segments[segIdx + 1];
        const take = next ? Math.min(rest.length, next.at - consumed) : rest.length;
        const piece = rest.subarray(0, take);
        rest = rest.subarray(take);
        let pos = 0;
        let nl: number;
        while ((nl = piece.indexOf(0x0a, pos)) >= 0) {
          const part = piece.subarray(pos, nl);
          const lineStart = pending.length > 0 ? pendingAt : consumed + pos;
          const buf = pending.length > 0 ? Buffer.concat([pending, part]) : part;
          pending = Buffer.alloc(0);
          await deliver(lineOf(buf, buf.length), seg, lineStart, consumed + nl + 1);
          pos = nl + 1;
        }
        if (pos < piece.length) {
          if (pending.length === 0) pendingAt = consumed + pos;
          pending = Buffer.concat([pending, piece.subarray(pos)]);
        }
        consumed += piece.length;
      }
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
      return committed;
    },
  };
}
