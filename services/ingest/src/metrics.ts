import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Prometheus metrics of the ingest service (prom-client). One registry per service instance so
 * tests can build several side by side. Names follow Prometheus conventions (`_total` counters,
 * `_seconds` durations); the two names cases C18/C20 ask for are `regwatch_indexing_errors_total`
 * and `regwatch_indexing_duplicates_total`.
 */
export interface IngestMetrics {
  readonly registry: Registry;
  /** Receiver requests by route and HTTP status. */
  readonly requests: Counter<'route' | 'status_code'>;
  /** Receiver request duration (seconds) by route, measured until the response is sent. */
  readonly requestDuration: Histogram<'route'>;
  /** Raw messages consumed by the indexer, by topic. */
  readonly consumed: Counter<'topic'>;
  /** Documents newly created in Elasticsearch, by target (data stream or index). */
  readonly indexed: Counter<'target'>;
  /** Bulk `create` items answered 409 (already stored; success). */
  readonly duplicates: Counter;
  /** Bulk items that failed permanently, by ES error type. */
  readonly indexingErrors: Counter<'type'>;
  /** Bulk items retried after 429/5xx, by status. */
  readonly itemRetries: Counter<'status'>;
  /** Messages written to the DLQ, by reason code. */
  readonly dlq: Counter<'reason'>;
  /** Inputs the normalizer ignored on purpose (banners, half-lines), by reason. */
  readonly ignored: Counter;
  /** Wall time of one `_bulk` request, seconds. */
  readonly bulkDuration: Histogram;
  /** Messages behind the high watermark, per topic-partition of the ingest group. */
  readonly consumerLag: Gauge<'topic' | 'partition'>;
  /** 1 while the last Elasticsearch call succeeded, 0 while it is unreachable. */
  readonly esUp: Gauge;
  /** 1 while the last Kafka write succeeded, 0 after a failed one. */
  readonly kafkaUp: Gauge;
}

/**
 * The ingest service's Prometheus metrics in a registry of their own.
 * @param options.defaultMetrics also Node process metrics (default true).
 * @param options.engines expose the engine metrics (default true): `regwatch_ingest_elasticsearch_up`
 *   / `_kafka_up`, the Kafka `regwatch_ingest_consumer_lag` and the Elasticsearch indexer's
 *   `regwatch_ingest_bulk_duration_seconds`, `regwatch_ingest_indexed_total`,
 *   `regwatch_indexing_duplicates_total`, `regwatch_indexing_errors_total` and
 *   `regwatch_ingest_item_retries_total`. False in the embedded mode, which has neither engine
 *   (the metrics exist, so shared code can update them, but are not exported).
 */
export function createIngestMetrics(options: { defaultMetrics?: boolean; engines?: boolean } = {}): IngestMetrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'regwatch_ingest_' });
  const registers = [registry];
  const engineRegisters = (options.engines ?? true) ? registers : [];
  const m: IngestMetrics = {
    registry,
    requests: new Counter({
      name: 'regwatch_receiver_requests_total',
      help: 'Receiver requests',
      labelNames: ['route', 'status_code'],
      registers,
    }),
    requestDuration: new Histogram({
      name: 'regwatch_receiver_request_duration_seconds',
      help: 'Receiver request duration',
      labelNames: ['route'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    consumed: new Counter({
      name: 'regwatch_ingest_consumed_total',
      help: 'Raw messages consumed',
      labelNames: ['topic'],
      registers,
    }),
    indexed: new Counter({
      name: 'regwatch_ingest_indexed_total',
      help: 'Documents created in Elasticsearch',
      labelNames: ['target'],
      registers: engineRegisters,
    }),
    duplicates: new Counter({
      name: 'regwatch_indexing_duplicates_total',
      help: 'Bulk create items answered 409 (already stored)',
      registers: engineRegisters,
    }),
    indexingErrors: new Counter({
      name: 'regwatch_indexing_errors_total',
      help: 'Bulk items failed permanently',
      labelNames: ['type'],
      registers: engineRegisters,
    }),
    itemRetries: new Counter({
      name: 'regwatch_ingest_item_retries_total',
      help: 'Bulk items retried',
      labelNames: ['status'],
      registers: engineRegisters,
    }),
    dlq: new Counter({
      name: 'regwatch_ingest_dlq_total',
      help: 'Messages dead-lettered',
      labelNames: ['reason'],
      registers,
    }),
    ignored: new Counter({
      name: 'regwatch_ingest_ignored_total',
      help: 'Inputs ignored by the normalizer',
      registers,
    }),
    bulkDuration: new Histogram({
      name: 'regwatch_ingest_bulk_duration_seconds',
      help: 'Elasticsearch _bulk latency',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: engineRegisters,
    }),
    consumerLag: new Gauge({
      name: 'regwatch_ingest_consumer_lag',
      help: 'Messages behind the high watermark',
      labelNames: ['topic', 'partition'],
      registers: engineRegisters,
    }),
    esUp: new Gauge({
      name: 'regwatch_ingest_elasticsearch_up',
      help: '1 when Elasticsearch answered the last call',
      registers: engineRegisters,
    }),
    kafkaUp: new Gauge({
      name: 'regwatch_ingest_kafka_up',
      help: '1 when the last Kafka write was acknowledged',
      registers: engineRegisters,
    }),
  };
  m.esUp.set(1);
  m.kafkaUp.set(1);
  return m;
}
