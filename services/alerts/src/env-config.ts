import { z } from 'zod';
import { env } from '../../../shared/src/config.ts';
import { ALERT_STATE_INDEX, DELIVERIES_INDEX } from '../../../shared/src/es/names.ts';

const optional = z.string().min(1).optional();

/**
 * Environment of the alerts service in full mode (`services/alerts/src/main.ts`). Parsed once at
 * boot with `loadConfig` (every problem listed) and frozen; nothing else reads the environment.
 */
export const alertsEnvSchema = z.object({
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
  REGWATCH_ALERTS_PORT: env.int(9095).describe('Silences API / metrics listen port'),
  REGWATCH_ALERTS_STORE: z
    .enum(['elasticsearch', 'sqlite'])
    .default('elasticsearch')
    .describe('State store: elasticsearch (shared by several instances) or sqlite (one instance)'),
  REGWATCH_ALERTS_SQLITE_PATH: z.string().default('.data/alerts.sqlite').describe('SQLite file of the sqlite store'),
  REGWATCH_ALERTS_GROUP_ID: z.string().default('alerts').describe('Consumer group on regwatch.findings'),
  REGWATCH_ALERTS_TICK_MS: env.int(250).describe('How often due groups are flushed (ms)'),
  REGWATCH_ALERTS_INSTANCE_ID: optional.describe('Instance id in claims and delivery records (default: random)'),
  REGWATCH_TOPIC_PREFIX: z.string().default('').describe('Prefix for every topic name'),
  KAFKA_BROKERS: env.list('127.0.0.1:9092').describe('Kafka bootstrap brokers, host:port comma list'),
  KAFKA_TOPIC_PARTITIONS: env.int(3).describe('Partitions for topics created at start-up'),
  ES_URLS: env.list('http://127.0.0.1:9200').describe('Elasticsearch node URLs, comma list'),
  ES_USERNAME: optional.describe('Elasticsearch basic-auth user'),
  ES_PASSWORD: optional.describe('Elasticsearch basic-auth password (secret)'),
  ES_API_KEY: optional.describe('Elasticsearch API key (secret)'),
  ES_CA_FILE: optional.describe('PEM CA certificate for Elasticsearch TLS'),
  ES_TLS_REJECT_UNAUTHORIZED: env.bool(true).describe('Verify the Elasticsearch TLS certificate'),
  ES_ALERT_STATE_INDEX: z.string().default(ALERT_STATE_INDEX).describe('Index (alias) of alert state'),
  ES_DELIVERIES_INDEX: z.string().default(DELIVERIES_INDEX).describe('Index (alias) of delivery records'),
  LOG_LEVEL: z.string().default('info').describe('pino log level'),
});
