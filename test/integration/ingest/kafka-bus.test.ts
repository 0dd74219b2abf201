/**
 * The MessageBus contract against a real Kafka broker (npm run infra:up), plus Kafka-specific
 * behaviour: topic creation with the configured partition count and publish failure → KAFKA_UNAVAILABLE.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import kafkajs from 'kafkajs';
import { createKafkaBus } from '../../../shared/src/bus/kafka.ts';
import { silentLogger } from '../../../shared/src/logger.ts';
import { kafkaBrokers, uniqueName } from './engines.ts';
import { busContract } from '../../unit/ingest/bus-contract.ts';

const open = async () =>
  createKafkaBus({
    brokers: kafkaBrokers(),
    clientId: 'regwatch-bus-contract',
    logger: silentLogger(),
    handlerRetryBaseMs: 100,
    heartbeatIntervalMs: 500,
    sessionTimeoutMs: 10_000,
  });

describe('kafka bus: MessageBus contract (real broker)', () => {
  busContract({ open, unique: (p) => uniqueName(p), timeoutMs: 30_000 });
});

describe('kafka bus specifics', () => {
  test('ensureTopics creates missing topics with the configured partition count', async () => {
    const bus = await open();
    const topic = uniqueName('bus-partitions');
    await bus.ensureTopics([topic], 5);
    const admin = new kafkajs.Kafka({ brokers: kafkaBrokers(), logLevel: kafkajs.logLevel.NOTHING }).admin();
    await admin.connect();
    const meta = await admin.fetchTopicMetadata({ topics: [topic] });
    await admin.disconnect();
    assert.equal(meta.topics[0]!.partitions.length, 5);
    await bus.close();
  });

  test('publishing to an unreachable broker fails fast with a retriable KAFKA_UNAVAILABLE', async () => {
    const bus = createKafkaBus({
      brokers: ['127.0.0.1:1'],
      clientId: 'nobody',
      logger: silentLogger(),
      publishTimeoutMs: 2000,
      connectionTimeoutMs: 300,
    });
    const started = Date.now();
    await assert.rejects(
      bus.publisher().publish('x', [{ value: 'v' }]),
      (err: { code?: string; retriable?: boolean }) => {
        assert.equal(err.code, 'KAFKA_UNAVAILABLE');
        assert.equal(err.retriable, true);
        return true;
      },
    );
    assert.ok(Date.now() - started < 5000, 'bounded by publishTimeoutMs');
    await bus.close();
  });
});
