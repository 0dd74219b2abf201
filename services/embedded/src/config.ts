import cron from 'node-cron';
import { z } from 'zod';
import { EVERY_PROBLEM, failedKeys, LOG_LEVELS, loadConfig } from '../../../shared/src/config.ts';
import { staleAfterSetting } from '../../detector/src/forecast/staleness.ts';

const list = z
  .union([z.array(z.string()), z.string()])
  .transform((v) => (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter(Boolean));
const optionalPath = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v));

/**
 * Settings of `regwatch run` (the embedded default). Every key can come from a flag or from the
 * environment variable in `EMBEDDED_ENV` (flags win). Times are milliseconds. Parsed once by the
 * CLI with `loadEmbeddedConfig`, every problem listed.
 */
export const embeddedConfigSchema = z
  .object({
    host: z
      .string()
      .min(1)
      .default('127.0.0.1')
      .describe('Receiver listen address (loopback by default; a non-loopback address needs a token)'),
    port: z.coerce
      .number()
      .int()
      .min(0)
      .max(65_535)
      .default(8080)
      .describe('Receiver listen port (0 = any free port, printed at start)'),
    tokens: list
      .default([])
      .describe('Accepted bearer tokens for the receiver, comma list (secret); none = open receiver, loopback only'),
    bodyLimitBytes: z.coerce
      .number()
      .int()
      .min(1024)
      .max(256 * 1024 * 1024)
      .default(4 * 1024 * 1024)
      .describe(
        'Largest request body the receiver accepts, bytes (larger → 413, which a registry retries: raise it rather than shrink envelopes)',
      ),
    receiver: z
      .enum(['on', 'off'])
      .default('on')
      .describe('Run the HTTP receiver (off: only --follow/--input feed the pipeline)'),
    dataDir: z
      .string()
      .min(1)
      .default('.data')
      .describe(
        'Data directory: bus logs and offsets, detector state, alert state, storage samples, follow and --input read positions, alerts API token',
      ),
    follow: list.default([]).describe('Registry log files to tail (rotation handled), comma list / repeatable flag'),
    input: list
      .default([])
      .describe(
        'Recorded input files read once (registry logs, notification envelopes, Harbor webhooks); a restart skips a file read completely and resumes one read partly (positions in <data-dir>/inputs)',
      ),
    findings: optionalPath.describe('NDJSON file findings are appended to (default: stdout)'),
    alertsConfig: optionalPath.describe(
      'Alerts configuration file (YAML/JSON, Alertmanager-style); default: console channel on stderr',
    ),
    detectionConfig: optionalPath.describe(
      'Detection configuration file (YAML/JSON: settings + rules.params/disabled); default: built-in',
    ),
    kibanaUrl: z
      .url({ protocol: /^https?$/ })
      .optional()
      .describe(
        'Kibana base URL for the Discover link of each finding (overrides settings.kibanaUrl of the detection config); none: findings carry no link',
      ),
    alertsApi: z
      .enum(['on', 'off'])
      .default('on')
      .describe('Run the alerts silences API (`regwatch silence add|list|expire` talks to it)'),
    alertsHost: z.string().min(1).default('127.0.0.1').describe('Silences API listen address (loopback by default)'),
    alertsPort: z.coerce
      .number()
      .int()
      .min(0)
      .max(65_535)
      .default(9095)
      .describe('Silences API listen port (0 = any free port; written to <data-dir>/alerts-api.url)'),
    alertsToken: list
      .pipe(z.array(z.string().min(16, 'alerts API tokens need 16+ characters')))
      .default([])
      .describe(
        'Bearer token(s) of the silences API, comma list, 16+ characters (secret); none = generated once into <data-dir>/alerts-api.token (mode 0600)',
      ),
    storageCron: z
      .string()
      .default('20 */6 * * *')
      .refine((v) => cron.validate(v), 'not a valid cron expression (node-cron syntax)')
      .describe('When the storage exhaustion forecast runs over the samples in <data-dir>/storage (node-cron)'),
    storageStaleAfter: staleAfterSetting.describe(
      "Age of a scope's newest storage sample (e.g. 36h, 2d, 90m, seconds) beyond which the forecast raises storage.data_stale instead of capacity findings; default: the larger of 1 day and 2 × the sampling interval",
    ),
    partitions: z.coerce.number().int().min(1).max(64).default(3).describe('Partitions of the in-process topics'),
    logLevel: z.enum(LOG_LEVELS).default('info').describe('pino log level (logs go to stderr as JSON)'),
    shutdownTimeoutMs: z.coerce
      .number()
      .int()
      .positive()
      .default(20_000)
      .describe('Max time for the graceful shutdown sequence, ms'),
  })
  .strict()
  .superRefine((c, ctx) => {
    // Runs even when single settings failed (EVERY_PROBLEM): one pass lists every problem.
    const failed = failedKeys(ctx);
    if (['host', 'tokens', 'receiver', 'follow', 'input'].some((k) => failed.has(k))) return;
    const loopback = c.host === '127.0.0.1' || c.host === '::1' || c.host === 'localhost';
    if (c.receiver === 'on' && !loopback && c.tokens.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['tokens'],
        message: `a bearer token is required to listen on the non-loopback address ${c.host}`,
      });
    }
    if (c.receiver === 'off' && c.follow.length === 0 && c.input.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['receiver'],
        message: 'with the receiver off, give --follow or --input (nothing would feed the pipeline)',
      });
    }
  }, EVERY_PROBLEM);

export type EmbeddedConfig = z.output<typeof embeddedConfigSchema>;
export type EmbeddedConfigInput = z.input<typeof embeddedConfigSchema>;

/** Environment variable of each setting (the CLI reads these; flags override). */
export const EMBEDDED_ENV: Readonly<Record<keyof EmbeddedConfigInput, string>> = {
  host: 'REGWATCH_HOST',
  port: 'REGWATCH_PORT',
  tokens: 'REGWATCH_TOKENS',
  bodyLimitBytes: 'REGWATCH_BODY_LIMIT_BYTES',
  receiver: 'REGWATCH_RECEIVER',
  dataDir: 'REGWATCH_DATA_DIR',
  follow: 'REGWATCH_FOLLOW',
  input: 'REGWATCH_INPUT',
  findings: 'REGWATCH_FINDINGS',
  alertsConfig: 'REGWATCH_ALERTS_CONFIG',
  detectionConfig: 'REGWATCH_DETECTION_CONFIG',
  kibanaUrl: 'REGWATCH_KIBANA_URL',
  alertsApi: 'REGWATCH_ALERTS_API',
  alertsHost: 'REGWATCH_ALERTS_HOST',
  alertsPort: 'REGWATCH_ALERTS_PORT',
  alertsToken: 'REGWATCH_ALERTS_TOKEN',
  storageCron: 'REGWATCH_STORAGE_CRON',
  storageStaleAfter: 'REGWATCH_STORAGE_STALE_AFTER',
  partitions: 'REGWATCH_PARTITIONS',
  logLevel: 'REGWATCH_LOG_LEVEL',
  shutdownTimeoutMs: 'REGWATCH_SHUTDOWN_TIMEOUT_MS',
};

/**
 * Merges environment values (`EMBEDDED_ENV` names) under flag values (undefined flags ignored)
 * and validates the result.
 * @throws AppError CONFIG_INVALID listing every problem, each named by its setting.
 */
export function loadEmbeddedConfig(
  flags: Readonly<Record<string, unknown>>,
  env: Readonly<Record<string, string | undefined>>,
): EmbeddedConfig {
  const merged: Record<string, unknown> = {};
  for (const [key, name] of Object.entries(EMBEDDED_ENV)) {
    const v = env[name];
    if (v !== undefined && v !== '') merged[key] = v;
  }
  for (const [k, v] of Object.entries(flags)) {
    if (v === undefined) continue;
    if (Array.isArray(v) && v.length === 0) continue;
    merged[k] = v;
  }
  return loadConfig(embeddedConfigSchema, merged, 'regwatch run settings');
}
