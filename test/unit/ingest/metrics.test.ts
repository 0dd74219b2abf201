import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createIngestMetrics } from '../../../services/ingest/src/metrics.ts';

test('engine up gauges: exported by the service, not by the embedded mode (it has no Kafka or Elasticsearch)', async () => {
  const service = await createIngestMetrics({ defaultMetrics: false }).registry.metrics();
  assert.match(service, /^regwatch_ingest_kafka_up 1$/m);
  assert.match(service, /^regwatch_ingest_elasticsearch_up 1$/m);
  const embedded = createIngestMetrics({ defaultMetrics: false, engines: false });
  embedded.kafkaUp.set(0); // still callable by the shared receiver code
  const text = await embedded.registry.metrics();
  assert.doesNotMatch(text, /kafka_up|elasticsearch_up/);
  assert.match(text, /regwatch_receiver_requests_total/);
});
