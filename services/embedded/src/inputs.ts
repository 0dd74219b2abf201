import {
  closeSync,
  createReadStream,
  existsSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  statSync,
  writeFileSync,
  type Stats,
} from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { OutgoingMessage, Publisher } from '../../../shared/src/bus/types.ts';
import { AppError } from '../../../shared/src/errors.ts';
import {
  followFile,
  type FollowHandle,
  type FollowPosition,
  type LineLocation,
} from '../../../shared/src/io/follow.ts';
import { readInputUnits, readLines } from '../../../shared/src/io/input-lines.ts';
import { fileIsGzip, inputReadError, openInput } from '../../../shared/src/io/open-input.ts';
import { MAX_LINE_BYTES, MAX_PAYLOAD_BYTES } from '../../../shared/src/normalize/index.ts';
import type { Logger } from '../../../shared/src/logger.ts';
import { RAW_HEADERS } from '../../ingest/src/receiver.ts';
import { makeDirs } from './data-dir.ts';

/** Raw topics an input line can go to. */
export interface RawTopics {
  readonly notifications: string;
  readonly logs: string;
  readonly harborWebhooks: string;
}

export type RawKind = keyof RawTopics;

const MEDIA: Record<RawKind, string> = {
  notifications: 'application/vnd.docker.distribution.events.v1+json',
  logs: 'text/plain',
  harborWebhooks: 'application/json',
};

/**
 * Which raw topic a recorded input belongs to: a Distribution notification envelope (a JSON
 * object with an `events` array, docs: distribution notifications.md) → notifications; a Harbor
 * webhook (default format `type` + `event_data`, or a CloudEvent with `specversion`) →
 * harbor webhooks; anything else (registry stdout in any format) → logs.
 */
export function classifyRaw(text: string): RawKind {
  const t = text.trimStart();
  if (!t.startsWith('{')) return 'logs';
  let o: unknown;
  try {
    o = JSON.parse(t);
  } catch {
    return 'logs';
  }
  if (!o || typeof o !== 'object' || Array.isArray(o)) return 'logs';
  const x = o as Record<string, unknown>;
  if (Array.isArray(x['events'])) return 'notifications';
  if ((typeof x['type'] === 'string' && typeof x['event_data'] === 'object') || typeof x['specversion'] === 'string')
    return 'harborWebhooks';
  return 'logs';
}

/**
 * A raw bus message as the receiver would have made it (same headers), for `route`. `key` names
 * the stream the line belongs to (e.g. `file:/var/log/registry.log`): all lines of one stream land
 * in one partition in order, so the log normalizer sees the lines of one request (the htpasswd
 * failure line and its 401 warning, lines split at 16 KiB) together. Null = any partition.
 * `lineRef` (see {@link fileLineRef}) becomes the `regwatch.line_ref` header: the normalize stage
 * then builds the dedupe ids of lines without an id of their own from it instead of the bus offset.
 */
export function rawMessage(
  kind: RawKind,
  value: string | Buffer,
  route: string,
  receivedAt: Date,
  key: string | null = null,
  lineRef: string | null = null,
): OutgoingMessage {
  return {
    key,
    value,
    headers: {
      [RAW_HEADERS.contentType]: MEDIA[kind],
      [RAW_HEADERS.receivedAt]: receivedAt.toISOString(),
      [RAW_HEADERS.route]: route,
      ...(lineRef !== null ? { [RAW_HEADERS.lineRef]: lineRef } : {}),
    },
  };
}

/**
 * The `regwatch.line_ref` of a line read from a file: `file:<dev>:<ino>:<offset>` — the file's
 * `stat` device and inode numbers and the byte offset of the line's first byte (in the
 * decompressed stream for gzip input). The same line of the same file gets the same ref however
 * often and whenever it is read (a restart re-reading lines gives them their old event ids, so
 * the detector drops them as repeats); after a rename rotation the new file has a new inode, so
 * its offsets from 0 do not collide with the old file's. (A file truncated in place keeps its
 * inode: a line there gets the ref an old line at the same offset had, but a dedupe id also
 * hashes the line's bytes, so only the very same line at the very same offset shares an id.)
 */
export function fileLineRef(dev: number, ino: number, offset: number): string {
  return `file:${dev}:${ino}:${offset}`;
}

/**
 * Groups recorded input into raw bus messages: one per line, except a file whose first non-blank
 * line is a lone `{` or `[` (a pretty-printed JSON document, e.g. a saved webhook), which is one
 * message (a top-level array becomes one message per element).
 */
export function recordedMessages(
  text: string,
  route: string,
  receivedAt: Date,
  key: string | null = null,
): { kind: RawKind; message: OutgoingMessage }[] {
  const first = text
    .split('\n')
    .find((l) => l.trim() !== '')
    ?.trim();
  if (first === '{' || first === '[') {
    try {
      const doc = JSON.parse(text) as unknown;
      const docs = Array.isArray(doc) ? doc : [doc];
      return docs.map((d) => {
        const s = JSON.stringify(d);
        const kind = classifyRaw(s);
        return { kind, message: rawMessage(kind, s, route, receivedAt, key) };
      });
    } catch {
      // not one JSON document after all: fall through to lines
    }
  }
  const out: { kind: RawKind; message: OutgoingMessage }[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '') continue;
    const kind = classifyRaw(line);
    out.push({ kind, message: rawMessage(kind, line, route, receivedAt, key) });
  }
  return out;
}

/**
 * What a data directory remembers about one `--input` file (`input-<hash of the path>.json`
 * beside the `follow-*.json` positions): the file's identity when it was read and how far its
 * lines were published.
 */
export interface InputReadState {
  /** Absolute path (for people reading the state file; the file name is its hash). */
  readonly path: string;
  /** `stat` device and inode numbers, size (bytes, on disk: compressed for gzip) and mtime (ms). */
  readonly dev: number;
  readonly ino: number;
  readonly size: number;
  readonly mtimeMs: number;
  /** SHA-256 (hex) of the file's first 4 KiB as stored on disk. */
  readonly head: string;
  /** Input lines (decompressed, blank ones included) whose messages were published. */
  readonly lines: number;
  /** SHA-256 (hex) of those lines, each followed by `\n`: proves the same content on resume. */
  readonly linesHash: string;
  /** True when the file was read to its end. */
  readonly complete: boolean;
}

/** How a `--input` file was started, given what the data directory remembered about it. */
export type InputResume =
  /** Nothing remembered (or no state directory): read from the first line. */
  | 'fresh'
  /** Already read completely and unchanged: nothing was read or published. */
  | 'skipped'
  /** Its first `skippedLines` lines were published by an earlier run (interrupted, or the file grew): the rest was read. */
  | 'resumed'
  /** Remembered, but the content of what was read changed (new file at the same path): read again from the start. */
  | 'changed';

export interface InputReadResult {
  /** Messages published by this call, per raw kind. */
  readonly counts: Record<RawKind, number>;
  readonly resume: InputResume;
  /** Lines not published again because an earlier run already had (0 unless `resumed`/`skipped`). */
  readonly skippedLines: number;
  /** True when the file was read to its end (false when stopped by the signal). */
  readonly complete: boolean;
}

export interface PublishInputOptions {
  /** Messages per publish call (default 500). */
  readonly batchSize?: number;
  /** Clock for `regwatch.received_at`. */
  readonly now?: () => Date;
  /** Aborted = stop after the current batch (the position is saved when `stateDir` is set). */
  readonly signal?: AbortSignal;
  /**
   * Directory for read positions (`input-<hash>.json`, the embedded data dir's `inputs/`).
   * Absent, or an input that is not a regular file (stdin `-`, a FIFO): every call reads from the
   * start and nothing is remembered.
   */
  readonly stateDir?: string;
  /** For warnings about the input (over-long lines). */
  readonly logger?: Logger;
}

const HEAD_BYTES = 4096;

const stateFileOf = (dir: string, kind: 'follow' | 'input', path: string): string =>
  join(dir, `${kind}-${createHash('sha256').update(resolve(path)).digest('hex').slice(0, 16)}.json`);

/** Writes a state file atomically (temp file + rename): a crash leaves the old or the new one. */
function saveState(file: string, value: unknown): void {
  writeFileSync(`${file}.tmp`, JSON.stringify(value));
  renameSync(`${file}.tmp`, file);
}

/** {@link saveState} for an input's read position. @throws AppError OUTPUT_UNWRITABLE. */
function saveInputState(file: string, value: InputReadState): void {
  try {
    saveState(file, value);
  } catch (err) {
    throw new AppError(
      'OUTPUT_UNWRITABLE',
      `cannot save the read position of ${value.path} in ${file}: ${(err as Error).message}`,
      {
        cause: err,
        context: { file },
      },
    );
  }
}

/** The saved JSON at `file`, or null when there is none or it cannot be parsed (then: start over). */
function loadState<T>(file: string): T | null {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return null;
  }
}

/** SHA-256 (hex) of the first 4 KiB of `path`. @throws the fs error. */
function headHash(path: string): string {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(HEAD_BYTES);
    const n = readSync(fd, buf, 0, HEAD_BYTES, 0);
    return createHash('sha256').update(buf.subarray(0, n)).digest('hex');
  } finally {
    closeSync(fd);
  }
}

/** True when the saved state describes this very file, unchanged since it was read completely. */
function unchangedSince(saved: InputReadState, st: Stats, head: string): boolean {
  return (
    saved.complete &&
    saved.dev === st.dev &&
    saved.ino === st.ino &&
    saved.size === st.size &&
    saved.mtimeMs === st.mtimeMs &&
    saved.head === head
  );
}

/**
 * Reads a recorded input file (`--input`) and publishes every message to its raw topic in input
 * order, in batches of `batchSize`, keyed `file:<abs path>` (one partition per file, order kept).
 * The file is cut into messages as `regwatch normalize` and `POST /v1/logs` cut input
 * (shared/src/io/input-lines.ts): one per non-blank line, except a pretty-printed JSON document
 * anywhere in the file (a notification envelope, a Harbor payload, an audit page), which is one
 * message with its bytes as they are. A regular file's messages carry the line ref
 * {@link fileLineRef} of their first line. Gzip input is recognised by its magic bytes and
 * decompressed (shared/src/io/open-input.ts), whatever the file is called.
 *
 * With `options.stateDir`, the position is saved after every published batch, with the file's
 * identity (device + inode, size, mtime, SHA-256 of the first 4 KiB) and a SHA-256 of the lines
 * published so far. A later call for the same path then:
 * - skips the file without reading it when it was read completely and its identity is unchanged;
 * - otherwise re-reads the remembered lines without publishing them, checking their hash: same
 *   content → publishes only the lines after them (an interrupted read, or lines appended since);
 *   different content (a new file at the same path) → publishes the whole file from the start.
 * A crash between a publish and its save publishes that one batch again (at-least-once; its
 * lines carry the same line refs, so their events get the same ids and the detector drops them).
 * A pretty-printed JSON document is published whole or not at all, never resumed half-way.
 * When `options.signal` aborts, reading ends after the current batch.
 * @returns messages published per raw kind, how the read started and how many lines were skipped.
 * @throws AppError INPUT_UNREADABLE when the file cannot be opened or read (corrupt gzip
 *   included); OUTPUT_UNWRITABLE when the position cannot be saved in `stateDir`; the
 *   publisher's error when the bus refuses (nothing is skipped silently: the saved position
 *   stays at the last batch the bus accepted).
 */
export async function readInputFile(
  path: string,
  publisher: Publisher,
  topics: RawTopics,
  options: PublishInputOptions = {},
): Promise<InputReadResult> {
  let st: Stats | null = null;
  if (path !== '-') {
    try {
      st = statSync(path);
    } catch (err) {
      throw new AppError('INPUT_UNREADABLE', `cannot read ${path}: ${(err as Error).message}`, {
        cause: err,
        context: { file: path },
      });
    }
    if (!st.isFile()) st = null; // a FIFO or device: its content differs on every read
  }
  // A regular file's lines get stable line refs (device + inode + byte offset).
  const file = st ? { dev: st.dev, ino: st.ino } : null;
  if (!options.stateDir || !st) return readWhole(path, publisher, topics, options, null, file);
  try {
    makeDirs(options.stateDir);
  } catch (err) {
    throw new AppError('OUTPUT_UNWRITABLE', `cannot create ${options.stateDir}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const stateFile = stateFileOf(options.stateDir, 'input', path);
  const saved = loadState<InputReadState>(stateFile);
  let head: string;
  try {
    head = headHash(path);
  } catch (err) {
    throw inputReadError(path, err);
  }
  const identity = { path: resolve(path), dev: st.dev, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, head };
  const save = (lines: number, linesHash: string, complete: boolean): void =>
    saveInputState(stateFile, { ...identity, lines, linesHash, complete });
  if (saved && unchangedSince(saved, st, head)) {
    return {
      counts: { notifications: 0, logs: 0, harborWebhooks: 0 },
      resume: 'skipped',
      skippedLines: saved.lines,
      complete: true,
    };
  }
  if (saved && saved.lines > 0) {
    const resumed = await readFrom(path, publisher, topics, options, save, saved, file);
    if (resumed) return resumed;
    // The remembered lines are not what the file holds now: it is a new file, read it whole.
    const fresh = await readWhole(path, publisher, topics, options, save, file);
    return { ...fresh, resume: 'changed' };
  }
  return readWhole(path, publisher, topics, options, save, file);
}

/** True for a line of only spaces, tabs and CR (blank lines are not inputs). */
function isBlank(b: Buffer): boolean {
  for (const c of b) if (c !== 32 && c !== 9 && c !== 13) return false;
  return true;
}

/** The line without a trailing `\r` (CRLF files: the message is the line's text). */
const withoutCr = (b: Buffer): Buffer => (b.length > 0 && b[b.length - 1] === 0x0d ? b.subarray(0, -1) : b);

/**
 * One pass over the file. The file is cut into messages as `regwatch normalize` cuts it
 * (shared/src/io/input-lines.ts: byte lines, pretty-printed JSON documents anywhere in the file
 * whole, as one message). With `skip`, the messages of its first `skip.lines` lines are hashed,
 * not published; when they differ from `skip.linesHash` nothing was published and null is returned
 * (without `skip` the result is never null). With `file` (a regular file's device and inode),
 * every message carries the line ref {@link fileLineRef} of its first line.
 */
async function readFrom(
  path: string,
  publisher: Publisher,
  topics: RawTopics,
  options: PublishInputOptions,
  save: ((lines: number, linesHash: string, complete: boolean) => void) | null,
  skip: Pick<InputReadState, 'lines' | 'linesHash'> | null,
  file: { readonly dev: number; readonly ino: number } | null,
): Promise<InputReadResult | null> {
  const counts: Record<RawKind, number> = { notifications: 0, logs: 0, harborWebhooks: 0 };
  const now = options.now ?? (() => new Date());
  const size = options.batchSize ?? 500;
  const opened = await openInput(path);
  // The bus's or the state file's error, passed on as it is (not a read error of the input).
  let ownError: unknown = undefined;
  const flushAll = async (items: { kind: RawKind; message: OutgoingMessage }[]): Promise<void> => {
    // Keep input order per topic; topics are independent streams anyway.
    for (const kind of ['notifications', 'logs', 'harborWebhooks'] as const) {
      const msgs = items.filter((i) => i.kind === kind).map((i) => i.message);
      if (msgs.length === 0) continue;
      try {
        await publisher.publish(topics[kind], msgs);
      } catch (err) {
        ownError = err;
        throw err;
      }
      counts[kind] += msgs.length;
    }
  };
  const key = `file:${resolve(path)}`;
  const log = options.logger?.child({ component: 'inputs', path });
  const hash = createHash('sha256');
  const digest = (): string => hash.copy().digest('hex');
  const skipLines = skip?.lines ?? 0;
  let lineNo = 0; // lines of the units taken so far (all hashed), blank ones included
  let verified = skipLines === 0; // the remembered lines were read and are the same
  let batch: { kind: RawKind; message: OutgoingMessage }[] = [];
  const units = readInputUnits(opened.stream as AsyncIterable<Buffer>, MAX_LINE_BYTES, MAX_PAYLOAD_BYTES);
  try {
    for await (const u of units) {
      if (options.signal?.aborted) break;
      const lines = u.kind === 'line' ? [u.line] : u.lines;
      let straddles = false;
      for (const l of lines) {
        hash.update(withoutCr(l.bytes)).update('\n');
        lineNo++;
        if (!verified && lineNo === skipLines) {
          if (digest() !== skip?.linesHash || l !== lines[lines.length - 1]) {
            // Other content, or the same lines grouped otherwise: a new file.
            opened.stream.destroy();
            return null;
          }
          verified = true;
          straddles = true; // this unit was published by the earlier run
        }
      }
      if (!verified || straddles) continue;
      const first = lines[0]!;
      let value: Buffer;
      if (u.kind === 'document') value = u.bytes;
      else {
        if (!first.overflow && isBlank(first.bytes)) continue;
        if (first.overflow)
          log?.warn(
            { line: first.line, maxBytes: MAX_LINE_BYTES },
            'input line too long: its first 4 KiB are published (and rejected downstream as too large)',
          );
        value = withoutCr(first.bytes);
      }
      const kind = classifyRaw(value.toString('utf8'));
      const ref = file ? fileLineRef(file.dev, file.ino, first.offset) : null;
      batch.push({ kind, message: rawMessage(kind, value, 'input', now(), key, ref) });
      if (batch.length >= size) {
        await flushAll(batch);
        batch = [];
        save?.(lineNo, digest(), false);
      }
    }
  } catch (err) {
    opened.stream.destroy();
    if (err === ownError || (err instanceof AppError && err.code === 'OUTPUT_UNWRITABLE')) throw err;
    throw inputReadError(path, err);
  }
  const aborted = options.signal?.aborted === true;
  if (aborted) opened.stream.destroy();
  const result = (resume: InputResume, complete: boolean): InputReadResult => ({
    counts,
    resume,
    skippedLines: resume === 'resumed' || resume === 'skipped' ? skipLines : 0,
    complete,
  });
  if (!verified) {
    // Stopped while re-reading the remembered lines: nothing published, the saved state stands.
    if (aborted) return result('resumed', false);
    // The file ends before the remembered lines do: it is a new file.
    return null;
  }
  await flushAll(batch);
  save?.(lineNo, digest(), !aborted);
  return result(skipLines > 0 ? 'resumed' : 'fresh', !aborted);
}

/** {@link readFrom} from the first line (never null). */
async function readWhole(
  path: string,
  publisher: Publisher,
  topics: RawTopics,
  options: PublishInputOptions,
  save: ((lines: number, linesHash: string, complete: boolean) => void) | null,
  file: { readonly dev: number; readonly ino: number } | null,
): Promise<InputReadResult> {
  const r = await readFrom(path, publisher, topics, options, save, null, file);
  if (!r) throw new Error('a read from the first line has nothing to verify');
  return r;
}

export interface FollowInputsOptions {
  readonly paths: readonly string[];
  readonly publisher: Publisher;
  readonly topics: RawTopics;
  /** Directory for resume positions (`follow-<hash>.json`); absent = always from the start. */
  readonly stateDir?: string;
  readonly logger: Logger;
  readonly pollMs?: number;
  /** How often a position that moved is saved while following, ms. Default 1000. */
  readonly saveIntervalMs?: number;
  /** Called after each line was published (progress, tests). */
  readonly onLine?: (path: string) => void;
}

export interface FollowInputs {
  /** Stops every follower (each delivers what it read), then saves resume positions. */
  stop(): Promise<void>;
}

/** What `<stateDir>/follow-<hash>.json` holds: the position ({@link FollowHandle.position}) and the path. */
type SavedFollowPosition = FollowPosition & { path?: string };

/**
 * The old generation of a followed file rotated while we were down: a regular file in the same
 * directory (other name) with the saved device and inode, or undefined (gone, compressed, moved
 * elsewhere). Never throws.
 */
export function findRotated(path: string, saved: SavedFollowPosition): { path: string; size: number } | undefined {
  try {
    const dir = dirname(resolve(path));
    const self = resolve(path);
    for (const name of readdirSync(dir)) {
      const candidate = join(dir, name);
      if (candidate === self) continue;
      try {
        const st = statSync(candidate);
        if (st.isFile() && st.ino === saved.ino && (saved.dev === undefined || st.dev === saved.dev))
          return { path: candidate, size: st.size };
      } catch {
        // vanished meanwhile
      }
    }
  } catch {
    // directory unreadable
  }
  return undefined;
}

/**
 * Delivers the lines of `file` from byte `from` to its end (a finished file: a last line without
 * newline is delivered too), each with its location (`dev`, `ino`, byte offset), in order,
 * awaiting each. Empty lines are skipped; a trailing `\r` is removed.
 * @throws the fs error when the file cannot be read.
 */
async function readRest(
  file: string,
  from: number,
  dev: number,
  ino: number,
  onLine: (line: string, at: LineLocation) => Promise<void>,
): Promise<number> {
  let lines = 0;
  // No length cap, like the follower that would have read these lines.
  for await (const l of readLines(createReadStream(file, { start: from }), Number.POSITIVE_INFINITY)) {
    let end = l.bytes.length;
    if (end > 0 && l.bytes[end - 1] === 0x0d) end--;
    if (end === 0) continue;
    await onLine(l.bytes.toString('utf8', 0, end), { dev, ino, offset: from + l.offset });
    lines++;
  }
  return lines;
}

/** Where to resume a followed file: the saved position if it is still the same, intact file. */
export function resumePosition(path: string, saved: SavedFollowPosition | null): number {
  if (!saved) return 0;
  try {
    const st = statSync(path);
    if (st.ino !== saved.ino) return 0; // rotated while we were down: the new file is all new
    if (saved.dev !== undefined && st.dev !== saved.dev) return 0; // another file system
    if (st.size < saved.pos) return 0; // truncated
    return saved.pos;
  } catch {
    return 0;
  }
}

/**
 * Follows registry log files (`--follow`, repeatable) with rotation handling and publishes each
 * line to `registry.logs` (a line that is a notification envelope or Harbor webhook goes to its
 * own raw topic), with the line ref {@link fileLineRef} of where it was read (device, inode, byte
 * offset). Waits for a file that does not exist yet (the registry may start later).
 * A gzip file (magic bytes 1f 8b) cannot be tailed: AppError INPUT_UNREADABLE (thrown for a file
 * present at start, logged for one that appears later).
 * Each file's position is saved in `stateDir` every `saveIntervalMs` when it moved, and at stop —
 * only ever a position every line before which was published (acknowledged by the bus). A
 * restarted process resumes there; after a crash it re-reads the lines published since the last
 * save (at-least-once), and they carry the same line refs, so their events get the same ids and
 * the detector drops them as repeats. A file rotated while the process was down: the rest of the
 * old file after the saved position is read first when the old file is still in the same
 * directory under another name (same device and inode: `mv` rotation, logrotate without
 * `compress` on that generation), then the new file from its start; when it is gone, a warning
 * says its unread end is lost.
 * A failed publish is retried with backoff until it succeeds or the followers stop.
 */
export async function followInputs(options: FollowInputsOptions): Promise<FollowInputs> {
  const log = options.logger.child({ component: 'inputs' });
  let stopped = false;
  const handles = new Map<string, FollowHandle>();
  const waiting: Promise<void>[] = [];
  /** Last saved position per path (JSON), so an unchanged one is not written again. */
  const savedJson = new Map<string, string>();

  const publishLine = async (path: string, line: string, at: LineLocation): Promise<void> => {
    const kind = classifyRaw(line);
    const ref = at.ino >= 0 ? fileLineRef(at.dev, at.ino, at.offset) : null;
    for (let attempt = 0; ; attempt++) {
      try {
        await options.publisher.publish(options.topics[kind], [
          rawMessage(kind, line, 'follow', new Date(), `file:${resolve(path)}`, ref),
        ]);
        options.onLine?.(path);
        return;
      } catch (err) {
        if (stopped) throw err;
        log.warn({ err, attempt }, 'publishing a followed line failed; retrying');
        await sleep(Math.min(5000, 100 * 2 ** attempt));
      }
    }
  };

  /** Saves the position of every follower that moved since its last save. Never throws. */
  const savePositions = (): void => {
    if (!options.stateDir) return;
    for (const [path, h] of handles) {
      const pos = h.position();
      if (!pos) continue;
      const json = JSON.stringify({ ...pos, path: resolve(path) });
      if (savedJson.get(path) === json) continue;
      try {
        saveState(stateFileOf(options.stateDir, 'follow', path), JSON.parse(json));
        savedJson.set(path, json);
      } catch (err) {
        log.error({ err, path }, 'cannot save the follow position; a restart re-reads more lines');
      }
    }
  };

  const refuseGzip = (path: string): void => {
    if (!fileIsGzip(path)) return;
    throw new AppError(
      'INPUT_UNREADABLE',
      `cannot follow ${path}: it is gzip-compressed (starts with 1f 8b); --follow tails plain-text logs, read recorded .gz files with --input`,
      { context: { file: path } },
    );
  };
  // Check every file present now before tailing any, so a refusal leaves nothing running.
  for (const p of options.paths) refuseGzip(p);
  if (options.stateDir) {
    try {
      makeDirs(options.stateDir);
    } catch (err) {
      throw new AppError('OUTPUT_UNWRITABLE', `cannot create ${options.stateDir}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  const start = async (path: string): Promise<void> => {
    let warned = false;
    while (!stopped && !existsSync(path)) {
      if (!warned) log.warn({ path }, 'file to follow does not exist yet; waiting for it');
      warned = true;
      await sleep(options.pollMs ?? 250);
    }
    if (stopped) return;
    refuseGzip(path);
    let saved: SavedFollowPosition | null = null;
    if (options.stateDir) saved = loadState<SavedFollowPosition>(stateFileOf(options.stateDir, 'follow', path));
    const startPos = resumePosition(path, saved);
    if (saved && startPos === 0 && saved.pos > 0) {
      const rotated = statSync(path).ino !== saved.ino ? findRotated(path, saved) : undefined;
      if (rotated && rotated.size > saved.pos) {
        // Rotated while we were down, old generation still here: its lines after the saved
        // position first (same line refs as if they had been followed), then the new file.
        const lines = await readRest(
          rotated.path,
          saved.pos,
          saved.dev ?? statSync(rotated.path).dev,
          saved.ino,
          (l, at) => publishLine(path, l, at),
        );
        log.info(
          { path, rotated: rotated.path, from: saved.pos, bytes: rotated.size - saved.pos, lines },
          'followed file was rotated while stopped: read the rest of its old generation, now following the new file from its start',
        );
      } else if (rotated) {
        log.info(
          { path, rotated: rotated.path },
          'followed file was rotated while stopped (old generation fully read); following the new file from its start',
        );
      } else {
        log.warn(
          { path, saved },
          'followed file was rotated or truncated since the saved position and its old generation is not next to it: lines written to the old file after the saved position are not read; reading the file from its start',
        );
      }
    }
    const h = await followFile(path, (line, at) => publishLine(path, line, at), {
      logger: log,
      pollMs: options.pollMs ?? 250,
      startPos,
    });
    handles.set(path, h);
    log.info({ path, startPos }, 'following file');
  };

  for (const p of options.paths) {
    // A file that appears later is picked up in the background.
    if (existsSync(p)) await start(p);
    else waiting.push(start(p).catch((err: unknown) => log.error({ err, path: p }, 'cannot follow file')));
  }
  const timer = setInterval(savePositions, options.saveIntervalMs ?? 1000);
  timer.unref();

  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await Promise.all(waiting);
      for (const h of handles.values()) await h.stop();
      savePositions();
    },
  };
}
