import type { BusMessage, OutgoingMessage } from '../../../shared/src/bus/types.ts';

/**
 * Dead-letter message format (`regwatch.dlq`). Value: the rejected bytes — the raw source message
 * when the whole message was unusable, the single rejected event (as the normalizer re-serialized
 * it) when one event of an envelope was, or the normalized document Elasticsearch refused (see
 * `payload` header). Headers carry why and where from, so the raw input can always be found again
 * at `source topic/partition/offset` and replayed after a fix. Key: the source message's key.
 */
export const DLQ_HEADERS = {
  /** Reason code: a normalizer REJECT_REASONS key, or one of DLQ_REASONS. */
  reason: 'regwatch.dlq.reason',
  /** Human detail (field, expected shape, ES error reason). Never secrets. */
  detail: 'regwatch.dlq.detail',
  /** `raw` (the source message bytes), `event` (one event of an envelope) or `document` (what ES refused). */
  payload: 'regwatch.dlq.payload',
  /** Elasticsearch error type for ES rejections (`mapper_parsing_exception`). */
  errorType: 'regwatch.dlq.error_type',
  /** Elasticsearch document id, for ES rejections. */
  documentId: 'regwatch.dlq.document_id',
  sourceTopic: 'regwatch.source.topic',
  sourcePartition: 'regwatch.source.partition',
  sourceOffset: 'regwatch.source.offset',
  failedAt: 'regwatch.dlq.failed_at',
} as const;

/** Reason codes the indexer adds to the normalizer's own. */
export const DLQ_REASONS = {
  es_rejected: 'Elasticsearch refused the document permanently (4xx item: mapping/parsing error)',
  es_retries_exhausted: 'Elasticsearch kept answering 429/5xx for the item after every retry',
  invalid_storage_sample: 'a regwatch.storage message is not a valid storage sample',
  invalid_finding: 'a regwatch.findings message does not match the findings contract',
  normalizer_error: 'the normalizer threw (a bug); the input is kept for replay',
  unknown_topic: 'a message arrived from a topic the indexer has no handler for',
} as const;

export interface DlqEntry {
  readonly reason: string;
  readonly detail: string;
  readonly payload: 'raw' | 'event' | 'document';
  readonly value: Buffer | string;
  readonly source: Pick<BusMessage, 'topic' | 'partition' | 'offset' | 'key'>;
  readonly errorType?: string;
  readonly documentId?: string;
}

/** Header values are capped so a huge ES reason cannot blow up the DLQ message. */
const cap = (s: string, n = 2000): string => (s.length > n ? `${s.slice(0, n)}…` : s);

/** Builds the DLQ message for one rejected input. `now` is the failure time. */
export function toDlqMessage(entry: DlqEntry, now: Date): OutgoingMessage {
  const headers: Record<string, string> = {
    [DLQ_HEADERS.reason]: entry.reason,
    [DLQ_HEADERS.detail]: cap(entry.detail),
    [DLQ_HEADERS.payload]: entry.payload,
    [DLQ_HEADERS.sourceTopic]: entry.source.topic,
    [DLQ_HEADERS.sourcePartition]: String(entry.source.partition),
    [DLQ_HEADERS.sourceOffset]: entry.source.offset,
    [DLQ_HEADERS.failedAt]: now.toISOString(),
  };
  if (entry.errorType !== undefined) headers[DLQ_HEADERS.errorType] = entry.errorType;
  if (entry.documentId !== undefined) headers[DLQ_HEADERS.documentId] = entry.documentId;
  return { key: entry.source.key, value: entry.value, headers };
}

/**
 * The DLQ payload of a normalizer rejection of `message`: `raw` with the message's own bytes when
 * the rejection is about the whole message (no `original`, or an `original` that is the message
 * itself, as for one log line), else `event` with the rejected piece (one event of an envelope).
 */
export function rejectedPayload(original: string, message: Buffer): Pick<DlqEntry, 'payload' | 'value'> {
  if (original.length === 0 || (original.length <= message.length && message.equals(Buffer.from(original))))
    return { payload: 'raw', value: message };
  return { payload: 'event', value: original };
}
