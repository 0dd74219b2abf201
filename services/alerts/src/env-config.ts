import { z } from 'zod';
import { env, ES_ENV_NAMES, EVERY_PROBLEM, failedKeys, reportNestedIssues } from '../../../shared/src/config.ts';
import { esConfigSchema } from '../../../shared/src/es/client.ts';
import { ALERT_STATE_INDEX, DELIVERIES_INDEX } from '../../../shared/src/es/names.ts';

const optional = z.string().min(1).optional();

/**
 * Environment of the alerts service in full mode (`services/alerts/src/main.ts`). Parsed once at
 * boot with `loadConfig` (every problem listed) and frozen; nothing else reads the environment.
 */
export const alertsEnvSchema = z
  .object({
    REGWATCH_ALERTS_CONFIG: optional.describe(
      'Alerts config file (YAML/JSON, Alertmanager-style; ${VAR} filled from the environment). Default: console receiver',
    ),
    REGWATCH_ALERTS_TOKEN: env
      .list('')
      .pipe(
        z
          .array(z.string().min(16, 'tokens need 16+ characters'))
          .min(1, 'set REGWATCH_ALERTS_TOKEN (bearer token for the silences API)'),
      )
      .describe('Bearer token(s) for the silences API, comma list, 16+ characters each (secret). Required'),
    REGWATCH_ALERTS_HOST: z.string().default('127.0.0.1').describe('Silences API / metrics listen address'),
    REGWATCH_ALERTS_PORT: env.port(9095).describe('Silences API / metrics listen port (0–65535)'),
    REGWATCH_ALERTS_STORE: z
      .enum(['elasticsearch', 'sqlite'])
      .default('elasticsearch')
      .describe('State store: elasticsearch (shared by several instances) or sqlite (one instance)'),
    REGWATCH_ALERTS_SQLITE_PATH: z.string().default('.data/alerts.sqlite').describe('SQLite file of the sqlite store'),
    REGWATCH_ALERTS_GROUP_ID: z.string().default('alerts').describe('Consumer group on regwatch.findings'),
    REGWATCH_ALERTS_TICK_MS: env.int(250, { min: 1 }).describe('How often due groups are flushed (ms)'),
    REGWATCH_ALERTS_INSTANCE_ID: optional.describe('Instance id in claims and delivery records (default: random)'),
    REGWATCH_TOPIC_PREFIX: z.string().default('').describe('Prefix for every topic name'),
    KAFKA_BROKERS: env.hostPorts('127.0.0.1:9092').describe('Kafka bootstrap brokers, host:port comma list'),
    KAFKA_TOPIC_PARTITIONS: env
      .int(3, { min: 1 })
      .describe('Partitions for topics created at start-up (≥ 1; the same value as ingest and the detector)'),
    ES_URLS: env.urls('http://127.0.0.1:9200').describe('Elasticsearch node URLs, comma list'),
    ES_USERNAME: optional.describe('Elasticsearch basic-auth user'),
    ES_PASSWORD: optional.describe('Elasticsearch basic-auth password (secret)'),
    ES_API_KEY: optional.describe('Elasticsearch API key (secret)'),
    ES_CA_FILE: optional.describe('PEM CA certificate for Elasticsearch TLS'),
    ES_TLS_REJECT_UNAUTHORIZED: env.bool(true).describe('Verify the Elasticsearch TLS certificate'),
    ES_ALERT_STATE_INDEX: z.string().default(ALERT_STATE_INDEX).describe('Index (alias) of alert state'),
    ES_DELIVERIES_INDEX: z.string().default(DELIVERIES_INDEX).describe('Index (alias) of delivery records'),
    LOG_LEVEL: env.logLevel().describe('pino log level'),
  })
  .superRefine((c, ctx) => {
    // Runs even when single variables failed (EVERY_PROBLEM): one pass lists every problem.
    const failed = failedKeys(ctx);
    if (failed.has('ES_URLS') || failed.has('ES_TLS_REJECT_UNAUTHORIZED')) return;
    const es = esConfigSchema.safeParse({
      nodes: c.ES_URLS,
      ...(c.ES_USERNAME !== undefined ? { username: c.ES_USERNAME } : {}),
      ...(c.ES_PASSWORD !== undefined ? { password: c.ES_PASSWORD } : {}),
      ...(c.ES_API_KEY !== undefined ? { apiKey: c.ES_API_KEY } : {}),
      ...(c.ES_CA_FILE !== undefined ? { caFile: c.ES_CA_FILE } : {}),
      tlsRejectUnauthorized: c.ES_TLS_REJECT_UNAUTHORIZED,
    });
    if (!es.success) reportNestedIssues(ctx, es.error.issues, ES_ENV_NAMES, 'ES_URLS');
  }, EVERY_PROBLEM);
