import { setTimeout as sleepTimer } from 'node:timers/promises';
import type {
  BatchContext,
  BatchHandler,
  BusMessage,
  MessageBus,
  OutgoingMessage,
  Publisher,
  Subscription,
} from '../../../shared/src/bus/types.ts';
import { AppError } from '../../../shared/src/errors.ts';
import { toEsAppError } from '../../../shared/src/es/client.ts';
import { eventsDataStream } from '../../../shared/src/es/names.ts';
import type { Logger } from '../../../shared/src/logger.ts';
import { identityOf, type RegistryEvent } from '../../../shared/src/model/registry-event.ts';
import type { NormalizeContext, NormalizeResult } from '../../../shared/src/normalize/types.ts';
import { backoffMs, triageBulkResponse, type BulkAction, type BulkResponseItem, type ItemVerdict } from './bulk.ts';
import type { IngestTopics } from './config.ts';
import { DLQ_REASONS, rejectedPayload, toDlqMessage, type DlqEntry } from './dlq.ts';
import { RequestActorCache, findingDocument, storageDocument } from './documents.ts';
import type { IngestMetrics } from './metrics.ts';
import { RAW_HEADERS, type ReadyState } from './receiver.ts';
import { RequestCopies } from './request-copies.ts';

/** The normalizer as the indexer uses it (adapter over shared/src/normalize, see normalizer.ts). */
export interface IngestNormalizer {
  /** One raw notification envelope or Harbor webhook → results (one per event). Never throws. */
  payload(kind: 'notification' | 'harbor', bytes: Uint8Array, ctx: NormalizeContext): NormalizeResult[];
  /**
   * The log lines of one batch, in order → results, each tagged with the index of the line it
   * came from (multi-line state such as split 16 KiB lines is flushed at the end of the call).
   */
  logLines(
    lines: readonly { bytes: Uint8Array; ctx: NormalizeContext }[],
  ): { index: number; result: NormalizeResult }[];
}

/**
 * Sends one `_bulk` request (NDJSON action/document pairs) and returns the response items. A
 * document may come as an object or already serialized as a JSON string (the indexer serializes
 * each event once, for `_bulk` and `regwatch.events`); the Elasticsearch client's `bulk` sends a
 * string line as is. Throws the client's error when the request itself failed (connection, 401,
 * 429/5xx at HTTP level).
 */
export type BulkFn = (operations: readonly (object | string)[]) => Promise<{ items: BulkResponseItem[] }>;

export interface IndexerDeps {
  readonly bus: MessageBus;
  readonly publisher: Publisher;
  readonly bulk: BulkFn;
  readonly normalizer: IngestNormalizer;
  readonly topics: IngestTopics;
  readonly indices: { readonly namespace: string; readonly findings: string; readonly storage: string };
  readonly groupId: string;
  readonly options: {
    /** Retries of one 429/5xx bulk item before it is dead-lettered (C19). */
    readonly itemRetries: number;
    readonly retryBaseMs: number;
    readonly retryMaxMs: number;
    readonly correlationSize: number;
  };
  readonly logger: Logger;
  readonly metrics: IngestMetrics;
  readonly now?: () => Date;
  readonly random?: () => number;
}

/** A document bound for Elasticsearch, tied to the message it came from. */
interface PendingDoc {
  readonly action: BulkAction;
  readonly target: string;
  readonly id: string;
  /** The document, or (events, once prepared) its JSON serialization. */
  doc: object | string;
  readonly source: BusMessage;
  /**
   * The normalized event (absent for findings/storage) until it is serialized: then dropped, so
   * the object graph dies young instead of surviving the Elasticsearch round trip.
   */
  event?: RegistryEvent | undefined;
  /** The `regwatch.events` key (identityOf), set when the event is serialized. */
  key?: string;
  /**
   * The `regwatch.events` value when it differs from the stored document: the event before the
   * copy marking (`oci_registry.duplicate`, cleared `image_pull`). Unset = `doc`.
   */
  published?: string;
  attempts: number;
}

export interface BatchSummary {
  consumed: number;
  created: number;
  duplicates: number;
  dlq: number;
  ignored: number;
  published: number;
}

export interface Indexer {
  /** The batch handler (exported for tests; `start` subscribes it). */
  readonly handleBatch: BatchHandler;
  /** Joins the consumer group on every topic the indexer reads. */
  start(): Promise<void>;
  /** Leaves the group after the in-flight batch; a batch stuck on an ES outage is abandoned uncommitted. */
  stop(): Promise<void>;
  ready(): ReadyState;
  /** Totals since start (tests and benchmarks). */
  readonly totals: BatchSummary;
}

/** Topics the indexer consumes. */
export function indexerTopics(t: IngestTopics): string[] {
  return [t.notifications, t.logs, t.harborWebhooks, t.storage, t.findings];
}

/**
 * The indexer (consumer group `ingest`): raw topics → normalize → `_bulk` create into data streams
 * `logs-oci_registry.<dataset>-<namespace>` with `_id` = `event.id` → publish events to
 * `regwatch.events` (key = identity) and rejects to `regwatch.dlq` → resolve; the bus commits the
 * batch only then.
 *
 * Failure handling: a request-level ES failure (unreachable, 401/403, HTTP 429/5xx) pauses the
 * partition and retries the same documents with capped backoff, heartbeating, until ES answers —
 * nothing is dropped or dead-lettered for connectivity (C21). Item-level results are triaged one by
 * one (see bulk.ts): 409 = duplicate = success (C20), 429/5xx items retried alone up to
 * `itemRetries` times then dead-lettered (C19), other 4xx dead-lettered at once (C18). Each message
 * is handled on its own, so a poison message costs one DLQ write and never loops (C23).
 * Events are published for both created and duplicate documents (a crash between the ES ack and the
 * publish must not lose them for the detector); the detector dedupes by `event.id`.
 * Copies of one registry request (its notification, app-log line and access line) are joined in
 * process (RequestCopies, bounded by `correlationSize`): a later copy is stored with
 * `oci_registry.duplicate: true` (shared CASES C12) and published to `regwatch.events` unmarked.
 */
export function createIndexer(deps: IndexerDeps): Indexer {
  const { metrics, topics, options } = deps;
  const log = deps.logger.child({ component: 'indexer' });
  const now = deps.now ?? (() => new Date());
  const random = deps.random ?? Math.random;
  const actors = new RequestActorCache(options.correlationSize);
  const copies = new RequestCopies(options.correlationSize);
  /** Data stream per `event.dataset` (a handful of values; computed and validated once each). */
  const dataStreams = new Map<string, string>();
  const dataStreamOf = (dataset: string): string => {
    let target = dataStreams.get(dataset);
    if (target === undefined) {
      target = eventsDataStream(dataset, deps.indices.namespace);
      if (dataStreams.size < 1000) dataStreams.set(dataset, target);
    }
    return target;
  };
  const totals: BatchSummary = { consumed: 0, created: 0, duplicates: 0, dlq: 0, ignored: 0, published: 0 };
  let subscription: Subscription | null = null;
  let stopping = false;
  let esUp = true;
  let esDownSince = 0;
  let esLastError = '';
  let joined = false;

  async function wait(ms: number, ctx: BatchContext): Promise<void> {
    const until = Date.now() + ms;
    while (Date.now() < until) {
      if (stopping)
        throw new AppError('ES_UNAVAILABLE', 'indexer stopping; batch left uncommitted', { retriable: true });
      await sleepTimer(Math.min(500, until - Date.now()));
      await ctx.heartbeat();
    }
  }

  /** Turns one raw message into documents and rejects. Never throws. */
  function convert(msg: BusMessage, docs: PendingDoc[], rejects: DlqEntry[]): number {
    const ctx: NormalizeContext = {
      origin: msg.topic,
      offset: Number(msg.offset),
      ...(msg.headers[RAW_HEADERS.contentType] ? { contentType: msg.headers[RAW_HEADERS.contentType] } : {}),
      ...(msg.headers[RAW_HEADERS.receivedAt] ? { receivedAt: msg.headers[RAW_HEADERS.receivedAt] } : {}),
    };
    const reject = (
      reason: string,
      detail: string,
      value: Buffer | string = msg.value,
      payload: DlqEntry['payload'] = 'raw',
    ): void => {
      rejects.push({ reason, detail, payload, value, source: msg });
    };
    let ignored = 0;
    try {
      if (msg.topic === topics.notifications || msg.topic === topics.harborWebhooks) {
        const kind = msg.topic === topics.notifications ? 'notification' : 'harbor';
        const results = deps.normalizer.payload(kind, msg.value, ctx);
        for (const r of results) ignored += addResult(r, msg, docs, reject);
      } else if (msg.topic === topics.storage) {
        const r = storageDocument(msg.value);
        if (r.ok)
          docs.push({
            action: 'index',
            target: deps.indices.storage,
            id: r.value.id,
            doc: r.value.doc,
            source: msg,
            attempts: 0,
          });
        else reject('invalid_storage_sample', r.detail);
      } else if (msg.topic === topics.findings) {
        const r = findingDocument(msg.value);
        if (r.ok)
          docs.push({
            action: 'index',
            target: deps.indices.findings,
            id: r.value.id,
            doc: r.value.doc,
            source: msg,
            attempts: 0,
          });
        else reject('invalid_finding', r.detail);
      } else {
        reject('unknown_topic', `no handler for topic ${msg.topic}`);
      }
    } catch (err) {
      reject('normalizer_error', (err as Error).message ?? String(err));
    }
    return ignored;
  }

  function addResult(
    r: NormalizeResult,
    msg: BusMessage,
    docs: PendingDoc[],
    reject: (reason: string, detail: string, value?: Buffer | string, payload?: DlqEntry['payload']) => void,
  ): number {
    if (r.kind === 'ignored') return 1;
    if (r.kind === 'rejected') {
      const p = rejectedPayload(r.original, msg.value);
      reject(r.reason, r.detail, p.value, p.payload);
      return 0;
    }
    let target: string;
    try {
      target = dataStreamOf(r.event.event.dataset);
    } catch (err) {
      reject('unsupported_event', (err as Error).message, JSON.stringify(r.event), 'event');
      return 0;
    }
    docs.push({
      action: 'create',
      target,
      id: r.event.event.id,
      doc: r.event,
      source: msg,
      event: r.event,
      attempts: 0,
    });
    return 0;
  }

  /**
   * Writes `docs` until every one is created, a duplicate, or permanently failed. Returns the
   * verdict per document (same order).
   */
  async function writeAll(docs: PendingDoc[], ctx: BatchContext): Promise<ItemVerdict[]> {
    const verdicts: (ItemVerdict | undefined)[] = new Array(docs.length);
    let pending = docs.map((_, i) => i);
    let outage = 0;
    let paused = false;
    while (pending.length > 0) {
      const ops: (object | string)[] = [];
      for (const i of pending) {
        const d = docs[i]!;
        ops.push({ [d.action]: { _index: d.target, _id: d.id } }, d.doc);
      }
      const started = process.hrtime.bigint();
      let items: BulkResponseItem[];
      try {
        items = (await deps.bulk(ops)).items;
      } catch (err) {
        const e = toEsAppError(err, 'bulk indexing');
        if (!paused) {
          ctx.pause();
          paused = true;
        }
        if (esUp) {
          esUp = false;
          esDownSince = Date.now();
          metrics.esUp.set(0);
          log.error(
            { code: e.code, err: { message: e.message } },
            'Elasticsearch unreachable; partition paused, retrying',
          );
        }
        esLastError = e.message;
        const delay = backoffMs(outage++, options.retryBaseMs, options.retryMaxMs, random);
        await wait(delay, ctx);
        continue;
      }
      metrics.bulkDuration.observe(Number(process.hrtime.bigint() - started) / 1e9);
      if (!esUp) {
        log.info({ downForMs: Date.now() - esDownSince }, 'Elasticsearch reachable again; resuming');
        esUp = true;
        metrics.esUp.set(1);
      }
      if (paused) {
        ctx.resume();
        paused = false;
      }
      outage = 0;
      const triaged = triageBulkResponse(
        items,
        pending.map((i) => docs[i]!.action),
      );
      const retry: number[] = [];
      let maxAttempts = 0;
      triaged.forEach((v, k) => {
        const i = pending[k]!;
        const d = docs[i]!;
        if (v.kind !== 'retry') {
          verdicts[i] = v;
          return;
        }
        d.attempts++;
        metrics.itemRetries.inc({ status: String(v.status) });
        if (d.attempts > options.itemRetries) {
          verdicts[i] = {
            kind: 'failed',
            status: v.status,
            type: v.type,
            reason: `still ${v.status} ${v.type} after ${options.itemRetries} retries`,
          };
        } else {
          retry.push(i);
          maxAttempts = Math.max(maxAttempts, d.attempts);
        }
      });
      pending = retry;
      if (pending.length > 0)
        await wait(backoffMs(maxAttempts - 1, options.retryBaseMs, options.retryMaxMs, random), ctx);
    }
    return verdicts.map((v) => v ?? { kind: 'failed', status: 0, type: 'internal', reason: 'no verdict' });
  }

  /**
   * Per source topic-partition, the tail of its `regwatch.events`/DLQ writes: with several batches
   * of one partition in flight (maxBatchesInFlight > 1), a batch publishes only after the batch
   * delivered before it did, so events keep their partition order on `regwatch.events`.
   */
  const publishTails = new Map<string, Promise<void>>();

  const handleBatch: BatchHandler = async (batch, ctx) => {
    const docs: PendingDoc[] = [];
    const rejects: DlqEntry[] = [];
    let ignored = 0;
    const logMsgs: { msg: BusMessage; ctx: NormalizeContext }[] = [];
    // A batch is one topic-partition: one counter update per batch, not per message.
    if (batch.length > 0) metrics.consumed.inc({ topic: batch[0]!.topic }, batch.length);
    for (const msg of batch) {
      if (msg.topic === topics.logs) {
        logMsgs.push({
          msg,
          ctx: {
            origin: msg.topic,
            offset: Number(msg.offset),
            ...(msg.headers[RAW_HEADERS.receivedAt] ? { receivedAt: msg.headers[RAW_HEADERS.receivedAt] } : {}),
            ...(msg.headers[RAW_HEADERS.lineRef] ? { lineRef: msg.headers[RAW_HEADERS.lineRef] } : {}),
          },
        });
      } else {
        ignored += convert(msg, docs, rejects);
      }
    }
    if (logMsgs.length > 0) {
      let results: { index: number; result: NormalizeResult }[];
      try {
        results = deps.normalizer.logLines(logMsgs.map(({ msg: m, ctx: c }) => ({ bytes: m.value, ctx: c })));
      } catch (err) {
        // A normalizer bug: keep every line for replay instead of looping on the batch.
        results = [];
        for (const m of logMsgs)
          rejects.push({
            reason: 'normalizer_error',
            detail: (err as Error).message,
            payload: 'raw',
            value: m.msg.value,
            source: m.msg,
          });
      }
      for (const { index, result } of results) {
        const src = logMsgs[Math.min(index, logMsgs.length - 1)]!.msg;
        ignored += addResult(result, src, docs, (reason, detail, value = src.value, payload = 'raw') =>
          rejects.push({ reason, detail, payload, value, source: src }),
        );
      }
    }

    // Correlate notification ↔ log lines by http.request.id (notifications first, so lines of the
    // same batch benefit too).
    for (const d of docs) if (d.event && d.source.topic === topics.notifications) actors.remember(d.event);
    for (let i = 0; i < docs.length; i++) {
      const d = docs[i]!;
      if (d.event && d.source.topic === topics.logs) {
        const enriched = actors.enrich(d.event);
        if (enriched !== d.event) d.event = enriched;
      }
    }
    // Serialize each event once: the same JSON line goes to `_bulk` and to `regwatch.events`
    // (keyed by identity); the event object itself is not needed any more. A later copy of a
    // request already stored (notification, app-log and access line of one request) is stored
    // marked `oci_registry.duplicate` (request-copies.ts) so documents count it once; the detector
    // gets it unmarked, as before: it joins the copies itself (by request id, in its own arrival
    // order, which differs from ours), so its input and results do not depend on this marking.
    for (const d of docs) {
      if (d.event) {
        const stored = copies.mark(d.event);
        d.doc = JSON.stringify(stored);
        if (stored !== d.event) d.published = JSON.stringify(d.event);
        d.key = identityOf(d.event);
        d.event = undefined;
      }
    }
    /** Writes the batch to ES, then publishes once `before` (the previous batch's publish) settled. */
    async function writeThenPublish(before: Promise<void>): Promise<void> {
      const verdicts = docs.length > 0 ? await writeAll(docs, ctx) : [];
      const events: OutgoingMessage[] = [];
      let created = 0;
      let duplicates = 0;
      /** Created documents per target, counted into the metric once per batch. */
      const indexed = new Map<string, number>();
      verdicts.forEach((v, i) => {
        const d = docs[i]!;
        if (v.kind === 'created') {
          created++;
          indexed.set(d.target, (indexed.get(d.target) ?? 0) + 1);
        } else if (v.kind === 'duplicate') {
          duplicates++;
        } else if (v.kind === 'failed') {
          metrics.indexingErrors.inc({ type: v.type });
          log.warn(
            { documentId: d.id, target: d.target, status: v.status, type: v.type },
            'document rejected by Elasticsearch; dead-lettered',
          );
          rejects.push({
            reason: v.status === 429 || v.status >= 500 || v.status === 0 ? 'es_retries_exhausted' : 'es_rejected',
            detail: v.reason,
            payload: 'document',
            value: typeof d.doc === 'string' ? d.doc : JSON.stringify(d.doc),
            source: d.source,
            errorType: v.type,
            documentId: d.id,
          });
          return;
        }
        if (d.key !== undefined) events.push({ key: d.key, value: d.published ?? (d.doc as string) });
      });
      for (const [target, n] of indexed) metrics.indexed.inc({ target }, n);
      if (duplicates > 0) metrics.duplicates.inc(duplicates);

      // Publishing waits for the previous batch of this partition (its events go first).
      await before.catch(() => undefined);
      const at = now();
      // Both writes go out together (the publisher coalesces them into one produce request).
      await Promise.all([
        rejects.length > 0
          ? deps.publisher.publish(
              topics.dlq,
              rejects.map((r) => toDlqMessage(r, at)),
            )
          : undefined,
        events.length > 0 ? deps.publisher.publish(topics.events, events) : undefined,
      ]);
      if (rejects.length > 0) {
        for (const r of rejects) metrics.dlq.inc({ reason: r.reason });
        log.warn({ count: rejects.length, reasons: countBy(rejects.map((r) => r.reason)) }, 'dead-lettered inputs');
      }
      if (ignored > 0) metrics.ignored.inc(ignored);

      totals.consumed += batch.length;
      totals.created += created;
      totals.duplicates += duplicates;
      totals.dlq += rejects.length;
      totals.ignored += ignored;
      totals.published += events.length;
    }
    // Claim this batch's place in its partition's publish order before the first await.
    const tp = batch.length > 0 ? `${batch[0]!.topic}/${batch[0]!.partition}` : '';
    const before = publishTails.get(tp) ?? Promise.resolve();
    let release: () => void = () => undefined;
    const mine = new Promise<void>((r) => (release = r));
    publishTails.set(tp, mine);
    try {
      await writeThenPublish(before);
    } finally {
      release();
      if (publishTails.get(tp) === mine) publishTails.delete(tp);
    }
  };

  return {
    handleBatch,
    totals,
    async start() {
      stopping = false;
      subscription = await deps.bus.subscribe(
        { groupId: deps.groupId, topics: indexerTopics(topics), fromBeginning: true },
        handleBatch,
      );
      joined = true;
      log.info({ group: deps.groupId, topics: indexerTopics(topics) }, 'indexer started');
    },
    async stop() {
      stopping = true;
      joined = false;
      await subscription?.close();
      subscription = null;
    },
    ready(): ReadyState {
      return {
        ready: joined && esUp,
        checks: {
          consumer: joined ? 'joined' : 'not joined',
          elasticsearch: esUp ? 'ok' : `unreachable: ${esLastError}`,
        },
      };
    },
  };
}

function countBy(xs: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) out[x] = (out[x] ?? 0) + 1;
  return out;
}

export { DLQ_REASONS };
