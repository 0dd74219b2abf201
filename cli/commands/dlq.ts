/**
 * `regwatch dlq [--brokers h:p,...] [--topic-prefix P] [--reason R ...] [--from-beginning | --since T]
 *   [--limit N] [--follow]`
 * Reads the dead-letter topic (`<prefix>regwatch.dlq`, written by the ingest service with
 * services/ingest/src/dlq.ts `toDlqMessage`) and prints one NDJSON line per message on stdout
 * ({@link DlqRecord}), then a count by reason on stderr.
 *
 * It never moves any consumer group's committed offsets: the end offsets come from the admin API
 * (ListOffsets), and the messages are fetched by a consumer in a fresh, random group
 * (`regwatch-dlq-cli-<hex>`) that never commits and is deleted again on exit.
 */
// First: installs the project's kafkajs fixes (kafka.ts), which only work before kafkajs loads.
import { KAFKAJS_REPLACEMENTS_INSTALLED } from '../../shared/src/bus/kafka.ts';
import kafkajs from 'kafkajs';
import type { Admin, Consumer, EachBatchPayload, KafkaMessage, LogEntry } from 'kafkajs';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { isUtf8 } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import { AppError } from '../../shared/src/errors.ts';
import { hostPortProblem } from '../../shared/src/config.ts';
import { createLogger } from '../../shared/src/logger.ts';
import { TOPICS } from '../../shared/src/topics.ts';
import { DLQ_HEADERS, DLQ_REASONS } from '../../services/ingest/src/dlq.ts';
import { REJECT_REASONS } from '../../shared/src/normalize/types.ts';
import { parseTimeOption } from './analyze.ts';

void KAFKAJS_REPLACEMENTS_INSTALLED;
const { Kafka, logLevel } = kafkajs;

/** One dead-lettered message as printed on stdout (one JSON object per line). */
export interface DlqRecord {
  /** Kafka record timestamp of the DLQ message (the failure time, producer CreateTime), ISO 8601. */
  readonly timestamp: string;
  /** Reason code (`regwatch.dlq.reason`): a normalizer REJECT_REASONS key or an ingest DLQ_REASONS key; null if absent. */
  readonly reason: string | null;
  /** Human detail (`regwatch.dlq.detail`); null if absent. */
  readonly detail: string | null;
  /** What `value` holds (`regwatch.dlq.payload`): `raw`, `event` or `document`; null if absent. */
  readonly payload: string | null;
  /** Where the rejected input was read from (`regwatch.source.*`): replay it from there after a fix. */
  readonly source: { readonly topic: string | null; readonly partition: number | null; readonly offset: string | null };
  /** Key of the DLQ message (the source message's key). */
  readonly key: string | null;
  /** The rejected bytes: UTF-8 text, or base64 when they are not valid UTF-8 (see `encoding`). */
  readonly value: string;
  readonly encoding: 'utf8' | 'base64';
  /** Length of the rejected bytes (bytes, before any base64 encoding). */
  readonly size: number;
  /** Elasticsearch error type / document id (`regwatch.dlq.error_type`, `regwatch.dlq.document_id`), ES rejections only. */
  readonly error_type?: string;
  readonly document_id?: string;
  /** Where this message itself is on the DLQ topic. */
  readonly dlq: { readonly topic: string; readonly partition: number; readonly offset: string };
}

/** First value of a kafkajs header as UTF-8, or null when missing. */
function header(headers: KafkaMessage['headers'], name: string): string | null {
  const v = headers?.[name];
  const first = Array.isArray(v) ? v[0] : v;
  if (first === undefined || first === null) return null;
  return Buffer.isBuffer(first) ? first.toString('utf8') : String(first);
}

/**
 * The printed form of one DLQ message (headers per services/ingest/src/dlq.ts DLQ_HEADERS).
 * Messages not written by regwatch (missing headers) still print, with nulls. Never throws.
 */
export function toDlqRecord(topic: string, partition: number, m: KafkaMessage): DlqRecord {
  const value = m.value ?? Buffer.alloc(0);
  const text = isUtf8(value);
  const sourcePartition = header(m.headers, DLQ_HEADERS.sourcePartition);
  const errorType = header(m.headers, DLQ_HEADERS.errorType);
  const documentId = header(m.headers, DLQ_HEADERS.documentId);
  const ms = Number(m.timestamp);
  return {
    timestamp: Number.isFinite(ms) && ms >= 0 ? new Date(ms).toISOString() : String(m.timestamp),
    reason: header(m.headers, DLQ_HEADERS.reason),
    detail: header(m.headers, DLQ_HEADERS.detail),
    payload: header(m.headers, DLQ_HEADERS.payload),
    source: {
      topic: header(m.headers, DLQ_HEADERS.sourceTopic),
      partition: sourcePartition !== null && /^\d+$/.test(sourcePartition) ? Number(sourcePartition) : null,
      offset: header(m.headers, DLQ_HEADERS.sourceOffset),
    },
    key: m.key ? m.key.toString('utf8') : null,
    value: value.toString(text ? 'utf8' : 'base64'),
    encoding: text ? 'utf8' : 'base64',
    size: value.length,
    ...(errorType !== null ? { error_type: errorType } : {}),
    ...(documentId !== null ? { document_id: documentId } : {}),
    dlq: { topic, partition, offset: m.offset },
  };
}

/** What {@link readDlq} read, for the stderr summary. */
export interface DlqSummary {
  readonly topic: string;
  /** Messages fetched in the window (before the --reason filter). */
  read: number;
  /** Messages printed. */
  printed: number;
  /** Printed messages per reason code (`(none)` for a message without the header). */
  readonly byReason: Map<string, number>;
}

/**
 * The human summary: a headline and one `  <reason>  <count>` line per reason, most frequent first.
 */
export function formatDlqSummary(s: DlqSummary, filtered: boolean): string {
  const lines = [
    `regwatch dlq: ${s.printed} message(s) from ${s.topic}${filtered ? ` (${s.read} read, ${s.printed} matched --reason)` : ''}`,
  ];
  const rows = [...s.byReason].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const width = Math.max(0, ...rows.map(([r]) => r.length));
  for (const [reason, n] of rows) lines.push(`  ${reason.padEnd(width)}  ${n}`);
  return lines.join('\n') + '\n';
}

export interface ReadDlqOptions {
  /** `host:port` bootstrap brokers. */
  readonly brokers: readonly string[];
  /** Full DLQ topic name (prefix applied). */
  readonly topic: string;
  /** Where to start: `earliest` retained offset, a time (epoch ms; first message at/after it) or `latest` (only new messages). */
  readonly start: 'earliest' | 'latest' | { readonly sinceMs: number };
  /** Keep reading new messages until `signal` aborts; otherwise stop at the end offsets taken at start. */
  readonly follow: boolean;
  /** Only messages with one of these reason codes (empty: all). */
  readonly reasons: readonly string[];
  /** Stop after printing this many messages. */
  readonly limit?: number;
  /** Called with each printed record, in offset order per partition. May return a promise (backpressure). */
  readonly onRecord: (r: DlqRecord) => void | Promise<void>;
  /** Stops a --follow read (and an unfinished read). */
  readonly signal?: AbortSignal;
  /** TCP connect timeout, ms. Default 3000. */
  readonly connectionTimeoutMs?: number;
}

/** kafkajs internals to stderr as pino JSON, only with REGWATCH_DEBUG=1 (a CLI prints its own one-line errors). */
function kafkaLogCreator(debug: boolean) {
  const log = createLogger('regwatch-dlq', { destination: process.stderr, level: debug ? 'debug' : 'silent' });
  return () =>
    ({ namespace, log: entry }: LogEntry) => {
      const { message, ...extra } = entry;
      log.debug({ namespace, kafka: extra }, message);
    };
}

const unavailable = (brokers: readonly string[], what: string, err: unknown): AppError =>
  new AppError('KAFKA_UNAVAILABLE', `${what} (brokers ${brokers.join(',')}): ${(err as Error).message}`, {
    retriable: true,
    cause: err,
    context: { brokers },
  });

/**
 * Reads the DLQ topic without committing anything: end offsets per partition from the admin API,
 * messages through a consumer in a fresh random group (never commits; deleted at the end).
 * Without `follow` it resolves once every partition reached the end offset it had at start (or
 * `limit` messages were printed). Assumes no transactional control records at the end of a
 * partition (the ingest producer is idempotent, not transactional).
 * @returns the summary (counts by reason of printed messages).
 * @throws AppError KAFKA_UNAVAILABLE (retriable) naming the brokers when they cannot be reached;
 * CONFIG_INVALID when the topic does not exist (wrong prefix), listing the DLQ topics that do.
 */
export async function readDlq(o: ReadDlqOptions, debug = false): Promise<DlqSummary> {
  const summary: DlqSummary = { topic: o.topic, read: 0, printed: 0, byReason: new Map() };
  const kafka = new Kafka({
    clientId: 'regwatch-dlq-cli',
    brokers: [...o.brokers],
    connectionTimeout: o.connectionTimeoutMs ?? 3000,
    requestTimeout: 10_000,
    logLevel: debug ? logLevel.DEBUG : logLevel.NOTHING,
    logCreator: kafkaLogCreator(debug),
    retry: { initialRetryTime: 200, maxRetryTime: 2000, retries: 2 },
  });
  const admin: Admin = kafka.admin();
  const start = new Map<number, bigint>();
  const end = new Map<number, bigint>();
  try {
    await admin.connect();
    const topics = await admin.listTopics();
    if (!topics.includes(o.topic)) {
      const dlqs = topics.filter((t) => t.endsWith(TOPICS.dlq)).sort();
      throw new AppError(
        'CONFIG_INVALID',
        `topic "${o.topic}" does not exist on ${o.brokers.join(',')} (check --topic-prefix / REGWATCH_TOPIC_PREFIX; ` +
          `the ingest service creates it at start-up). DLQ topics there: ${dlqs.length === 0 ? 'none' : dlqs.slice(0, 10).join(', ')}${dlqs.length > 10 ? ` (+${dlqs.length - 10} more)` : ''}`,
      );
    }
    const offsets = await admin.fetchTopicOffsets(o.topic);
    const since =
      typeof o.start === 'object' ? await admin.fetchTopicOffsetsByTimestamp(o.topic, o.start.sinceMs) : null;
    for (const p of offsets) {
      end.set(p.partition, BigInt(p.high));
      const from =
        o.start === 'earliest'
          ? p.low
          : o.start === 'latest'
            ? p.high
            : (since!.find((s) => s.partition === p.partition)?.offset ?? p.high);
      // A time offset older than retention resolves below the low watermark: clamp.
      start.set(p.partition, BigInt(from) < BigInt(p.low) ? BigInt(p.low) : BigInt(from));
    }
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw unavailable(o.brokers, `could not read the offsets of ${o.topic}`, err);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }

  const pending = new Set([...start].filter(([p, s]) => s < end.get(p)!).map(([p]) => p));
  if (!o.follow && pending.size === 0) return summary;
  if (o.limit !== undefined && o.limit <= 0) return summary;

  const groupId = `regwatch-dlq-cli-${randomBytes(6).toString('hex')}`;
  const consumer: Consumer = kafka.consumer({
    groupId,
    allowAutoTopicCreation: false,
    maxWaitTimeInMs: 500,
    retry: { initialRetryTime: 200, maxRetryTime: 2000, retries: 2 },
  });
  let finished = false;
  let finish!: () => void;
  let fail!: (err: unknown) => void;
  const done = new Promise<void>((resolve, reject) => {
    finish = () => {
      finished = true;
      resolve();
    };
    fail = (err) => {
      finished = true;
      reject(err instanceof AppError ? err : unavailable(o.brokers, 'Kafka consumer failed', err));
    };
  });
  const onAbort = (): void => finish();
  if (o.signal?.aborted) finish();
  o.signal?.addEventListener('abort', onAbort, { once: true });
  consumer.on(consumer.events.CRASH, (e) => {
    if (!finished) fail(e.payload.error);
  });

  const eachBatch = async ({ batch }: EachBatchPayload): Promise<void> => {
    const { partition } = batch;
    const from = start.get(partition) ?? 0n;
    const until = end.get(partition) ?? 0n;
    for (const m of batch.messages) {
      if (finished) return;
      const offset = BigInt(m.offset);
      // A fetch that raced the initial seek may start below the chosen start: skip those.
      if (offset < from) continue;
      if (!o.follow && offset >= until) {
        pending.delete(partition);
        break;
      }
      summary.read++;
      const record = toDlqRecord(batch.topic, partition, m);
      if (o.reasons.length === 0 || (record.reason !== null && o.reasons.includes(record.reason))) {
        summary.printed++;
        const key = record.reason ?? '(none)';
        summary.byReason.set(key, (summary.byReason.get(key) ?? 0) + 1);
        await o.onRecord(record);
        if (o.limit !== undefined && summary.printed >= o.limit) return finish();
      }
      if (!o.follow && offset + 1n >= until) pending.delete(partition);
    }
    if (!o.follow && pending.size === 0) finish();
  };

  try {
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [o.topic], fromBeginning: true });
      await consumer.run({ autoCommit: false, eachBatch });
    } catch (err) {
      throw unavailable(o.brokers, `could not start reading ${o.topic}`, err);
    }
    // autoCommit is off, so these seeks only move this consumer's fetch position.
    for (const [partition, offset] of start) consumer.seek({ topic: o.topic, partition, offset: String(offset) });
    await done;
  } finally {
    o.signal?.removeEventListener('abort', onAbort);
    finished = true;
    await consumer.disconnect().catch(() => undefined);
    // The group never committed; remove it so it does not linger in the group listing.
    const cleanup = kafka.admin();
    await cleanup
      .connect()
      .then(() => cleanup.deleteGroups([groupId]))
      .catch(() => undefined)
      .finally(() => cleanup.disconnect().catch(() => undefined));
  }
  return summary;
}

/** Every reason code a dead-lettered message can carry. */
const KNOWN_REASONS: ReadonlySet<string> = new Set([...Object.keys(REJECT_REASONS), ...Object.keys(DLQ_REASONS)]);

/**
 * `--reason` values (repeatable, comma lists), each a known code: a typo would otherwise match
 * nothing and look like an empty dead-letter topic. @throws InvalidArgumentError (usage, exit 2).
 */
const collect = (v: string, prev: string[] | undefined): string[] => {
  const codes = v.split(',').map((s) => s.trim());
  const unknown = codes.filter((c) => !KNOWN_REASONS.has(c));
  if (unknown.length > 0)
    throw new InvalidArgumentError(`unknown reason code ${unknown.map((c) => `'${c}'`).join(', ')}`);
  return [...(prev ?? []), ...codes];
};

/**
 * Writes to stdout, waiting for 'drain' when the pipe is full (a DLQ can be large). Also settles
 * when stdout fails (EPIPE: the reader, e.g. `head`, went away) so the read can stop.
 */
function writeOut(line: string): Promise<void> | void {
  if (process.stdout.write(line)) return;
  return new Promise((resolve) => {
    const done = (): void => {
      process.stdout.off('drain', done);
      process.stdout.off('error', done);
      resolve();
    };
    process.stdout.once('drain', done);
    process.stdout.once('error', done);
  });
}

export function register(program: Command): void {
  program
    .command('dlq')
    .description(
      'print dead-lettered messages (regwatch.dlq) as NDJSON with reason and source offset; summary by reason on stderr. ' +
        'Reads with the admin API (end offsets) and a random consumer group that never commits (deleted on exit): ' +
        "no service's offsets move. Full mode (Kafka) only: the embedded `regwatch run` keeps its dead letters in " +
        '<data-dir>/bus/topics/regwatch.dlq/<partition>.ndjson (values base64)',
    )
    .option('--brokers <list>', 'Kafka brokers host:port,... (default $KAFKA_BROKERS, else 127.0.0.1:9092)')
    .option(
      '--topic-prefix <prefix>',
      'prefix of the topic name, as the ingest service REGWATCH_TOPIC_PREFIX (default $REGWATCH_TOPIC_PREFIX, else none)',
    )
    .addOption(
      new Option(
        '--reason <code>',
        `only messages with this reason code (repeatable, or a comma list): ${[
          ...Object.keys(REJECT_REASONS),
          ...Object.keys(DLQ_REASONS),
        ].join(', ')}`,
      ).argParser(collect),
    )
    .addOption(
      new Option(
        '--from-beginning',
        'start at the earliest retained message (the default without --follow; with --follow the default is new messages only)',
      ),
    )
    .addOption(
      new Option('--since <time>', 'start at the first message at or after this ISO 8601 time').conflicts(
        'fromBeginning',
      ),
    )
    .option('--limit <n>', 'stop after printing n messages')
    .option('--follow', 'keep printing new messages until Ctrl-C (otherwise exit at the end of the topic)')
    .action(
      async (opts: {
        brokers?: string;
        topicPrefix?: string;
        reason?: string[];
        fromBeginning?: boolean;
        since?: string;
        limit?: string;
        follow?: boolean;
      }) => {
        const brokers = (opts.brokers ?? process.env.KAFKA_BROKERS ?? '127.0.0.1:9092')
          .split(',')
          .map((b) => b.trim())
          .filter((b) => b.length > 0);
        const problems = brokers.map(hostPortProblem).filter((p): p is string => p !== null);
        if (brokers.length === 0) problems.push('give at least one host:port');
        if (problems.length > 0) throw new AppError('CONFIG_INVALID', `--brokers: ${problems.join('; ')}`);
        let limit: number | undefined;
        if (opts.limit !== undefined) {
          limit = Number(opts.limit);
          if (!Number.isInteger(limit) || limit < 1)
            throw new AppError('CONFIG_INVALID', `--limit must be a positive integer, got "${opts.limit}"`);
        }
        const sinceMs = parseTimeOption('--since', opts.since);
        const follow = opts.follow === true;
        const topic = `${opts.topicPrefix ?? process.env.REGWATCH_TOPIC_PREFIX ?? ''}${TOPICS.dlq}`;
        const reasons = (opts.reason ?? []).filter((r) => r.length > 0);
        const stop = new AbortController();
        const onSignal = (): void => stop.abort();
        process.once('SIGINT', onSignal);
        process.once('SIGTERM', onSignal);
        // `regwatch dlq | head`: once the reader is gone, stop reading (and print the summary).
        const onStdoutError = (e: NodeJS.ErrnoException): void => {
          if (e.code === 'EPIPE') stop.abort();
        };
        process.stdout.on('error', onStdoutError);
        if (follow) process.stderr.write(`regwatch dlq: following ${topic}; Ctrl-C to stop\n`);
        try {
          const summary = await readDlq(
            {
              brokers,
              topic,
              start:
                sinceMs !== undefined ? { sinceMs } : opts.fromBeginning === true || !follow ? 'earliest' : 'latest',
              follow,
              reasons,
              ...(limit !== undefined ? { limit } : {}),
              onRecord: (r) => writeOut(JSON.stringify(r) + '\n'),
              signal: stop.signal,
            },
            process.env.REGWATCH_DEBUG === '1',
          );
          process.stderr.write(formatDlqSummary(summary, reasons.length > 0));
        } finally {
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
          process.stdout.off('error', onStdoutError);
        }
      },
    );
}
