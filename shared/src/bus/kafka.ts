// First: installs faster copies of three kafkajs internals, which only works before kafkajs loads.
import { KAFKAJS_REPLACEMENTS_INSTALLED } from './kafkajs-preload.ts';
import kafkajs from 'kafkajs';
import type { Consumer, EachBatchPayload, ISocketFactory, KafkaConfig, LogEntry, Producer, SASLOptions } from 'kafkajs';
import { createRequire } from 'node:module';
import { connect as netConnect, isIP } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { ConnectionOptions } from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppError } from '../errors.ts';
import { speedUpKafkajsEncoder } from './kafkajs-encoder.ts';
import type { Logger } from '../logger.ts';
import type {
  BatchContext,
  BatchHandler,
  BusMessage,
  CommitOffset,
  MessageBus,
  OutgoingMessage,
  Publisher,
  SubscribeOptions,
  Subscription,
} from './types.ts';

const { Kafka, logLevel, CompressionTypes, Partitioners } = kafkajs;

const PENDING_CHECK_FIXED = Symbol.for('regwatch.kafkajs.pendingCheckFixed');

/** The part of kafkajs 2.2.4's internal RequestQueue (src/network/requestQueue) the fix below uses. */
interface KafkajsRequestQueue {
  pending: unknown[];
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  checkPendingRequests(): void;
  scheduleCheckPendingRequests(): void;
}

/**
 * kafkajs 2.2.4 reschedules its pending-request check after every broker response even when
 * nothing is pending, with a delay of `throttledUntil - now` = `-1 - Date.now()`: Node 24 warns
 * (TimeoutNegativeWarning) and runs it after 1 ms, and since each run reschedules itself, every
 * broker connection wakes the process every millisecond for ever (kafkajs issues #1704, #1751;
 * measured here: ~320 ms CPU per 5 s of an idle publisher). This replaces that one method of the
 * RequestQueue prototype (the module is loaded, not modified on disk) with the same logic minus
 * the empty case: with requests pending, check when the throttle ends or after kafkajs' 10 ms
 * CHECK_PENDING_REQUESTS_INTERVAL, as before; with none pending, schedule nothing — kafkajs
 * checks again on the next push or response. Applied only to kafkajs 2.2.x, where the method has
 * this shape; returns whether it was applied.
 */
export function stopKafkajsPendingCheckLoop(): boolean {
  const require = createRequire(import.meta.url);
  let version: string;
  let RequestQueue: { prototype: KafkajsRequestQueue & { [k: symbol]: boolean } };
  try {
    version = (require('kafkajs/package.json') as { version: string }).version;
    RequestQueue = require('kafkajs/src/network/requestQueue/index.js') as typeof RequestQueue;
  } catch {
    return false;
  }
  const proto = RequestQueue.prototype;
  if (!version.startsWith('2.2.') || typeof proto.scheduleCheckPendingRequests !== 'function') return false;
  if (proto[PENDING_CHECK_FIXED]) return true;
  proto.scheduleCheckPendingRequests = function scheduleCheckPendingRequests(this: KafkajsRequestQueue): void {
    if (this.throttleCheckTimeoutId || this.pending.length === 0) return;
    const untilUnthrottled = this.throttledUntil - Date.now();
    this.throttleCheckTimeoutId = setTimeout(
      () => {
        this.throttleCheckTimeoutId = null;
        this.checkPendingRequests();
      },
      untilUnthrottled > 0 ? untilUnthrottled : 10,
    );
  };
  proto[PENDING_CHECK_FIXED] = true;
  return true;
}
stopKafkajsPendingCheckLoop();
speedUpKafkajsEncoder();
export { speedUpKafkajsEncoder, KAFKAJS_REPLACEMENTS_INSTALLED };

export interface KafkaBusOptions {
  /** `host:port` bootstrap brokers. */
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly logger: Logger;
  readonly ssl?: boolean | ConnectionOptions;
  readonly sasl?: SASLOptions;
  /** TCP connect timeout, ms. Default 3000. */
  readonly connectionTimeoutMs?: number;
  /** Per-request timeout, ms. Default 10000. */
  readonly requestTimeoutMs?: number;
  /**
   * Upper bound for one `publish` call, ms (connect + retries + ack). When exceeded the call
   * throws KAFKA_UNAVAILABLE so an HTTP caller can answer 503 instead of hanging. Default 8000.
   */
  readonly publishTimeoutMs?: number;
  /** Consumer session timeout, ms. Default 30000. */
  readonly sessionTimeoutMs?: number;
  /** Consumer heartbeat interval, ms. Default 3000. */
  readonly heartbeatIntervalMs?: number;
  /** How many topic-partitions one subscription handles at once. Default 4. */
  readonly partitionsConsumedConcurrently?: number;
  /** Max bytes fetched per partition per request. Default 1 MiB. */
  readonly maxBytesPerPartition?: number;
  /** Backoff after a handler failure before the batch is redelivered, ms (doubles, capped at 30 s). Default 500. */
  readonly handlerRetryBaseMs?: number;
  /**
   * Batches of one topic-partition a subscription may have in its handler at once. 1 (default):
   * the next batch is fetched only after the handler resolved and its offsets were committed.
   * N > 1: up to N consecutive batches of a partition are handled concurrently (the next is fetched
   * and handed over while the previous is still in Elasticsearch/Kafka I/O); offsets are still
   * committed only in order, each only after its batch and every batch before it resolved; a
   * failed batch is redelivered together with everything after it. Handlers must then tolerate
   * overlapping batches of one partition (idempotent writes).
   */
  readonly maxBatchesInFlight?: number;
  /** Called after every batch with the partition's remaining lag (messages behind the high watermark). */
  readonly onConsumerLag?: (groupId: string, topic: string, partition: number, lag: number) => void;
  /**
   * Called after every produce request a publisher sent, acknowledged or not: how many messages
   * and (approximate) bytes it carried and how long it took (ms). Messages per request shows how
   * well concurrent `publish` calls coalesce (benchmarks, metrics).
   */
  readonly onProduceRequest?: (info: ProduceRequestInfo) => void;
  /**
   * Kafka producers' `linger.ms`, adaptive: after a produce request was acknowledged, the next one
   * waits at most this long (ms) for as many `publish` calls as the last round trip carried
   * (those sent plus those queued meanwhile — the concurrent callers, e.g. HTTP clients waiting
   * for their 202, coming back) before it is sent; it never waits when that many are already
   * queued, so a lone sequential caller (a registry's notification endpoint sends one envelope at
   * a time) is never delayed. Default 1; 0 sends as soon as the previous request was acknowledged.
   */
  readonly lingerMs?: number;
}

/** One produce request of a publisher (`KafkaBusOptions.onProduceRequest`). */
export interface ProduceRequestInfo {
  readonly messages: number;
  /** Approximate wire bytes: keys + values + headers + 64 per record. */
  readonly bytes: number;
  /** From handing the request to kafkajs until its acknowledgement or failure, ms. */
  readonly durationMs: number;
  readonly ok: boolean;
}

/**
 * Routes kafkajs' own log entries into a pino child logger (kafkajs docs/CustomLogger.md).
 * Exported for its unit test only.
 */
export function pinoLogCreator(logger: Logger): KafkaConfig['logCreator'] {
  const log = logger.child({ component: 'kafkajs' });
  // Kafka error codes 14/15 (COORDINATOR_LOAD_IN_PROGRESS, GROUP_COORDINATOR_NOT_AVAILABLE) answer
  // FindCoordinator while a consumer joins a group the broker is still placing (a fresh broker or
  // __consumer_offsets partition): kafkajs logs the response at error level and retries. Debug: a
  // join that really fails still logs at error level (the consumer's `Crash: …` after its retries).
  const transientCoordinator = new Set([
    'The group coordinator is not available',
    "The coordinator is loading and hence can't process requests for this group",
  ]);
  return () =>
    ({ namespace, level, log: entry }: LogEntry) => {
      const { message, timestamp: _ts, logger: _l, ...extra } = entry;
      const fields = { namespace, kafka: extra };
      if (
        level === logLevel.ERROR &&
        namespace === 'Connection' &&
        transientCoordinator.has(String((extra as { error?: unknown }).error))
      )
        log.debug(fields, message);
      else if (level === logLevel.ERROR) log.error(fields, message);
      // kafkajs warns at every start that a bounded retry count may break exactly-once; regwatch
      // bounds it on purpose (a publish must fail in time for the receiver's 503) and does not use
      // transactions (consumers are idempotent), so this one is debug, not a warning to act on.
      else if (level === logLevel.WARN && message.startsWith('Limiting retries for the idempotent producer'))
        log.debug(fields, message);
      else if (level === logLevel.WARN) log.warn(fields, message);
      else if (level === logLevel.INFO) log.info(fields, message);
      else log.debug(fields, message);
    };
}

function headersOf(raw: Record<string, unknown> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!raw) return out;
  for (const [k, v] of Object.entries(raw)) {
    if (v === undefined || v === null) continue;
    const first = Array.isArray(v) ? v[0] : v;
    out[k] = Buffer.isBuffer(first) ? first.toString('utf8') : String(first);
  }
  return out;
}

/** The messages of one fetched kafkajs batch in the bus's shape (key and headers as UTF-8 strings). */
function busMessagesOf({ topic, partition, messages }: EachBatchPayload['batch']): BusMessage[] {
  return messages.map((m) => ({
    topic,
    partition,
    offset: m.offset,
    key: m.key ? m.key.toString('utf8') : null,
    value: m.value ?? Buffer.alloc(0),
    headers: headersOf(m.headers as Record<string, unknown> | undefined),
    timestamp: Number(m.timestamp),
  }));
}

/** Heartbeat and pause/resume of the batch's own topic-partition, as handlers see them. */
function batchContextOf(consumer: Consumer, payload: EachBatchPayload): BatchContext {
  const { topic, partition } = payload.batch;
  return {
    heartbeat: () => payload.heartbeat(),
    pause: () => consumer.pause([{ topic, partitions: [partition] }]),
    resume: () => consumer.resume([{ topic, partitions: [partition] }]),
  };
}

/** kafkajs errors that mean "the group is rebalancing / this batch is stale": kafkajs itself must handle them. */
function isGroupMembershipError(err: unknown): boolean {
  const e = err as { name?: string; type?: string } | null;
  if (!e || typeof e.name !== 'string' || !e.name.startsWith('KafkaJS')) return false;
  return [
    'REBALANCE_IN_PROGRESS',
    'UNKNOWN_MEMBER_ID',
    'ILLEGAL_GENERATION',
    'NOT_COORDINATOR_FOR_GROUP',
    'FENCED_INSTANCE_ID',
  ].includes(e.type ?? '');
}

/** Upper bound of the payload bytes sent in one produce request (below the broker's default 1 MiB). */
const MAX_REQUEST_BYTES = 768 * 1024;

/** Approximate wire size of a message: key + value + headers + per-record overhead. */
function sizeOf({ m }: { m: OutgoingMessage }): number {
  return messageSize(m);
}

/** Approximate wire size of `m` in bytes: key + value + headers + 64 bytes of record overhead. */
function messageSize(m: OutgoingMessage): number {
  let n =
    64 +
    (m.key ? Buffer.byteLength(m.key) : 0) +
    (typeof m.value === 'string' ? Buffer.byteLength(m.value) : m.value.length);
  const headers = m.headers;
  if (headers) for (const k in headers) n += Buffer.byteLength(k) + Buffer.byteLength(headers[k]!) + 8;
  return n;
}

/** Splits messages, in order, into chunks of at most `maxBytes` (a single larger message is its own chunk). */
export function chunkBySize<T extends { m: OutgoingMessage }>(messages: readonly T[], maxBytes: number): T[][] {
  const out: T[][] = [];
  let cur: T[] = [];
  let size = 0;
  for (const m of messages) {
    const s = sizeOf(m);
    if (cur.length > 0 && size + s > maxBytes) {
      out.push(cur);
      cur = [];
      size = 0;
    }
    cur.push(m);
    size += s;
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

/** One `publish` call waiting for its acknowledgement. */
interface PendingWrite {
  readonly topic: string;
  readonly messages: readonly OutgoingMessage[];
  /** `performance.now()` ms after which the call fails with KAFKA_UNAVAILABLE. */
  readonly deadline: number;
  /** Set once resolved or rejected (a timed-out write that is still queued is then not sent). */
  settled: boolean;
  readonly resolve: () => void;
  readonly reject: (err: AppError) => void;
}

/** The kafkajs message shape for one of ours (the message object itself when it already fits). */
type KafkajsMessage = { key?: string | null; value: string | Buffer; headers?: Record<string, string> };

/**
 * Publisher on one idempotent kafkajs producer (acks=-1, one produce request in flight).
 * Concurrent `publish` calls are coalesced: every call queued while a produce request is in
 * flight goes into the next one (one record batch per topic-partition), so the broker and
 * kafkajs pay their per-request cost once per batch rather than once per HTTP request.
 * Deadlines: `publishTimeoutMs` is enforced by one timer for all pending calls (their deadlines
 * are in call order, since the timeout is the same for all), not by a timer and a
 * `Promise.race` per call.
 */
class KafkaPublisher implements Publisher {
  readonly #producer: Producer;
  readonly #timeoutMs: number;
  readonly #log: Logger;
  #connected: Promise<void> | null = null;
  #closed = false;
  /** Calls not yet handed to a produce request, in call order. */
  #queue: PendingWrite[] = [];
  #flushing = false;
  /** Every call not yet known settled, in call (= deadline) order, from index `#head`. */
  #unsettled: PendingWrite[] = [];
  #head = 0;
  #timer: NodeJS.Timeout | null = null;
  readonly #lingerMs: number;
  /** Calls the last round trip carried (sent + queued meanwhile): how many the next one waits for. */
  #expected = 0;
  /** The linger timer while the next produce request waits for `#expected` calls. */
  #linger: NodeJS.Timeout | null = null;

  readonly #onProduceRequest: ((info: ProduceRequestInfo) => void) | undefined;

  constructor(
    producer: Producer,
    timeoutMs: number,
    log: Logger,
    onProduceRequest?: (info: ProduceRequestInfo) => void,
    lingerMs = 1,
  ) {
    this.#producer = producer;
    this.#timeoutMs = timeoutMs;
    this.#log = log;
    this.#onProduceRequest = onProduceRequest;
    this.#lingerMs = Math.max(0, lingerMs);
    producer.on(producer.events.DISCONNECT, () => {
      this.#connected = null;
    });
  }

  /**
   * Writes `messages` to `topic` and resolves once every broker in the ISR acknowledged (acks=-1,
   * idempotent producer). @throws AppError KAFKA_MESSAGE_TOO_LARGE (not retriable) when the broker
   * refuses the size (`message.max.bytes`, default ~1 MiB); KAFKA_UNAVAILABLE (retriable) on any other
   * failure or after `publishTimeoutMs` — the write may still land later (consumers are idempotent).
   */
  publish(topic: string, messages: readonly OutgoingMessage[]): Promise<void> {
    if (this.#closed)
      return Promise.reject(new AppError('KAFKA_UNAVAILABLE', 'publisher is closed', { retriable: false }));
    if (messages.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const w: PendingWrite = {
        topic,
        messages,
        deadline: performance.now() + this.#timeoutMs,
        settled: false,
        resolve,
        reject,
      };
      this.#queue.push(w);
      this.#unsettled.push(w);
      this.#timer ??= setTimeout(this.#expire, this.#timeoutMs);
      if (this.#linger !== null && this.#queue.length >= this.#expected) {
        // Everyone the last round trip carried is back: stop lingering.
        clearTimeout(this.#linger);
        this.#linger = null;
        setImmediate(this.#flushNow);
        return;
      }
      if (!this.#flushing) {
        this.#flushing = true;
        // Start on the next turn of the event loop, not in this microtask: every request whose
        // bytes arrived in the same I/O phase (concurrent HTTP requests) joins the first produce
        // request instead of the first one going alone. When the last round trip carried several
        // callers, wait (at most lingerMs) for them to come back; a lone caller never waits.
        this.#scheduleFlush();
      }
    });
  }

  /** Rejects `w` with the AppError for `err` (once; a settled write is left alone). */
  #fail(w: PendingWrite, err: unknown): void {
    if (w.settled) return;
    w.settled = true;
    const message = err instanceof Error ? err.message : String(err);
    if ((err as { type?: string }).type === 'MESSAGE_TOO_LARGE') {
      w.reject(
        new AppError('KAFKA_MESSAGE_TOO_LARGE', `Kafka refused the write to ${w.topic}: ${message}`, {
          retriable: false,
          cause: err,
          context: { topic: w.topic },
        }),
      );
      return;
    }
    this.#log.warn({ err, topic: w.topic, count: w.messages.length }, 'kafka publish failed');
    w.reject(
      new AppError('KAFKA_UNAVAILABLE', `Kafka did not acknowledge the write to ${w.topic}: ${message}`, {
        retriable: true,
        cause: err,
        context: { topic: w.topic },
      }),
    );
  }

  /** The deadline timer: fails every call past its deadline, then re-arms for the oldest one left. */
  readonly #expire = (): void => {
    this.#timer = null;
    const now = performance.now();
    const list = this.#unsettled;
    let i = this.#head;
    for (; i < list.length; i++) {
      const w = list[i]!;
      if (w.settled) continue;
      if (w.deadline > now) break;
      this.#fail(w, new Error(`no acknowledgement within ${this.#timeoutMs} ms`));
    }
    this.#head = i;
    this.#compact();
    const next = list[this.#head];
    if (next) this.#timer = setTimeout(this.#expire, Math.max(1, Math.ceil(next.deadline - now)));
  };

  /** Drops the settled prefix of `#unsettled` (amortized: only once it is large). */
  #compact(): void {
    const list = this.#unsettled;
    while (this.#head < list.length && list[this.#head]!.settled) this.#head++;
    if (this.#head === list.length) {
      this.#unsettled = [];
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head * 2 >= list.length) {
      this.#unsettled = list.slice(this.#head);
      this.#head = 0;
    }
  }

  readonly #flushNow = (): void => void this.#flush();

  /**
   * Sends everything queued in one produce request per size chunk, resolves those calls, and
   * schedules itself again (setImmediate) while calls are queued: between two produce requests
   * the event loop first reads every HTTP request that arrived meanwhile, so they share the next
   * one. `#flushing` is set by `publish` and cleared here once the queue is empty.
   */
  async #flush(): Promise<void> {
    const entries = this.#queue;
    this.#queue = [];
    try {
      // Closed meanwhile: fail what is queued rather than connect the producer again.
      if (this.#closed) throw new Error('publisher is closed');
      if (!this.#connected) {
        this.#connected = this.#producer.connect().catch((err: unknown) => {
          this.#connected = null;
          throw err;
        });
      }
      await this.#connected;
      // One produce request carries one record batch per partition, and the broker limits a
      // batch to message.max.bytes (~1 MiB by default): large writes go in sequential chunks.
      let byTopic = new Map<string, KafkajsMessage[]>();
      let size = 0;
      for (const e of entries) {
        // A call that timed out while queued was answered with an error: not sent (its client retries).
        if (e.settled) continue;
        for (const m of e.messages) {
          const s = messageSize(m);
          if (size > 0 && size + s > MAX_REQUEST_BYTES) {
            await this.#sendBatch(byTopic, size);
            byTopic = new Map();
            size = 0;
          }
          size += s;
          let arr = byTopic.get(e.topic);
          if (!arr) byTopic.set(e.topic, (arr = []));
          // kafkajs reads key, value and headers (and would read partition/timestamp, which an
          // OutgoingMessage does not have): the message goes as given, no copy. A string value's
          // UTF-8 bytes are written straight into the record.
          arr.push(m as KafkajsMessage);
        }
      }
      if (size > 0) await this.#sendBatch(byTopic, size);
      for (const e of entries) {
        if (e.settled) continue;
        e.settled = true;
        e.resolve();
      }
    } catch (err) {
      for (const e of entries) this.#fail(e, err);
    }
    this.#compact();
    if (this.#unsettled.length === 0 && this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    // Calls sent plus calls that queued up during the round trip: the concurrent callers.
    this.#expected = entries.length + this.#queue.length;
    if (this.#queue.length === 0) this.#flushing = false;
    else this.#scheduleFlush();
  }

  /** The next flush: on the next turn when `#expected` calls are queued (or lingering is off or the publisher closed), else after lingerMs at most. */
  #scheduleFlush(): void {
    if (this.#lingerMs === 0 || this.#queue.length >= this.#expected || this.#closed) setImmediate(this.#flushNow);
    else this.#linger = setTimeout(this.#lingerDone, this.#lingerMs);
  }

  readonly #lingerDone = (): void => {
    this.#linger = null;
    this.#flushNow();
  };

  /** One produce request (acks=-1) with the messages of `byTopic` (`bytes`: their approximate size). */
  async #sendBatch(byTopic: Map<string, KafkajsMessage[]>, bytes: number): Promise<void> {
    const topicMessages: { topic: string; messages: KafkajsMessage[] }[] = [];
    let messages = 0;
    for (const [topic, list] of byTopic) {
      topicMessages.push({ topic, messages: list });
      messages += list.length;
    }
    const report = this.#onProduceRequest;
    if (!report) {
      await this.#producer.sendBatch({ acks: -1, compression: CompressionTypes.None, topicMessages });
      return;
    }
    const started = performance.now();
    let ok = false;
    try {
      await this.#producer.sendBatch({ acks: -1, compression: CompressionTypes.None, topicMessages });
      ok = true;
    } finally {
      report({ messages, bytes, durationMs: performance.now() - started, ok });
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    if (this.#linger !== null) {
      // Calls that were waiting for company are sent now, before the producer goes.
      clearTimeout(this.#linger);
      this.#linger = null;
      await this.#flush();
    }
    this.#closed = true;
    if (this.#linger !== null) {
      // Queued while that flush ran: they fail as "publisher is closed", as queued calls do.
      clearTimeout(this.#linger);
      this.#linger = null;
      this.#flushNow();
    }
    await this.#producer.disconnect();
  }
}

class KafkaSubscription implements Subscription {
  readonly #consumer: Consumer;
  readonly #pipeline: PartitionPipelines | null;
  readonly #groupId: string;
  #closing: Promise<void> | null = null;
  constructor(consumer: Consumer, pipeline: PartitionPipelines | null, groupId: string) {
    this.#consumer = consumer;
    this.#pipeline = pipeline;
    this.#groupId = groupId;
  }
  async commit(offsets: readonly CommitOffset[]): Promise<void> {
    if (offsets.length === 0) return;
    if (this.#closing) throw new AppError('KAFKA_UNAVAILABLE', 'subscription is closed', { retriable: false });
    try {
      await this.#consumer.commitOffsets(
        offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: o.offset })),
      );
    } catch (err) {
      throw new AppError(
        'KAFKA_UNAVAILABLE',
        `could not commit offsets of consumer group ${this.#groupId}: ${(err as Error).message}`,
        { retriable: true, cause: err },
      );
    }
  }
  close(): Promise<void> {
    // kafkajs' disconnect stops fetching, waits for the running eachBatch calls to finish and
    // leaves the group. Offsets are committed by the batch wrapper itself, never on a timer.
    // Pipelined handlers run outside eachBatch: they are drained (and committed) first.
    this.#closing ??= (async () => {
      await this.#pipeline?.drain();
      await this.#consumer.disconnect();
    })();
    return this.#closing;
  }
}

/** One delivered batch of a pipelined partition. */
interface InFlightBatch {
  readonly first: string;
  /** Offset to commit once this batch and all before it are done (last + 1). */
  readonly next: string;
  done: boolean;
}

/** Per topic-partition state of a pipelined subscription. */
interface PartitionState {
  /** Batches not yet committed, in delivery order (orphaned ones are removed). */
  queue: InFlightBatch[];
  /** Handlers still running for this partition, orphaned ones included (the concurrency bound). */
  running: Set<Promise<void>>;
  /** Last offset delivered, to detect a rewind (seek, rebalance) that orphans the queue. */
  lastDelivered: bigint;
  /**
   * First offset of the earliest failed batch while its backoff runs (deliveries are skipped
   * until the seek back to it); null otherwise.
   */
  rewindTo: bigint | null;
  /** Bumped when a delivery shows kafkajs itself rewound (rebalance): a pending seek is then void. */
  epoch: number;
  /** Serializes this partition's offset commits. */
  commits: Promise<void>;
}

/**
 * `eachBatch` for `maxBatchesInFlight` > 1: hands each batch to the handler without waiting for it
 * (up to `depth` per partition), marks it consumed in kafkajs so the next fetch starts at once, and
 * commits offsets strictly in order as handlers resolve. A failed handler orphans its batch and
 * everything delivered after it (they may finish but are never committed), waits out the backoff
 * (kafkajs keeps heartbeating, since eachBatch returns), then seeks the partition back to the
 * failed batch's first offset, so it and everything after it are redelivered; other partitions are
 * unaffected. A rewind seen on delivery (rebalance, seek) orphans the queue the same way.
 */
class PartitionPipelines {
  readonly #groupId: string;
  readonly #consumer: Consumer;
  readonly #handler: BatchHandler;
  readonly #depth: number;
  readonly #retryBase: number;
  readonly #log: Logger;
  readonly #options: KafkaBusOptions;
  readonly #topics: readonly string[];
  readonly #parts = new Map<string, PartitionState>();
  readonly #failures = new Map<string, number>();
  #closing = false;

  constructor(
    groupId: string,
    consumer: Consumer,
    handler: BatchHandler,
    depth: number,
    retryBase: number,
    log: Logger,
    options: KafkaBusOptions,
    topics: readonly string[],
  ) {
    this.#topics = topics;
    this.#groupId = groupId;
    this.#consumer = consumer;
    this.#handler = handler;
    this.#depth = depth;
    this.#retryBase = retryBase;
    this.#log = log;
    this.#options = options;
  }

  #state(tp: string): PartitionState {
    let st = this.#parts.get(tp);
    if (!st) {
      st = { queue: [], running: new Set(), lastDelivered: -1n, rewindTo: null, epoch: 0, commits: Promise.resolve() };
      this.#parts.set(tp, st);
    }
    return st;
  }

  async deliver(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    if (this.#closing || batch.isEmpty() || !payload.isRunning() || payload.isStale()) return;
    const { topic, partition } = batch;
    const tp = `${topic}/${partition}`;
    const st = this.#state(tp);
    if (st.rewindTo !== null) return; // redelivered after the pending seek
    // Wait for a free slot, heartbeating so a long wait (Elasticsearch outage) keeps membership.
    while (st.running.size >= this.#depth) {
      // A plain timer, cleared once a slot frees: aborting a timers/promises sleep would build an
      // AbortError (a DOMException with a stack) on every wait.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([...st.running, new Promise<void>((r) => (timer = setTimeout(r, 1000)))]);
      clearTimeout(timer);
      if (this.#closing || !payload.isRunning() || st.rewindTo !== null) return;
      await payload.heartbeat();
    }
    if (payload.isStale()) return;
    const first = batch.firstOffset() ?? batch.messages[0]!.offset;
    const last = batch.lastOffset();
    if (BigInt(first) <= st.lastDelivered) {
      // kafkajs rewound (rebalance: it fetches again from the committed offset): the old queue
      // never commits; its batches are redelivered from here.
      st.queue = [];
      st.epoch++;
    }
    st.lastDelivered = BigInt(last);
    const messages = busMessagesOf(batch);
    this.#options.onConsumerLag?.(this.#groupId, topic, partition, Number(batch.offsetLagLow()));
    const ctx = batchContextOf(this.#consumer, payload);
    const entry: InFlightBatch = { first, next: (BigInt(last) + 1n).toString(), done: false };
    st.queue.push(entry);
    // The next fetch of this partition starts after `last`; nothing is committed here.
    payload.resolveOffset(last);
    const lagAfter = Number(batch.offsetLag());
    const run: Promise<void> = (async () => {
      try {
        await this.#handler(messages, ctx);
      } catch (err) {
        await this.#failed(tp, st, entry, err, payload);
        return;
      }
      this.#failures.delete(tp);
      entry.done = true;
      await this.#commitReady(topic, partition, st, payload, lagAfter);
    })().finally(() => st.running.delete(run));
    st.running.add(run);
  }

  /** Commits the offset after the longest prefix of finished batches, in order. */
  #commitReady(
    topic: string,
    partition: number,
    st: PartitionState,
    payload: EachBatchPayload,
    lag: number,
  ): Promise<void> {
    let upTo: InFlightBatch | null = null;
    while (st.queue.length > 0 && st.queue[0]!.done) upTo = st.queue.shift()!;
    if (!upTo) return st.commits;
    const offset = upTo.next;
    st.commits = st.commits
      .then(() => payload.commitOffsetsIfNecessary({ topics: [{ topic, partitions: [{ partition, offset }] }] }))
      .then(
        () => this.#options.onConsumerLag?.(this.#groupId, topic, partition, lag),
        (err: unknown) =>
          // Not fatal: the offset is committed again with the next batch, or redelivered (idempotent).
          this.#log.warn({ err, topic, partition, offset }, 'offset commit failed; will be retried by a later commit'),
      );
    return st.commits;
  }

  async #failed(
    tp: string,
    st: PartitionState,
    entry: InFlightBatch,
    err: unknown,
    payload: EachBatchPayload,
  ): Promise<void> {
    const idx = st.queue.indexOf(entry);
    if (idx < 0) return; // already orphaned by an earlier failure or a rewind: nothing to redo here
    st.queue.length = idx; // this batch and everything after it will be redelivered
    if (this.#closing) return;
    const first = BigInt(entry.first);
    if (st.rewindTo !== null) {
      // A later batch failed first and its backoff is running: it seeks to the earliest failure.
      if (first < st.rewindTo) st.rewindTo = first;
      return;
    }
    st.rewindTo = first;
    const epoch = st.epoch;
    const [topic, partition] = [payload.batch.topic, payload.batch.partition];
    // No fetching during the backoff: the seek below rewinds to this batch anyway.
    this.#consumer.pause([{ topic, partitions: [partition] }]);
    const n = (this.#failures.get(tp) ?? 0) + 1;
    this.#failures.set(tp, n);
    const delay = Math.min(30_000, this.#retryBase * 2 ** (n - 1));
    this.#log.error(
      { err, topic, partition, offset: entry.first, attempt: n, retryInMs: delay },
      'batch handler failed; will redeliver',
    );
    await sleep(delay);
    const to = st.rewindTo;
    st.rewindTo = null;
    if (this.#closing) return;
    // After a rebalance kafkajs already fetches from the committed offset (≤ the failed batch).
    if (st.epoch === epoch) {
      st.lastDelivered = to - 1n;
      this.#consumer.seek({ topic, partition, offset: to.toString() });
    }
    this.#consumer.resume([{ topic, partitions: [partition] }]);
  }

  /** Stops taking batches and waits until every running handler settled and its commit was sent. */
  async drain(): Promise<void> {
    this.#closing = true;
    this.#consumer.pause(this.#topics.map((topic) => ({ topic })));
    for (;;) {
      const running = [...this.#parts.values()].flatMap((st) => [...st.running]);
      if (running.length === 0) break;
      await Promise.allSettled(running);
    }
    await Promise.allSettled([...this.#parts.values()].map((st) => st.commits));
  }
}

/**
 * kafkajs socket factory (kafkajs `ISocketFactory`): the default one's TCP or TLS connection with
 * keep-alive (60 s), plus TCP_NODELAY as the Java client sets it. Without it, Nagle's algorithm
 * may hold a small request (fetch, heartbeat, offset commit) behind unacknowledged data on the
 * same connection until the broker's delayed ACK (~40 ms on Linux).
 */
export const noDelaySocketFactory: ISocketFactory = ({ host, port, ssl, onConnect }) => {
  const socket = ssl
    ? tlsConnect({ host, port, ...(isIP(host) === 0 ? { servername: host } : {}), ...ssl }, onConnect)
    : netConnect({ host, port }, onConnect);
  socket.setNoDelay(true);
  socket.setKeepAlive(true, 60_000);
  return socket;
};

/**
 * The Kafka implementation of the MessageBus port (kafkajs 2.2.4, Kafka ≥ 2.x; verified with 4.1.1).
 * - Producer: idempotent, acks=-1, one in-flight request (ordering per partition).
 * - Consumer: `eachBatch` with auto-resolve and auto-commit off. A batch's offsets are resolved and
 *   committed only after the handler resolved. A handler failure does not throw into kafkajs (which
 *   would spend a retry budget shared by all messages and eventually crash the consumer): the
 *   partition waits with backoff (heartbeating) and is sought back to the batch's first offset, so
 *   only that partition redelivers; the others are unaffected.
 * - Group-membership errors raised by heartbeats inside a handler are rethrown so kafkajs rejoins.
 */
export function createKafkaBus(options: KafkaBusOptions): MessageBus {
  const log = options.logger.child({ component: 'bus', bus: 'kafka' });
  const kafka = new Kafka({
    clientId: options.clientId,
    brokers: [...options.brokers],
    connectionTimeout: options.connectionTimeoutMs ?? 3000,
    requestTimeout: options.requestTimeoutMs ?? 10_000,
    logLevel: logLevel.WARN,
    logCreator: pinoLogCreator(log),
    retry: { initialRetryTime: 200, maxRetryTime: 5000, retries: 5 },
    socketFactory: noDelaySocketFactory,
    ...(options.ssl === undefined ? {} : { ssl: options.ssl }),
    ...(options.sasl === undefined ? {} : { sasl: options.sasl }),
  });
  const publishers: KafkaPublisher[] = [];
  const subscriptions: KafkaSubscription[] = [];
  const retryBase = options.handlerRetryBaseMs ?? 500;

  async function ensureTopics(topics: readonly string[], partitions: number): Promise<void> {
    const admin = kafka.admin();
    try {
      await admin.connect();
      const existing = new Set(await admin.listTopics());
      const missing = [...new Set(topics)].filter((t) => !existing.has(t));
      if (missing.length > 0) {
        await admin.createTopics({
          waitForLeaders: true,
          topics: missing.map((topic) => ({ topic, numPartitions: partitions })),
        });
        log.info({ topics: missing, partitions }, 'created kafka topics');
      }
    } catch (err) {
      // createTopics answers TOPIC_ALREADY_EXISTS when another instance won the race: fine.
      if ((err as { type?: string }).type === 'TOPIC_ALREADY_EXISTS') return;
      throw new AppError('KAFKA_UNAVAILABLE', `could not create Kafka topics: ${(err as Error).message}`, {
        retriable: true,
        cause: err,
      });
    } finally {
      await admin.disconnect();
    }
  }

  function publisher(): Publisher {
    const producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      // Java-client compatible murmur2 partitioning of keys (kafkajs 2.x default, named explicitly).
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: false,
      retry: { initialRetryTime: 100, maxRetryTime: 1000, retries: 3 },
    });
    const p = new KafkaPublisher(
      producer,
      options.publishTimeoutMs ?? 8000,
      log,
      options.onProduceRequest,
      options.lingerMs ?? 1,
    );
    publishers.push(p);
    return p;
  }

  async function subscribe(sub: SubscribeOptions, handler: BatchHandler): Promise<Subscription> {
    const consumer = kafka.consumer({
      groupId: sub.groupId,
      sessionTimeout: options.sessionTimeoutMs ?? 30_000,
      heartbeatInterval: options.heartbeatIntervalMs ?? 3000,
      maxBytesPerPartition: options.maxBytesPerPartition ?? 1024 * 1024,
      allowAutoTopicCreation: false,
      retry: { initialRetryTime: 300, maxRetryTime: 10_000, retries: 10 },
    });
    const failures = new Map<string, number>();
    const manual = sub.commits === 'manual';
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [...sub.topics], fromBeginning: sub.fromBeginning ?? true });
    } catch (err) {
      await consumer.disconnect().catch(() => undefined);
      throw new AppError(
        'KAFKA_UNAVAILABLE',
        `could not join consumer group ${sub.groupId}: ${(err as Error).message}`,
        {
          retriable: true,
          cause: err,
        },
      );
    }

    const eachBatch = async (payload: EachBatchPayload): Promise<void> => {
      const { batch } = payload;
      if (batch.isEmpty() || !payload.isRunning() || payload.isStale()) return;
      const { topic, partition } = batch;
      const tp = `${topic}/${partition}`;
      const messages = busMessagesOf(batch);
      // Lag including this batch, reported before the handler runs so an outage that holds the
      // batch shows up in the gauge (it is refreshed after the commit below).
      options.onConsumerLag?.(sub.groupId, topic, partition, Number(batch.offsetLagLow()));
      const ctx = batchContextOf(consumer, payload);
      try {
        await handler(messages, ctx);
      } catch (err) {
        if (isGroupMembershipError(err)) throw err;
        const n = (failures.get(tp) ?? 0) + 1;
        failures.set(tp, n);
        const delay = Math.min(30_000, retryBase * 2 ** (n - 1));
        log.error(
          { err, topic, partition, offset: batch.firstOffset(), attempt: n, retryInMs: delay },
          'batch handler failed; will redeliver',
        );
        const until = Date.now() + delay;
        while (Date.now() < until && payload.isRunning()) {
          await sleep(Math.min(1000, until - Date.now()));
          await payload.heartbeat();
        }
        consumer.seek({ topic, partition, offset: batch.firstOffset() ?? messages[0]!.offset });
        return;
      }
      failures.delete(tp);
      const last = batch.lastOffset();
      payload.resolveOffset(last);
      if (manual) {
        // The next fetch starts after `last`; the subscriber commits with Subscription.commit.
        options.onConsumerLag?.(sub.groupId, topic, partition, Number(batch.offsetLag()));
        return;
      }
      await payload.commitOffsetsIfNecessary({
        topics: [{ topic, partitions: [{ partition, offset: (BigInt(last) + 1n).toString() }] }],
      });
      options.onConsumerLag?.(sub.groupId, topic, partition, Number(batch.offsetLag()));
    };

    // Manual commits: one batch in flight per partition (the pipelines commit on their own).
    const depth = manual ? 1 : Math.max(1, Math.floor(options.maxBatchesInFlight ?? 1));
    const pipeline =
      depth > 1
        ? new PartitionPipelines(sub.groupId, consumer, handler, depth, retryBase, log, options, sub.topics)
        : null;
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 4,
      eachBatch: pipeline ? (payload) => pipeline.deliver(payload) : eachBatch,
    });
    const s = new KafkaSubscription(consumer, pipeline, sub.groupId);
    subscriptions.push(s);
    return s;
  }

  async function close(): Promise<void> {
    await Promise.allSettled(subscriptions.map((s) => s.close()));
    await Promise.allSettled(publishers.map((p) => p.close()));
  }

  return { ensureTopics, publisher, subscribe, close };
}
