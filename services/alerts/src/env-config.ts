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
    REGWATCH_ALERTS_PUBLIC_URL: z
      .url()
      .optional()
      .describe(
        'Silences API base URL as operators reach it, printed as --url in the silence command of each alert (wins over global.alerts_url); default: the listen address (a wildcard host as 127.0.0.1)',
      ),
    REGWATCH_ALERTS_STORE: z
      .enum(['elasticsearch', 'sqlite'])
      .default('elasticsearch')
      .describe('State store: elasticsearch (shared by several instances) or sqlite (one instance)'),
    REGWATCH_ALERTS_SQLITE_PATH: z.string().default('.data/alerts.sqlite').describe('SQLite file of the sqlite store'),
    REGWATCH_ALERTS_GROUP_ID: optional.describe(
      'Consumer group on regwatch.findings; default <REGWATCH_TOPIC_PREFIX>alerts (a set value is used as given)',
    ),
    REGWATCH_ALERTS_TICK_MS: env.int(250, { min: 1 }).describe('How often due groups are flushed (ms)'),
    REGWATCH_ALERTS_INSTANCE_ID: optional.describe('Instance id in claims and delivery records (default: random)'),
    REGWATCH_TOPIC_PREFIX: z
      .string()
      .default('')
      .describe(
        'Prefix for every topic name and of the default consumer group (isolation of test runs / tenants; the same value as ingest and the detector)',
      ),
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

/**
 * The alerts consumer group id: REGWATCH_ALERTS_GROUP_ID as given, else `<REGWATCH_TOPIC_PREFIX>alerts`,
 * so deployments isolated by a topic prefix never share a group.
 */
export function alertsGroupId(env: {
  REGWATCH_ALERTS_GROUP_ID?: string | undefined;
  REGWATCH_TOPIC_PREFIX: string;
}): string {
  return env.REGWATCH_ALERTS_GROUP_ID ?? `${env.REGWATCH_TOPIC_PREFIX}alerts`;
}

/**
 * The silences API URL printed in each alert's `regwatch silence add --url …`: REGWATCH_ALERTS_PUBLIC_URL,
 * else the config file's `global.alerts_url`, else the address the API is bound to
 * (`http://<host>:<port>`, a wildcard host `0.0.0.0`/`::` shown as `127.0.0.1`, an IPv6 literal in
 * brackets). `boundPort` is the port actually bound (REGWATCH_ALERTS_PORT=0 picks one).
 */
export function alertsPublicUrl(
  env: { REGWATCH_ALERTS_PUBLIC_URL?: string | undefined; REGWATCH_ALERTS_HOST: string },
  configUrl: string | undefined,
  boundPort: number,
): string {
  const given = env.REGWATCH_ALERTS_PUBLIC_URL ?? configUrl;
  if (given !== undefined) return given.replace(/\/+$/, '');
  const h = env.REGWATCH_ALERTS_HOST;
  const host = h === '' || h === '0.0.0.0' || h === '::' ? '127.0.0.1' : h.includes(':') ? `[${h}]` : h;
  return `http://${host}:${boundPort}`;
}
