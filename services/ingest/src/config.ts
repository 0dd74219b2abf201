import { z } from 'zod';
import { env, ES_ENV_NAMES, EVERY_PROBLEM, failedKeys, reportNestedIssues } from '../../../shared/src/config.ts';
import { esConfigSchema } from '../../../shared/src/es/client.ts';
import { DEFAULT_NAMESPACE, FINDINGS_INDEX, PIPELINE_INDEX, STORAGE_INDEX } from '../../../shared/src/es/names.ts';
import { TOPICS } from '../../../shared/src/topics.ts';

const optional = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v));

export const ingestEnvObject = z.object({
  LOG_LEVEL: env.logLevel().describe('pino log level'),
  INGEST_ROLES: env
    .oneOf(['receiver', 'indexer'], 'receiver,indexer')
    .describe('Which parts run in this process: receiver, indexer (comma list)'),
  KAFKA_BROKERS: env.hostPorts('127.0.0.1:9092').describe('Kafka bootstrap brokers, host:port comma list'),
  KAFKA_CLIENT_ID: z.string().default('regwatch-ingest').describe('Kafka client id'),
  KAFKA_TOPIC_PARTITIONS: env.int(3, { min: 1 }).describe('Partitions for topics created at start-up (≥ 1)'),
  KAFKA_PUBLISH_TIMEOUT_MS: env
    .int(5000)
    .describe('Max time for one acknowledged Kafka write before the receiver answers 503'),
  KAFKA_LINGER_MS: env
    .int(1, { min: 0 })
    .describe(
      'How long a produce request waits for the concurrent senders of the previous one to come back (linger.ms, adaptive; a lone sender never waits; 0 = off)',
    ),
  REGWATCH_TOPIC_PREFIX: z
    .string()
    .default('')
    .describe('Prefix for every topic name and of the default consumer group (isolation of test runs / tenants)'),
  KAFKA_SESSION_TIMEOUT_MS: env.int(30_000).describe('Consumer session timeout (a crashed member is evicted after it)'),
  KAFKA_HEARTBEAT_INTERVAL_MS: env.int(3000).describe('Consumer heartbeat interval'),
  INGEST_GROUP_ID: optional.describe(
    'Consumer group of the indexer; default <REGWATCH_TOPIC_PREFIX>ingest (a set value is used as given)',
  ),
  ES_URLS: env.urls('http://127.0.0.1:9200').describe('Elasticsearch node URLs, comma list'),
  ES_USERNAME: optional.describe('Elasticsearch basic-auth user'),
  ES_PASSWORD: optional.describe('Elasticsearch basic-auth password (secret)'),
  ES_API_KEY: optional.describe('Elasticsearch API key (secret)'),
  ES_CA_FILE: optional.describe('PEM CA certificate for Elasticsearch TLS'),
  ES_TLS_REJECT_UNAUTHORIZED: env.bool(true).describe('Verify the Elasticsearch TLS certificate'),
  ES_REQUEST_TIMEOUT_MS: env.int(30_000).describe('Elasticsearch request timeout'),
  ES_NAMESPACE: z
    .string()
    .default(DEFAULT_NAMESPACE)
    .describe('Data stream namespace: logs-oci_registry.<dataset>-<namespace>'),
  ES_FINDINGS_INDEX: z.string().default(FINDINGS_INDEX).describe('Index (alias) for regwatch.findings'),
  ES_STORAGE_INDEX: z.string().default(STORAGE_INDEX).describe('Index (alias) for regwatch.storage samples'),
  ES_PIPELINE_INDEX: z
    .string()
    .default(PIPELINE_INDEX)
    .describe('Index (alias) for pipeline health samples (consumer lag, counters, DLQ by reason)'),
  INGEST_PIPELINE_STATS_INTERVAL_S: z.coerce
    .number()
    .int()
    .min(0)
    .default(30)
    .describe('Seconds between pipeline health samples written by the indexer; 0 disables them'),
  SERVICE_NODE_NAME: optional.describe(
    'ECS service.node.name of this process in pipeline samples (unique per instance); default <hostname>:<pid>',
  ),
  ES_STARTUP_TIMEOUT_MS: env
    .int(60_000)
    .describe(
      'How long start-up waits for Elasticsearch to be ready, ms; then ingest exits 1 with ES_UNAVAILABLE (its supervisor restarts it)',
    ),
  INGEST_ITEM_RETRIES: env.int(5).describe('Retries of a bulk item answered 429/5xx before it is dead-lettered'),
  INGEST_RETRY_BASE_MS: env
    .int(1000)
    .describe('First backoff for retried bulk items / ES outages (doubles, with jitter)'),
  INGEST_RETRY_MAX_MS: env.int(15_000).describe('Backoff cap'),
  INGEST_CORRELATION_SIZE: env.int(50_000).describe('Request ids remembered to enrich log lines from notifications'),
  RECEIVER_HOST: z.string().default('127.0.0.1').describe('Receiver listen address'),
  RECEIVER_PORT: env.port(8080).describe('Receiver listen port (0–65535)'),
  RECEIVER_AUTH: z
    .enum(['bearer', 'none'])
    .default('bearer')
    .describe('bearer: require one of RECEIVER_TOKENS; none: open (trusted networks only)'),
  RECEIVER_TOKENS: env.list('').describe('Accepted bearer tokens, comma list (secret)'),
  RECEIVER_BODY_LIMIT_BYTES: env
    .int(1_000_000)
    .describe(
      "Largest accepted request body; larger → 413. Keep it below the broker's message.max.bytes (default 1048588)",
    ),
  RECEIVER_RATE_LIMIT_MAX: env.int(0).describe('Requests per window per client IP; 0 disables rate limiting'),
  RECEIVER_RATE_LIMIT_WINDOW_MS: env.int(60_000).describe('Rate-limit window'),
  RECEIVER_RETRY_AFTER_S: env.int(5).describe('Retry-After seconds sent with 503 when Kafka is unavailable'),
  SHUTDOWN_TIMEOUT_MS: env.int(20_000).describe('Max time for the graceful shutdown sequence'),
});

/** The ES connection slice as `esConfigSchema` input. The indexer owns retries (it pauses the
 * partition while ES is down), so the client itself never retries. */
function esInput(c: z.output<typeof ingestEnvObject>): Record<string, unknown> {
  return {
    nodes: c.ES_URLS,
    ...(c.ES_USERNAME !== undefined ? { username: c.ES_USERNAME } : {}),
    ...(c.ES_PASSWORD !== undefined ? { password: c.ES_PASSWORD } : {}),
    ...(c.ES_API_KEY !== undefined ? { apiKey: c.ES_API_KEY } : {}),
    ...(c.ES_CA_FILE !== undefined ? { caFile: c.ES_CA_FILE } : {}),
    tlsRejectUnauthorized: c.ES_TLS_REJECT_UNAUTHORIZED,
    requestTimeoutMs: c.ES_REQUEST_TIMEOUT_MS,
    maxRetries: 0,
  };
}

/**
 * Environment of the ingest service (receiver + indexer). Every variable is described; times are
 * milliseconds, sizes bytes. Parsed once in main.ts with `loadConfig(ingestEnvSchema, process.env)`.
 */
export const ingestEnvSchema = ingestEnvObject
  .superRefine((c, ctx) => {
    // Runs even when single variables failed (EVERY_PROBLEM): one pass lists every problem.
    const failed = failedKeys(ctx);
    const esKeys = ['ES_URLS', 'ES_CA_FILE', 'ES_TLS_REJECT_UNAUTHORIZED', 'ES_REQUEST_TIMEOUT_MS'];
    if (!esKeys.some((k) => failed.has(k))) {
      const es = esConfigSchema.safeParse(esInput(c));
      if (!es.success) reportNestedIssues(ctx, es.error.issues, ES_ENV_NAMES, 'ES_URLS');
    }
    if (
      !failed.has('RECEIVER_AUTH') &&
      c.RECEIVER_AUTH === 'bearer' &&
      Array.isArray(c.INGEST_ROLES) &&
      c.INGEST_ROLES.includes('receiver') &&
      c.RECEIVER_TOKENS.length === 0
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['RECEIVER_TOKENS'],
        message: 'at least one token is required when RECEIVER_AUTH=bearer',
      });
    }
  }, EVERY_PROBLEM)
  .transform((c) => {
    const topic = (t: string): string => `${c.REGWATCH_TOPIC_PREFIX}${t}`;
    return {
      logLevel: c.LOG_LEVEL,
      roles: { receiver: c.INGEST_ROLES.includes('receiver'), indexer: c.INGEST_ROLES.includes('indexer') },
      kafka: {
        brokers: c.KAFKA_BROKERS,
        clientId: c.KAFKA_CLIENT_ID,
        partitions: c.KAFKA_TOPIC_PARTITIONS,
        publishTimeoutMs: c.KAFKA_PUBLISH_TIMEOUT_MS,
        lingerMs: c.KAFKA_LINGER_MS,
        // Prefixed by default: deployments with different prefixes never share a group.
        groupId: c.INGEST_GROUP_ID ?? topic('ingest'),
        sessionTimeoutMs: c.KAFKA_SESSION_TIMEOUT_MS,
        heartbeatIntervalMs: c.KAFKA_HEARTBEAT_INTERVAL_MS,
      },
      topics: {
        notifications: topic(TOPICS.notifications),
        logs: topic(TOPICS.logs),
        harborWebhooks: topic(TOPICS.harborWebhooks),
        events: topic(TOPICS.events),
        dlq: topic(TOPICS.dlq),
        storage: topic(TOPICS.storage),
        findings: topic(TOPICS.findings),
      },
      es: esConfigSchema.parse(esInput(c)),
      esStartupTimeoutMs: c.ES_STARTUP_TIMEOUT_MS,
      indices: { namespace: c.ES_NAMESPACE, findings: c.ES_FINDINGS_INDEX, storage: c.ES_STORAGE_INDEX },
      pipelineStats: {
        intervalMs: c.INGEST_PIPELINE_STATS_INTERVAL_S * 1000,
        index: c.ES_PIPELINE_INDEX,
        nodeName: c.SERVICE_NODE_NAME ?? null,
      },
      indexer: {
        itemRetries: c.INGEST_ITEM_RETRIES,
        retryBaseMs: c.INGEST_RETRY_BASE_MS,
        retryMaxMs: c.INGEST_RETRY_MAX_MS,
        correlationSize: c.INGEST_CORRELATION_SIZE,
      },
      receiver: {
        host: c.RECEIVER_HOST,
        port: c.RECEIVER_PORT,
        tokens: c.RECEIVER_AUTH === 'bearer' ? c.RECEIVER_TOKENS : [],
        bodyLimitBytes: c.RECEIVER_BODY_LIMIT_BYTES,
        rateLimit:
          c.RECEIVER_RATE_LIMIT_MAX > 0
            ? { max: c.RECEIVER_RATE_LIMIT_MAX, timeWindowMs: c.RECEIVER_RATE_LIMIT_WINDOW_MS }
            : null,
        retryAfterSeconds: c.RECEIVER_RETRY_AFTER_S,
      },
      shutdownTimeoutMs: c.SHUTDOWN_TIMEOUT_MS,
    };
  });

export type IngestConfig = z.output<typeof ingestEnvSchema>;
export type ReceiverConfig = IngestConfig['receiver'];
export type IngestTopics = IngestConfig['topics'];
