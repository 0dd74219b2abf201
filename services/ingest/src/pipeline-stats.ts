/**
 * Pipeline health sampler of the ingest service: every `intervalMs` it writes to the
 * `regwatch-pipeline` index (shared/src/es/names.ts PIPELINE_INDEX, mapping PIPELINE_MAPPINGS in
 * shared/src/es/mappings.ts) what the "Registry health and pipeline" dashboard reads:
 *
 * - one **lag document** per (consumer group, topic, partition): `consumer_lag` = log end offset
 *   (high watermark) − committed offset of the group, in messages, plus both offsets (Kafka's
 *   `kafka-consumer-groups.sh --describe` columns CURRENT-OFFSET / LOG-END-OFFSET / LAG);
 * - one **counters document** per sample: `messages_consumed`, `events_indexed`,
 *   `events_duplicates` since the previous sample, read from the service's prom-client counters
 *   (services/ingest/src/metrics.ts) as differences of their totals, so nothing is counted twice;
 * - one **dead-letter document** per DLQ reason whose count grew: `dlq.reason`, `dlq.count`.
 *
 * Documents are written with `index` and a deterministic `_id` (sha256 of node, group, kind, key
 * and sample time): a write that failed is kept and sent again with the same id at the next tick,
 * so a retry overwrites instead of duplicating. Write failures are logged as warnings and never
 * reach the indexer; pending documents are bounded (`maxPending`, oldest dropped with a warning).
 *
 * Pure parts (`computeLag`, `counterTotals`, `counterDelta`, `pipelineDocuments`) are exported
 * for unit tests; the sampler takes its I/O as ports (`LagReader`, `bulk`).
 */
import { createHash } from 'node:crypto';
import type { Logger } from '../../../shared/src/logger.ts';
import type { IngestMetrics } from './metrics.ts';

/** Committed offsets of a group, as kafkajs `admin.fetchOffsets` returns them (`-1` = none). */
export interface GroupOffsets {
  readonly topic: string;
  readonly partitions: readonly { readonly partition: number; readonly offset: string }[];
}

/** Offsets of one topic, as kafkajs `admin.fetchTopicOffsets` returns them. */
export interface TopicOffsets {
  readonly topic: string;
  readonly partitions: readonly { readonly partition: number; readonly high: string; readonly low: string }[];
}

/** Lag of one partition for one consumer group. Offsets are Kafka int64 offsets as numbers. */
export interface PartitionLag {
  readonly topic: string;
  readonly partition: number;
  /** Next offset the group will read (its committed offset); null when it never committed. */
  readonly committedOffset: number | null;
  /** Log end offset (high watermark): offset of the next message to be appended. */
  readonly logEndOffset: number;
  /** Messages behind the log end offset (≥ 0). */
  readonly lag: number;
}

/**
 * Lag per partition from the group's committed offsets and the topics' watermarks.
 * A partition the group never committed (`-1`, or absent) or whose committed offset fell below
 * the log start offset (retention deleted it) is counted from the log start offset — the
 * indexer's reset policy (`fromBeginning: true`). Offsets beyond the high watermark count as 0.
 * @returns one entry per partition of `topics`, sorted by topic then partition.
 */
export function computeLag(topics: readonly TopicOffsets[], committed: readonly GroupOffsets[]): PartitionLag[] {
  const byTp = new Map<string, string>();
  for (const t of committed) for (const p of t.partitions) byTp.set(`${t.topic}\u0000${p.partition}`, p.offset);
  const out: PartitionLag[] = [];
  for (const t of topics) {
    for (const p of t.partitions) {
      const high = BigInt(p.high);
      const low = BigInt(p.low);
      const raw = byTp.get(`${t.topic}\u0000${p.partition}`);
      const c = raw === undefined ? -1n : BigInt(raw);
      const from = c < 0n ? low : c < low ? low : c;
      const lag = high > from ? high - from : 0n;
      out.push({
        topic: t.topic,
        partition: p.partition,
        committedOffset: c < 0n ? null : Number(c),
        logEndOffset: Number(high),
        lag: Number(lag),
      });
    }
  }
  return out.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
}

/** Reads the lag of the sampled consumer group (port; kafkajs admin in consumer-lag.ts). */
export interface LagReader {
  /** @throws AppError KAFKA_UNAVAILABLE (retriable) when the offsets could not be fetched. */
  read(): Promise<PartitionLag[]>;
  close(): Promise<void>;
}

/** Running totals of the ingest counters (monotonic since process start). */
export interface CounterTotals {
  readonly consumed: number;
  readonly indexed: number;
  readonly duplicates: number;
  /** Dead-lettered messages by reason code. */
  readonly dlq: ReadonlyMap<string, number>;
}

type MetricValues = { values: readonly { value: number; labels: Record<string, string | number | undefined> }[] };
const sum = (m: MetricValues): number => m.values.reduce((a, v) => a + v.value, 0);

/**
 * Current totals of the prom-client counters `regwatch_ingest_consumed_total` (all topics),
 * `regwatch_ingest_indexed_total` (all targets), `regwatch_indexing_duplicates_total` and
 * `regwatch_ingest_dlq_total` (by `reason`).
 */
export async function counterTotals(metrics: IngestMetrics): Promise<CounterTotals> {
  const [consumed, indexed, duplicates, dlq] = await Promise.all([
    metrics.consumed.get(),
    metrics.indexed.get(),
    metrics.duplicates.get(),
    metrics.dlq.get(),
  ]);
  const byReason = new Map<string, number>();
  for (const v of dlq.values) {
    const reason = String(v.labels['reason'] ?? 'unknown');
    byReason.set(reason, (byReason.get(reason) ?? 0) + v.value);
  }
  return { consumed: sum(consumed), indexed: sum(indexed), duplicates: sum(duplicates), dlq: byReason };
}

/**
 * What the counters grew by between two totals. A total lower than before means the counter was
 * reset (registry re-created); the whole new total is then the growth, as Prometheus' `increase`.
 */
export function counterDelta(prev: CounterTotals, cur: CounterTotals): CounterTotals {
  const d = (a: number, b: number): number => (b >= a ? b - a : b);
  const dlq = new Map<string, number>();
  for (const [reason, n] of cur.dlq) {
    const grown = d(prev.dlq.get(reason) ?? 0, n);
    if (grown > 0) dlq.set(reason, grown);
  }
  return {
    consumed: d(prev.consumed, cur.consumed),
    indexed: d(prev.indexed, cur.indexed),
    duplicates: d(prev.duplicates, cur.duplicates),
    dlq,
  };
}

/** An `index` bulk action: target `_id` and the document source. */
export interface PipelineDoc {
  readonly id: string;
  readonly doc: Record<string, unknown>;
}

const docId = (...parts: readonly (string | number)[]): string =>
  createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 40);

/**
 * The documents of one sample (lag per partition, counters, DLQ per reason), shaped as
 * PIPELINE_MAPPINGS. `at` is the sample time (ms since epoch); `_id` = sha256(node, group, kind,
 * key, at), so re-sending the same sample overwrites it.
 */
export function pipelineDocuments(s: {
  readonly at: number;
  readonly serviceName: string;
  readonly nodeName: string;
  readonly groupId: string;
  readonly lags: readonly PartitionLag[] | null;
  readonly delta: CounterTotals;
}): PipelineDoc[] {
  const ts = new Date(s.at).toISOString();
  const service = { name: s.serviceName, node: { name: s.nodeName } };
  const base = (pipeline: Record<string, unknown>): Record<string, unknown> => ({
    '@timestamp': ts,
    service,
    oci_registry: { pipeline: { consumer_group: s.groupId, ...pipeline } },
  });
  const out: PipelineDoc[] = [];
  for (const l of s.lags ?? []) {
    out.push({
      id: docId(s.nodeName, s.groupId, 'lag', l.topic, l.partition, s.at),
      doc: base({
        topic: l.topic,
        partition: l.partition,
        consumer_lag: l.lag,
        ...(l.committedOffset === null ? {} : { committed_offset: l.committedOffset }),
        log_end_offset: l.logEndOffset,
      }),
    });
  }
  out.push({
    id: docId(s.nodeName, s.groupId, 'counters', '', s.at),
    doc: base({
      messages_consumed: s.delta.consumed,
      events_indexed: s.delta.indexed,
      events_duplicates: s.delta.duplicates,
    }),
  });
  for (const [reason, count] of [...s.delta.dlq].sort(([a], [b]) => (a < b ? -1 : 1))) {
    out.push({ id: docId(s.nodeName, s.groupId, 'dlq', reason, s.at), doc: base({ dlq: { reason, count } }) });
  }
  return out;
}

/** One item of a `_bulk` response (only what the sampler reads). */
export interface PipelineBulkItem {
  readonly status: number;
  readonly error?: { readonly type?: string; readonly reason?: string | null } | undefined;
}

export interface PipelineStatsOptions {
  /** Sampling period, ms (> 0; the caller does not create the sampler when disabled). */
  readonly intervalMs: number;
  /** Index or alias written to (PIPELINE_INDEX). */
  readonly index: string;
  /** Consumer group whose lag is sampled (`ingest`). */
  readonly groupId: string;
  /** ECS `service.name` (`ingest`). */
  readonly serviceName: string;
  /** ECS `service.node.name`: unique per process (part of every `_id`). */
  readonly nodeName: string;
  /** Most documents kept for retry after failed writes; older ones are dropped. Default 10 000. */
  readonly maxPending?: number;
}

/** What one sample did. */
export interface SampleReport {
  /** Documents acknowledged by Elasticsearch (201/200). */
  readonly written: number;
  /** Documents kept for the next tick (retriable failure or ES unreachable). */
  readonly pending: number;
  /** Documents dropped (rejected permanently, or over `maxPending`). */
  readonly dropped: number;
  /** Partitions whose lag was read (0 when Kafka could not be asked). */
  readonly partitions: number;
}

export interface PipelineStats {
  /** Takes one sample now and writes it (plus pending documents). Never throws. */
  sampleOnce(): Promise<SampleReport>;
  /** Starts the periodic sampling (first sample after one interval). */
  start(): void;
  /** Stops the timer and waits for an in-flight sample. Idempotent. Does not close the ports. */
  stop(): Promise<void>;
}

/**
 * Creates the sampler.
 * @param deps.bulk sends `_bulk` operations (`[{index:{_index,_id}}, doc, …]`) and returns the
 *   items in order; a thrown error means nothing was written (all documents stay pending).
 * @param deps.clock ms since epoch (sample time).
 */
export function createPipelineStats(deps: {
  readonly lag: LagReader;
  readonly metrics: IngestMetrics;
  readonly bulk: (operations: readonly object[]) => Promise<readonly PipelineBulkItem[]>;
  readonly clock: () => number;
  readonly logger: Logger;
  readonly options: PipelineStatsOptions;
}): PipelineStats {
  const o = deps.options;
  const log = deps.logger.child({ component: 'pipeline-stats' });
  const maxPending = o.maxPending ?? 10_000;
  let previous: CounterTotals = { consumed: 0, indexed: 0, duplicates: 0, dlq: new Map() };
  let pending: PipelineDoc[] = [];
  let timer: NodeJS.Timeout | null = null;
  let inFlight: Promise<SampleReport> | null = null;
  let stopped = false;

  async function sample(): Promise<SampleReport> {
    const at = deps.clock();
    let lags: PartitionLag[] | null = null;
    try {
      lags = await deps.lag.read();
    } catch (err) {
      log.warn({ err, code: (err as { code?: string }).code, group: o.groupId }, 'consumer lag not sampled');
    }
    const totals = await counterTotals(deps.metrics);
    const delta = counterDelta(previous, totals);
    previous = totals;
    const docs = pipelineDocuments({
      at,
      serviceName: o.serviceName,
      nodeName: o.nodeName,
      groupId: o.groupId,
      lags,
      delta,
    });
    let batch = [...pending, ...docs];
    let dropped = 0;
    if (batch.length > maxPending) {
      dropped = batch.length - maxPending;
      batch = batch.slice(dropped);
      log.warn({ dropped, maxPending }, 'pipeline stats backlog full; oldest samples dropped');
    }
    const operations: object[] = [];
    for (const d of batch) operations.push({ index: { _index: o.index, _id: d.id } }, d.doc);
    let items: readonly PipelineBulkItem[];
    try {
      items = await deps.bulk(operations);
    } catch (err) {
      pending = batch;
      log.warn(
        { err, code: (err as { code?: string }).code, pending: pending.length },
        'pipeline stats not written; will retry',
      );
      return { written: 0, pending: pending.length, dropped, partitions: lags?.length ?? 0 };
    }
    const keep: PipelineDoc[] = [];
    let written = 0;
    const rejected: string[] = [];
    batch.forEach((d, i) => {
      const it = items[i];
      if (it && (it.status === 200 || it.status === 201)) written++;
      else if (!it || it.status === 429 || it.status >= 500) keep.push(d);
      else rejected.push(`${it.status} ${it.error?.type ?? ''}: ${it.error?.reason ?? ''}`);
    });
    if (rejected.length > 0) {
      dropped += rejected.length;
      log.warn({ count: rejected.length, first: rejected[0] }, 'pipeline stats documents rejected by Elasticsearch');
    }
    if (keep.length > 0) log.warn({ pending: keep.length }, 'some pipeline stats documents not written; will retry');
    pending = keep;
    return { written, pending: pending.length, dropped, partitions: lags?.length ?? 0 };
  }

  function sampleOnce(): Promise<SampleReport> {
    // One sample at a time: a tick that finds one running shares its result.
    if (inFlight) return inFlight;
    const p = sample()
      .catch((err: unknown): SampleReport => {
        log.warn({ err }, 'pipeline stats sample failed');
        return { written: 0, pending: pending.length, dropped: 0, partitions: 0 };
      })
      .finally(() => {
        inFlight = null;
      });
    inFlight = p;
    return p;
  }

  const schedule = (): void => {
    if (stopped) return;
    timer = setTimeout(() => {
      void sampleOnce().then(schedule);
    }, o.intervalMs);
    timer.unref();
  };

  return {
    sampleOnce,
    start() {
      if (timer || stopped) return;
      schedule();
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = null;
      if (inFlight) await inFlight;
    },
  };
}
