/**
 * The message bus port: the only way services talk to each other. Two implementations:
 * Kafka (full mode, shared/src/bus/kafka.ts) and an in-process bus with the same topic
 * semantics for the embedded default (keys, ordering per key within a partition,
 * at-least-once delivery, offsets committed only after the handler resolved).
 */

/** A message as delivered to a consumer. */
export interface BusMessage {
  readonly topic: string;
  readonly partition: number;
  /** Offset within the partition, as a decimal string (Kafka offsets are int64). */
  readonly offset: string;
  readonly key: string | null;
  readonly value: Buffer;
  readonly headers: Readonly<Record<string, string>>;
  /** Broker/append time, ms since epoch. */
  readonly timestamp: number;
}

/** A message to publish. Messages with the same key go to the same partition, in order. */
export interface OutgoingMessage {
  readonly key?: string | null;
  readonly value: string | Buffer;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface Publisher {
  /**
   * Resolves only after the bus acknowledged every message (Kafka: acks=-1).
   * @throws AppError KAFKA_UNAVAILABLE (retriable) when the write was not acknowledged.
   */
  publish(topic: string, messages: readonly OutgoingMessage[]): Promise<void>;
  close(): Promise<void>;
}

export interface BatchContext {
  /** Keep group membership alive during long work (Kafka heartbeat). */
  heartbeat(): Promise<void>;
  /** Pause fetching from this topic-partition until `resume` (e.g. while Elasticsearch is down). */
  pause(): void;
  resume(): void;
}

/**
 * Handles one batch of one topic-partition. Resolve → every message of the batch is committed
 * (in `manual` commits mode: the next batch follows it; the subscriber commits later). Throw → nothing from this batch is committed and it is delivered again (at-least-once);
 * other partitions are unaffected. Handlers must therefore be idempotent.
 */
export type BatchHandler = (batch: readonly BusMessage[], ctx: BatchContext) => Promise<void>;

export interface SubscribeOptions {
  /** Consumer group id (`ingest`, `detector`, `alerts`). */
  readonly groupId: string;
  readonly topics: readonly string[];
  /** Start from the earliest offset when the group has no committed offset. Default true. */
  readonly fromBeginning?: boolean;
  /**
   * When offsets are committed. `after-batch` (default): every batch whose handler resolved.
   * `manual`: never by the bus — a resolved batch only moves the fetch position on, and the
   * subscriber commits with {@link Subscription.commit} once its own state covers the batches (a
   * checkpoint). After a restart or a rebalance, consumption starts again from the last commit.
   * Kafka: one batch in flight per partition in this mode.
   */
  readonly commits?: 'after-batch' | 'manual';
}

/** An offset to commit: `offset` is the next message to consume (last processed + 1), decimal string. */
export interface CommitOffset {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
}

export interface Subscription {
  /**
   * Stops fetching, waits for the in-flight batch, commits it (`after-batch` mode only), leaves
   * the group. Idempotent.
   */
  close(): Promise<void>;
  /**
   * Commits these offsets for the subscription's consumer group (`manual` mode; allowed in both).
   * @throws AppError KAFKA_UNAVAILABLE (retriable) when the commit was not acknowledged (broker
   * down, a rebalance in progress): nothing is lost, consumption restarts from the older commit.
   */
  commit(offsets: readonly CommitOffset[]): Promise<void>;
}

export interface MessageBus {
  /** Creates missing topics with `partitions` partitions; existing topics are left alone. */
  ensureTopics(topics: readonly string[], partitions: number): Promise<void>;
  publisher(): Publisher;
  subscribe(options: SubscribeOptions, handler: BatchHandler): Promise<Subscription>;
  close(): Promise<void>;
}
