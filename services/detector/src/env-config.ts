import cron from 'node-cron';
import { z } from 'zod';
import { env, ES_ENV_NAMES, EVERY_PROBLEM, failedKeys, reportNestedIssues } from '../../../shared/src/config.ts';
import { esConfigSchema } from '../../../shared/src/es/client.ts';
import {
  assertValidNamespace,
  DEFAULT_NAMESPACE,
  EVENTS_DATASET_PREFIX,
  EVENTS_TYPE,
  FINDINGS_INDEX_PATTERN,
  STORAGE_INDEX_PATTERN,
} from '../../../shared/src/es/names.ts';
import { staleAfterSetting } from './forecast/staleness.ts';

const cronString = (def: string) =>
  z
    .string()
    .default(def)
    .refine((s) => cron.validate(s), 'not a valid cron expression (node-cron syntax)');

/** An optional variable; set to the empty string counts as unset. */
const unsetIfEmpty = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v));

/**
 * Environment of the detector service (full mode). Every variable is described; only main.ts
 * reads `process.env` and passes it here (`loadConfig`: every problem listed in one pass, including
 * the cross-variable checks: ES credentials, DETECTOR_STATE=elasticsearch needing ES_URLS).
 * Detection settings and rule params come from the YAML/JSON file in DETECTOR_CONFIG (see
 * config.ts: `settings`, `rules.params.<rule id>`, `rules.disabled`).
 */
export const detectorEnvSchema = z
  .object({
    KAFKA_BROKERS: env.hostPorts('127.0.0.1:9092').describe('Kafka bootstrap brokers, comma-separated host:port'),
    KAFKA_CLIENT_ID: z.string().default('regwatch-detector').describe('Kafka client id'),
    REGWATCH_TOPIC_PREFIX: z
      .string()
      .default('')
      .describe(
        'Prefix for every topic name and of the default consumer group (isolation of test runs / tenants; the same value as ingest and alerts)',
      ),
    KAFKA_TOPIC_PARTITIONS: env
      .int(3, { min: 1 })
      .describe('Partitions for topics created at start-up (≥ 1; the same value as ingest and alerts)'),
    DETECTOR_GROUP_ID: unsetIfEmpty.describe(
      'consumer group on regwatch.events (also names the saved state); default <REGWATCH_TOPIC_PREFIX>detector (a set value is used as given)',
    ),
    ES_URLS: env
      .optionalUrls()
      .describe('Elasticsearch node URLs, comma list; enables the ES state store and the scheduled jobs'),
    ES_USERNAME: unsetIfEmpty.describe('Elasticsearch basic-auth user'),
    ES_PASSWORD: unsetIfEmpty.describe('Elasticsearch basic-auth password (secret)'),
    ES_API_KEY: unsetIfEmpty.describe('Elasticsearch API key (secret)'),
    DETECTOR_STATE: z
      .string()
      .default('.data/detector/state.db')
      .describe(
        '"elasticsearch" (index regwatch-detector-state: the snapshot gzipped in 8 MiB chunks behind one manifest per instance, no size limit) or a SQLite file path for the detector state',
      ),
    DETECTOR_CONFIG: z
      .string()
      .optional()
      .describe('detection config file (YAML/JSON): settings, rules.params, rules.disabled'),
    KIBANA_URL: z
      .string()
      .url()
      .optional()
      .describe('Kibana base URL for Discover links (overrides settings.kibanaUrl)'),
    ES_NAMESPACE: z
      .string()
      .default(DEFAULT_NAMESPACE)
      .describe(
        'Data stream namespace the events are read from: logs-oci_registry.*-<namespace> (the same value as ingest)',
      ),
    DETECTOR_EVENTS_INDEX: unsetIfEmpty.describe(
      'events index pattern for the scheduled jobs and the first-start backfill; default logs-oci_registry.*-<ES_NAMESPACE>',
    ),
    DETECTOR_STORAGE_INDEX: z.string().default(STORAGE_INDEX_PATTERN).describe('storage samples index pattern'),
    DETECTOR_FINDINGS_INDEX: z
      .string()
      .default(FINDINGS_INDEX_PATTERN)
      .describe('findings index pattern: the storage job reads the last storage finding statuses from it at start'),
    DETECTOR_BASELINE_CRON: cronString('5 * * * *').describe('cron of the hourly ES baseline evaluation'),
    DETECTOR_SLO_CRON: cronString('2 * * * *').describe('cron of the hourly SLO checks'),
    DETECTOR_STORAGE_CRON: cronString('20 */6 * * *').describe('cron of the storage exhaustion forecast'),
    DETECTOR_STORAGE_STALE_AFTER: staleAfterSetting.describe(
      "age of a scope's newest storage sample (e.g. 36h, 2d, 90m, seconds) beyond which the storage job raises storage.data_stale instead of capacity findings; default: the larger of 1 day and 2 × the sampling interval",
    ),
    DETECTOR_HTTP_HOST: z
      .string()
      .default('127.0.0.1')
      .describe('listen address of /healthz, /readyz and /metrics (0.0.0.0 in a container)'),
    DETECTOR_HTTP_PORT: env
      .port(9096)
      .describe('listen port of /healthz, /readyz and /metrics (0 = any free port; the bound URL is logged)'),
    DETECTOR_CHECKPOINT_INTERVAL_MS: env
      .int(5000, { min: 0, max: 3_600_000 })
      .describe(
        "ms between state checkpoints (snapshot saved, then offsets committed), stretched to 10× the last save's duration when saves are slow (large state); a crash re-processes at most that much from the restored state; 0 = after every batch",
      ),
    DETECTOR_IDLE_ADVANCE_MS: env
      .int(30_000, { min: 0, max: 3_600_000 })
      .describe(
        'ms without newer events after which event time follows the wall clock (hours close, bursts resolve while the registry is quiet); 0 = only events move event time',
      ),
    DETECTOR_JOBS: env.bool(true).describe('run the scheduled ES jobs (needs ES_URLS)'),
    LOG_LEVEL: env.logLevel().describe('pino log level'),
  })
  .superRefine((c, ctx) => {
    // Runs even when single variables failed (EVERY_PROBLEM): one pass lists every problem.
    const failed = failedKeys(ctx);
    if (!failed.has('ES_NAMESPACE')) {
      try {
        assertValidNamespace(c.ES_NAMESPACE);
      } catch (err) {
        ctx.addIssue({ code: 'custom', path: ['ES_NAMESPACE'], message: (err as Error).message });
      }
    }
    if (failed.has('ES_URLS') || failed.has('DETECTOR_STATE')) return;
    if (c.DETECTOR_STATE === 'elasticsearch' && !c.ES_URLS)
      ctx.addIssue({ code: 'custom', path: ['ES_URLS'], message: 'DETECTOR_STATE=elasticsearch needs ES_URLS' });
    if (c.ES_URLS) {
      const es = esConfigSchema.safeParse({
        nodes: c.ES_URLS,
        ...(c.ES_USERNAME !== undefined ? { username: c.ES_USERNAME } : {}),
        ...(c.ES_PASSWORD !== undefined ? { password: c.ES_PASSWORD } : {}),
        ...(c.ES_API_KEY !== undefined ? { apiKey: c.ES_API_KEY } : {}),
      });
      if (!es.success) reportNestedIssues(ctx, es.error.issues, ES_ENV_NAMES, 'ES_URLS');
    }
  }, EVERY_PROBLEM);
export type DetectorEnv = z.infer<typeof detectorEnvSchema>;

/**
 * The detector's consumer group id: DETECTOR_GROUP_ID as given, else `<REGWATCH_TOPIC_PREFIX>detector`,
 * so deployments isolated by a topic prefix never share a group (a shared group with different
 * subscriptions gets "unsubscribed topics" assignments and consumes nothing). The same id names the
 * saved state (SQLite row / ES document `detector-<group>`).
 */
export function detectorGroupId(env: Pick<DetectorEnv, 'DETECTOR_GROUP_ID' | 'REGWATCH_TOPIC_PREFIX'>): string {
  return env.DETECTOR_GROUP_ID ?? `${env.REGWATCH_TOPIC_PREFIX}detector`;
}

/**
 * The events index pattern the scheduled jobs and the backfill search: DETECTOR_EVENTS_INDEX as
 * given, else the data streams of ingest's namespace, `logs-oci_registry.*-<ES_NAMESPACE>` (Elastic
 * data stream naming `{type}-{dataset}-{namespace}`, shared/src/es/names.ts), so a detector never
 * reads another deployment's events from a shared cluster.
 */
export function detectorEventsIndex(env: Pick<DetectorEnv, 'DETECTOR_EVENTS_INDEX' | 'ES_NAMESPACE'>): string {
  return env.DETECTOR_EVENTS_INDEX ?? `${EVENTS_TYPE}-${EVENTS_DATASET_PREFIX}.*-${env.ES_NAMESPACE}`;
}
