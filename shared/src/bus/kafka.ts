import kafkajs from 'kafkajs';
import type { Consumer, EachBatchPayload, KafkaConfig, LogEntry, Producer, SASLOptions } from 'kafkajs';
import type { ConnectionOptions } from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type {
  BatchContext,
  BatchHandler,
  BusMessage,
  MessageBus,
  OutgoingMessage,
  Publisher,
  SubscribeOptions,
  Subscription,
} from './types.ts';

const { Kafka, logLevel, CompressionTypes, Partitioners } = kafkajs;

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
  /** Called after every batch with the partition's remaining lag (messages behind the high watermark). */
  readonly onConsumerLag?: (groupId: string, topic: string, partition: number, lag: number) => void;
}

/** Routes kafkajs' own log entries into a pino child logger (kafkajs docs/CustomLogger.md). */
function pinoLogCreator(logger: Logger): KafkaConfig['logCreator'] {
  const log = logger.child({ component: 'kafkajs' });
  return () =>
    ({ namespace, level, log: entry }: LogEntry) => {
      const { message, timestamp: _ts, logger: _l, ...extra } = entry;
      const fields = { namespace, kafka: extra };
      if (level === logLevel.ERROR) log.error(fields, message);
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
  let n =
    64 +
    (m.key ? Buffer.byteLength(m.key) : 0) +
    (typeof m.value === 'string' ? Buffer.byteLength(m.value) : m.value.length);
  if (m.headers) for (const [k, v] of Object.entries(m.headers)) n += Buffer.byteLength(k) + Buffer.byteLength(v) + 8;
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

class KafkaPublisher implements Publisher {
  readonly #producer: Producer;
  readonly #timeoutMs: number;
  readonly #log: Logger;
  #connected: Promise<void> | null = null;
  #closed = false;

  constructor(producer: Producer, timeoutMs: number, log: Logger) {
    this.#producer = producer;
    this.#timeoutMs = timeoutMs;
    this.#log = log;
    producer.on(producer.events.DISCONNECT, () => {
      this.#connected = null;
    });
  }

  #queue: { topic: string; messages: readonly OutgoingMessage[]; resolve: () => void; reject: (e: unknown) => void }[] =
    [];
  #flushing = false;

  /**
   * Queues the write; one flusher sends everything queued so far in one produce request per size
   * chunk. kafkajs' idempotent producer assigns sequence numbers per send, and concurrent sends
   * from many HTTP requests fail with OUT_OF_ORDER_SEQUENCE_NUMBER; coalescing keeps exactly one
   * request in flight and still batches concurrent callers.
   */
  #send(topic: string, messages: readonly OutgoingMessage[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ topic, messages, resolve, reject });
      if (!this.#flushing) void this.#flush();
    });
  }

  async #flush(): Promise<void> {
    this.#flushing = true;
    try {
      while (this.#queue.length > 0) {
        const entries = this.#queue;
        this.#queue = [];
        try {
          if (!this.#connected) {
            this.#connected = this.#producer.connect().catch((err: unknown) => {
              this.#connected = null;
              throw err;
            });
          }
          await this.#connected;
          // One produce request carries one record batch per partition, and the broker limits a
          // batch to message.max.bytes (~1 MiB by default): large writes go in sequential chunks.
          const all = entries.flatMap((e) => e.messages.map((m) => ({ topic: e.topic, m })));
          for (const chunk of chunkBySize(all, MAX_REQUEST_BYTES)) {
            const byTopic = new Map<string, OutgoingMessage[]>();
            for (const { topic, m } of chunk) {
              const arr = byTopic.get(topic) ?? [];
              arr.push(m);
              byTopic.set(topic, arr);
            }
            await this.#producer.sendBatch({
              acks: -1,
              compression: CompressionTypes.None,
              topicMessages: [...byTopic].map(([topic, msgs]) => ({
                topic,
                messages: msgs.map((m) => ({
                  key: m.key ?? null,
                  value: typeof m.value === 'string' ? Buffer.from(m.value, 'utf8') : m.value,
                  ...(m.headers ? { headers: { ...m.headers } } : {}),
                })),
              })),
            });
          }
          for (const e of entries) e.resolve();
        } catch (err) {
          for (const e of entries) e.reject(err);
        }
      }
    } finally {
      this.#flushing = false;
    }
  }

  /**
   * Writes `messages` to `topic` and resolves once every broker in the ISR acknowledged (acks=-1,
   * idempotent producer). @throws AppError KAFKA_MESSAGE_TOO_LARGE (not retriable) when the broker
   * refuses the size (`message.max.bytes`, default ~1 MiB); KAFKA_UNAVAILABLE (retriable) on any other
   * failure or after `publishTimeoutMs` — the write may still land later (consumers are idempotent).
   */
  async publish(topic: string, messages: readonly OutgoingMessage[]): Promise<void> {
    if (this.#closed) throw new AppError('KAFKA_UNAVAILABLE', 'publisher is closed', { retriable: false });
    if (messages.length === 0) return;
    const ac = new AbortController();
    try {
      await Promise.race([
        this.#send(topic, messages),
        sleep(this.#timeoutMs, undefined, { signal: ac.signal }).then(() => {
          throw new Error(`no acknowledgement within ${this.#timeoutMs} ms`);
        }),
      ]);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if ((err as { type?: string }).type === 'MESSAGE_TOO_LARGE') {
        throw new AppError('KAFKA_MESSAGE_TOO_LARGE', `Kafka refused the write to ${topic}: ${message}`, {
          retriable: false,
          cause: err,
          context: { topic },
        });
      }
      this.#log.warn({ err, topic, count: messages.length }, 'kafka publish failed');
      throw new AppError('KAFKA_UNAVAILABLE', `Kafka did not acknowledge the write to ${topic}: ${message}`, {
        retriable: true,
        cause: err,
        context: { topic },
      });
    } finally {
      ac.abort();
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#producer.disconnect();
  }
}

class KafkaSubscription implements Subscription {
  readonly #consumer: Consumer;
  #closing: Promise<void> | null = null;
  constructor(consumer: Consumer) {
    this.#consumer = consumer;
  }
  close(): Promise<void> {
    // kafkajs' disconnect stops fetching, waits for the running eachBatch calls to finish and
    // leaves the group. Offsets are committed by the batch wrapper itself, never on a timer.
    this.#closing ??= this.#consumer.disconnect();
    return this.#closing;
  }
}

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
    const p = new KafkaPublisher(producer, options.publishTimeoutMs ?? 8000, log);
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
      const messages: BusMessage[] = batch.messages.map((m) => ({
        topic,
        partition,
        offset: m.offset,
        key: m.key ? m.key.toString('utf8') : null,
        value: m.value ?? Buffer.alloc(0),
        headers: headersOf(m.headers as Record<string, unknown> | undefined),
        timestamp: Number(m.timestamp),
      }));
      // Lag including this batch, reported before the handler runs so an outage that holds the
      // batch shows up in the gauge (it is refreshed after the commit below).
      options.onConsumerLag?.(sub.groupId, topic, partition, Number(batch.offsetLagLow()));
      const ctx: BatchContext = {
        heartbeat: () => payload.heartbeat(),
        pause: () => consumer.pause([{ topic, partitions: [partition] }]),
        resume: () => consumer.resume([{ topic, partitions: [partition] }]),
      };
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
      await payload.commitOffsetsIfNecessary({
        topics: [{ topic, partitions: [{ partition, offset: (BigInt(last) + 1n).toString() }] }],
      });
      options.onConsumerLag?.(sub.groupId, topic, partition, Number(batch.offsetLag()));
    };

    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 4,
      eachBatch,
    });
    const s = new KafkaSubscription(consumer);
    subscriptions.push(s);
    return s;
  }

  async function close(): Promise<void> {
    await Promise.allSettled(subscriptions.map((s) => s.close()));
    await Promise.allSettled(publishers.map((p) => p.close()));
  }

  return { ensureTopics, publisher, subscribe, close };
}
