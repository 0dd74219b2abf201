import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import type { OutgoingMessage, Publisher } from '../../../shared/src/bus/types.ts';
import { AppError } from '../../../shared/src/errors.ts';
import { followFile, type FollowHandle, type FollowPosition } from '../../../shared/src/io/follow.ts';
import { fileIsGzip, inputReadError, openInput } from '../../../shared/src/io/open-input.ts';
import type { Logger } from '../../../shared/src/logger.ts';
import { RAW_HEADERS } from '../../ingest/src/receiver.ts';

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
 */
export function rawMessage(
  kind: RawKind,
  value: string | Buffer,
  route: string,
  receivedAt: Date,
  key: string | null = null,
): OutgoingMessage {
  return {
    key,
    value,
    headers: {
      [RAW_HEADERS.contentType]: MEDIA[kind],
      [RAW_HEADERS.receivedAt]: receivedAt.toISOString(),
      [RAW_HEADERS.route]: route,
    },
  };
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
 * One-shot read of a recorded input file (`--input`): every line (or the one JSON document) is
 * published to its raw topic in input order, in batches of `batchSize`, keyed `file:<abs path>`
 * (one partition per file, order kept). Gzip input is recognised by its magic bytes and
 * decompressed (shared/src/io/open-input.ts), whatever the file is called.
 * When `options.signal` aborts (the process is asked to stop), reading ends after the current
 * batch and the counts so far are returned (a later run reads the file again from the start).
 * @returns messages published per raw kind.
 * @throws AppError INPUT_UNREADABLE when the file cannot be opened or read (corrupt gzip
 *   included); the publisher's error when the bus refuses (nothing is skipped silently).
 */
export async function publishInputFile(
  path: string,
  publisher: Publisher,
  topics: RawTopics,
  options: { batchSize?: number; now?: () => Date; signal?: AbortSignal } = {},
): Promise<Record<RawKind, number>> {
  const counts: Record<RawKind, number> = { notifications: 0, logs: 0, harborWebhooks: 0 };
  const now = options.now ?? (() => new Date());
  const size = options.batchSize ?? 500;
  const opened = await openInput(path);
  const flushAll = async (items: { kind: RawKind; message: OutgoingMessage }[]): Promise<void> => {
    // Keep input order per topic; topics are independent streams anyway.
    for (const kind of ['notifications', 'logs', 'harborWebhooks'] as const) {
      const msgs = items.filter((i) => i.kind === kind).map((i) => i.message);
      if (msgs.length === 0) continue;
      await publisher.publish(topics[kind], msgs);
      counts[kind] += msgs.length;
    }
  };
  const key = `file:${resolve(path)}`;
  const rl = createInterface({ input: opened.stream, crlfDelay: Infinity });
  let batch: { kind: RawKind; message: OutgoingMessage }[] = [];
  // A first non-blank line that is a lone `{` or `[` starts one pretty-printed JSON document:
  // collect the whole (decompressed) text and group it with `recordedMessages`.
  let doc: string[] | null = null;
  let seenContent = false;
  try {
    for await (const line of rl) {
      if (options.signal?.aborted) break;
      if (doc) {
        doc.push(line);
        continue;
      }
      if (line.trim() === '') continue;
      if (!seenContent) {
        seenContent = true;
        const t = line.trim();
        if (t === '{' || t === '[') {
          doc = [line];
          continue;
        }
      }
      const kind = classifyRaw(line);
      batch.push({ kind, message: rawMessage(kind, line, 'input', now(), key) });
      if (batch.length >= size) {
        await flushAll(batch);
        batch = [];
      }
    }
  } catch (err) {
    opened.stream.destroy();
    throw inputReadError(path, err);
  }
  if (options.signal?.aborted) {
    rl.close();
    opened.stream.destroy();
  }
  if (doc) {
    // A document cut short by the abort would not parse: publish it only when read whole.
    if (!options.signal?.aborted) await flushAll(recordedMessages(doc.join('\n'), 'input', now(), key));
  } else await flushAll(batch);
  return counts;
}

export interface FollowInputsOptions {
  readonly paths: readonly string[];
  readonly publisher: Publisher;
  readonly topics: RawTopics;
  /** Directory for resume positions (`follow-<hash>.json`); absent = always from the start. */
  readonly stateDir?: string;
  readonly logger: Logger;
  readonly pollMs?: number;
  /** Called after each line was published (progress, tests). */
  readonly onLine?: (path: string) => void;
}

export interface FollowInputs {
  /** Stops every follower (each delivers what it read), then saves resume positions. */
  stop(): Promise<void>;
}

const stateFileOf = (dir: string, path: string): string =>
  join(dir, `follow-${createHash('sha256').update(resolve(path)).digest('hex').slice(0, 16)}.json`);

/** Where to resume a followed file: the saved position if it is still the same, intact file. */
export function resumePosition(path: string, saved: (FollowPosition & { path?: string }) | null): number {
  if (!saved) return 0;
  try {
    const st = statSync(path);
    if (st.ino !== saved.ino) return 0; // rotated while we were down: the new file is all new
    if (st.size < saved.pos) return 0; // truncated
    return saved.pos;
  } catch {
    return 0;
  }
}

/**
 * Follows registry log files (`--follow`, repeatable) with rotation handling and publishes each
 * line to `registry.logs` (a line that is a notification envelope or Harbor webhook goes to its
 * own raw topic). Waits for a file that does not exist yet (the registry may start later).
 * A gzip file (magic bytes 1f 8b) cannot be tailed: AppError INPUT_UNREADABLE (thrown for a file
 * present at start, logged for one that appears later).
 * A restarted process resumes at the position saved at the last clean stop (after a crash it
 * re-reads from there: at-least-once; the detector drops repeated event ids).
 * A failed publish is retried with backoff until it succeeds or the followers stop.
 */
export async function followInputs(options: FollowInputsOptions): Promise<FollowInputs> {
  const log = options.logger.child({ component: 'inputs' });
  let stopped = false;
  const handles = new Map<string, FollowHandle>();
  const waiting: Promise<void>[] = [];

  const publishLine = async (path: string, line: string): Promise<void> => {
    const kind = classifyRaw(line);
    for (let attempt = 0; ; attempt++) {
      try {
        await options.publisher.publish(options.topics[kind], [
          rawMessage(kind, line, 'follow', new Date(), `file:${resolve(path)}`),
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

  const start = async (path: string): Promise<void> => {
    let warned = false;
    while (!stopped && !existsSync(path)) {
      if (!warned) log.warn({ path }, 'file to follow does not exist yet; waiting for it');
      warned = true;
      await sleep(options.pollMs ?? 250);
    }
    if (stopped) return;
    refuseGzip(path);
    let saved: (FollowPosition & { path?: string }) | null = null;
    if (options.stateDir && existsSync(stateFileOf(options.stateDir, path))) {
      try {
        saved = JSON.parse(readFileSync(stateFileOf(options.stateDir, path), 'utf8')) as FollowPosition;
      } catch {
        saved = null;
      }
    }
    const startPos = resumePosition(path, saved);
    const h = await followFile(path, (line) => publishLine(path, line), {
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

  return {
    async stop() {
      stopped = true;
      await Promise.all(waiting);
      for (const [path, h] of handles) {
        await h.stop();
        const pos = h.position();
        if (options.stateDir && pos) {
          const f = stateFileOf(options.stateDir, path);
          writeFileSync(`${f}.tmp`, JSON.stringify({ ...pos, path: resolve(path) }));
          renameSync(`${f}.tmp`, f);
        }
      }
    },
  };
}
