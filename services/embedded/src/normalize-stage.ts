import type {
  BatchHandler,
  BusMessage,
  MessageBus,
  OutgoingMessage,
  Publisher,
  Subscription,
} from '../../../shared/src/bus/types.ts';
import type { Logger } from '../../../shared/src/logger.ts';
import { identityOf, type RegistryEvent } from '../../../shared/src/model/registry-event.ts';
import type { NormalizeContext, NormalizeResult } from '../../../shared/src/normalize/types.ts';
import { rejectedPayload, toDlqMessage, type DlqEntry } from '../../ingest/src/dlq.ts';
import { RequestActorCache } from '../../ingest/src/documents.ts';
import type { IngestNormalizer } from '../../ingest/src/indexer.ts';
import type { IngestMetrics } from '../../ingest/src/metrics.ts';
import { createIngestNormalizer } from '../../ingest/src/normalizer.ts';
import { RAW_HEADERS } from '../../ingest/src/receiver.ts';

/** Topics the embedded normalize stage reads and writes (same names as the full mode). */
export interface NormalizeStageTopics {
  readonly notifications: string;
  readonly logs: string;
  readonly harborWebhooks: string;
  readonly events: string;
  readonly dlq: string;
}

export interface NormalizeStageDeps {
  readonly bus: MessageBus;
  readonly publisher: Publisher;
  readonly topics: NormalizeStageTopics;
  /** Consumer group. Default `ingest` (the same group name the full-mode indexer uses). */
  readonly groupId?: string;
  readonly logger: Logger;
  /** Request ids remembered to put the user of a notification onto log lines of the same request. Default 50 000. */
  readonly correlationSize?: number;
  /** Defaults to the ingest service's adapter over shared/src/normalize. */
  readonly normalizer?: IngestNormalizer;
  readonly now?: () => Date;
  /**
   * Prometheus counters to keep (the full mode's names): raw messages consumed by topic, inputs
   * dead-lettered by reason, inputs ignored on purpose — counted once a batch is published.
   */
  readonly metrics?: Pick<IngestMetrics, 'consumed' | 'dlq' | 'ignored'>;
}

export interface NormalizeStageTotals {
  consumed: number;
  events: number;
  dlq: number;
  ignored: number;
}

export interface NormalizeStage {
  readonly handleBatch: BatchHandler;
  /** Joins the consumer group on the three raw topics. */
  start(): Promise<void>;
  /** Leaves the group after the in-flight batch (its offsets are committed when it resolved). */
  stop(): Promise<void>;
  readonly totals: NormalizeStageTotals;
}

/**
 * The embedded mode's normalize stage: the full mode's indexer without Elasticsearch. Raw topics
 * (`registry.notifications`, `registry.logs`, `harbor.webhooks`) → the shared normalizer (the same
 * adapter the indexer uses: envelopes one by one, the log lines of a batch through one stateful
 * normalizer) → notification actors fill in the user of log lines with the same `http.request.id`
 * (same cache as the indexer) → `regwatch.events` keyed by `identityOf(event)`; rejected inputs go
 * to `regwatch.dlq` with the indexer's DLQ headers (reason, detail, source topic/partition/offset).
 * The batch resolves only after both publishes were acknowledged, so the bus commits it only then
 * (at-least-once; the detector drops repeated `event.id`s). Never throws on bad input.
 * No copy marking (`oci_registry.duplicate`, services/ingest/src/request-copies.ts): that is for
 * stored documents, and this mode stores none; `regwatch.events` carries the events unmarked in
 * both modes, and the detector joins a request's copies itself.
 */
export function createNormalizeStage(deps: NormalizeStageDeps): NormalizeStage {
  const { topics } = deps;
  const log = deps.logger.child({ component: 'normalize' });
  const normalizer = deps.normalizer ?? createIngestNormalizer();
  const actors = new RequestActorCache(deps.correlationSize ?? 50_000);
  const now = deps.now ?? (() => new Date());
  const totals: NormalizeStageTotals = { consumed: 0, events: 0, dlq: 0, ignored: 0 };
  let subscription: Subscription | null = null;

  const ctxOf = (msg: BusMessage): NormalizeContext => ({
    origin: msg.topic,
    offset: Number(msg.offset),
    ...(msg.headers[RAW_HEADERS.contentType] ? { contentType: msg.headers[RAW_HEADERS.contentType] } : {}),
    ...(msg.headers[RAW_HEADERS.receivedAt] ? { receivedAt: msg.headers[RAW_HEADERS.receivedAt] } : {}),
    ...(msg.headers[RAW_HEADERS.lineRef] ? { lineRef: msg.headers[RAW_HEADERS.lineRef] } : {}),
  });

  const handleBatch: BatchHandler = async (batch) => {
    const events: { event: RegistryEvent; source: BusMessage }[] = [];
    const rejects: DlqEntry[] = [];
    let ignored = 0;
    const take = (r: NormalizeResult, src: BusMessage): void => {
      if (r.kind === 'ignored') ignored++;
      else if (r.kind === 'rejected') {
        rejects.push({ reason: r.reason, detail: r.detail, ...rejectedPayload(r.original, src.value), source: src });
      } else events.push({ event: r.event, source: src });
    };
    const lines: BusMessage[] = [];
    for (const msg of batch) {
      if (msg.topic === topics.logs) {
        lines.push(msg);
        continue;
      }
      try {
        if (msg.topic === topics.notifications || msg.topic === topics.harborWebhooks) {
          const kind = msg.topic === topics.notifications ? 'notification' : 'harbor';
          for (const r of normalizer.payload(kind, msg.value, ctxOf(msg))) take(r, msg);
        } else {
          rejects.push({
            reason: 'unknown_topic',
            detail: `no handler for topic ${msg.topic}`,
            payload: 'raw',
            value: msg.value,
            source: msg,
          });
        }
      } catch (err) {
        rejects.push({
          reason: 'normalizer_error',
          detail: (err as Error).message ?? String(err),
          payload: 'raw',
          value: msg.value,
          source: msg,
        });
      }
    }
    if (lines.length > 0) {
      try {
        for (const { index, result } of normalizer.logLines(lines.map((m) => ({ bytes: m.value, ctx: ctxOf(m) })))) {
          take(result, lines[Math.min(index, lines.length - 1)]!);
        }
      } catch (err) {
        // A normalizer bug: keep every line for replay instead of looping on the batch.
        for (const m of lines)
          rejects.push({
            reason: 'normalizer_error',
            detail: (err as Error).message,
            payload: 'raw',
            value: m.value,
            source: m,
          });
      }
    }
    // Notifications carry the actor; log lines of the same request get it (as the indexer does).
    for (const e of events) if (e.source.topic === topics.notifications) actors.remember(e.event);
    const out: OutgoingMessage[] = events.map(({ event, source }) => {
      const enriched = source.topic === topics.logs ? actors.enrich(event) : event;
      return { key: identityOf(enriched), value: JSON.stringify(enriched) };
    });
    if (rejects.length > 0) {
      const at = now();
      await deps.publisher.publish(
        topics.dlq,
        rejects.map((r) => toDlqMessage(r, at)),
      );
      log.warn({ count: rejects.length, reasons: [...new Set(rejects.map((r) => r.reason))] }, 'dead-lettered inputs');
    }
    if (out.length > 0) await deps.publisher.publish(topics.events, out);
    totals.consumed += batch.length;
    totals.events += out.length;
    totals.dlq += rejects.length;
    totals.ignored += ignored;
    const m = deps.metrics;
    if (m) {
      const byTopic = new Map<string, number>();
      for (const msg of batch) byTopic.set(msg.topic, (byTopic.get(msg.topic) ?? 0) + 1);
      for (const [topic, n] of byTopic) m.consumed.inc({ topic }, n);
      for (const r of rejects) m.dlq.inc({ reason: r.reason });
      if (ignored > 0) m.ignored.inc(ignored);
    }
  };

  return {
    handleBatch,
    totals,
    async start() {
      const group = deps.groupId ?? 'ingest';
      const raw = [topics.notifications, topics.logs, topics.harborWebhooks];
      subscription = await deps.bus.subscribe({ groupId: group, topics: raw, fromBeginning: true }, handleBatch);
      log.info({ group, topics: raw }, 'normalize stage started');
    },
    async stop() {
      await subscription?.close();
      subscription = null;
    },
  };
}
