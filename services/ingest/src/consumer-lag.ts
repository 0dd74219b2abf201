/**
 * Consumer-group lag from the Kafka admin API (kafkajs 2.x `Admin`, docs/Admin.md "Fetch
 * consumer group offsets" / "Fetch topic offsets"): the group's committed offsets
 * (`fetchOffsets({ groupId, topics })`, `-1` = never committed) against each topic's high
 * watermark and log start offset (`fetchTopicOffsets(topic)`). The arithmetic is computeLag in
 * pipeline-stats.ts.
 */
// Before kafkajs: its faster internals can only be installed ahead of its first load.
import '../../../shared/src/bus/kafkajs-preload.ts';
import kafkajs from 'kafkajs';
import type { Admin } from 'kafkajs';
import { AppError } from '../../../shared/src/errors.ts';
import { computeLag, type LagReader, type PartitionLag } from './pipeline-stats.ts';

const { Kafka, logLevel } = kafkajs;

/** The two admin calls the reader needs (a kafkajs `Admin` satisfies it). */
export type OffsetsAdmin = Pick<Admin, 'connect' | 'disconnect' | 'fetchOffsets' | 'fetchTopicOffsets'>;

/**
 * Lag reader over an admin client. Connects on first use; after a failure it disconnects and
 * reconnects at the next read.
 * @param o.topics the topics the group consumes (partitions without a commit count from the log start).
 * @throws (from `read`) AppError KAFKA_UNAVAILABLE, retriable, when Kafka could not be asked.
 */
export function adminLagReader(admin: OffsetsAdmin, o: { groupId: string; topics: readonly string[] }): LagReader {
  let connected = false;
  return {
    async read(): Promise<PartitionLag[]> {
      try {
        if (!connected) {
          await admin.connect();
          connected = true;
        }
        const topics = [...new Set(o.topics)];
        const [committed, watermarks] = await Promise.all([
          admin.fetchOffsets({ groupId: o.groupId, topics }),
          Promise.all(topics.map(async (topic) => ({ topic, partitions: await admin.fetchTopicOffsets(topic) }))),
        ]);
        return computeLag(watermarks, committed);
      } catch (err) {
        if (connected) await admin.disconnect().catch(() => undefined);
        connected = false;
        throw new AppError(
          'KAFKA_UNAVAILABLE',
          `could not read offsets of group ${o.groupId}: ${(err as Error).message}`,
          { retriable: true, cause: err },
        );
      }
    },
    async close() {
      if (connected) await admin.disconnect().catch(() => undefined);
      connected = false;
    },
  };
}

/**
 * A lag reader with its own kafkajs admin client (short timeouts, no retries beyond one: a
 * missed sample is simply taken again at the next tick).
 * @param o.brokers `host:port` bootstrap brokers.
 */
export function kafkaLagReader(o: {
  brokers: readonly string[];
  clientId: string;
  groupId: string;
  topics: readonly string[];
}): LagReader {
  const kafka = new Kafka({
    clientId: `${o.clientId}-lag`,
    brokers: [...o.brokers],
    connectionTimeout: 3000,
    requestTimeout: 10_000,
    logLevel: logLevel.NOTHING,
    retry: { retries: 1, initialRetryTime: 200, maxRetryTime: 1000 },
  });
  return adminLagReader(kafka.admin(), { groupId: o.groupId, topics: o.topics });
}
