/**
 * One error class for the whole project. Every error carries a catalogued `code`
 * (`<AREA>_<WHAT>`, UPPER_SNAKE) and whether retrying the same operation may succeed.
 * Expected delivery failures are `Outcome` values (see outcome.ts); exceptions are for bugs,
 * boot failures and broken dependencies.
 */
export const ERROR_CODES = {
  CONFIG_INVALID: 'Configuration failed validation; every problem is listed in the message.',
  USAGE_INVALID:
    'The command line is wrong (unknown command or option, missing argument or required option, value not among the choices); `--help` shows the usage.',
  INPUT_UNREADABLE: 'An input file or stream could not be read.',
  OUTPUT_UNWRITABLE: 'An output file could not be opened or written.',
  KAFKA_UNAVAILABLE: 'The Kafka cluster could not be reached or did not acknowledge a write.',
  KAFKA_MESSAGE_TOO_LARGE: 'A message is larger than the broker accepts (message.max.bytes); retrying cannot help.',
  ES_UNAVAILABLE: 'Elasticsearch could not be reached.',
  ES_AUTH_FAILED: 'Elasticsearch rejected the configured credentials (401/403).',
  ES_BULK_ITEM_FAILED: 'Elasticsearch rejected a document in a bulk request.',
  ES_SETUP_FAILED: 'Installing Elasticsearch templates or policies failed.',
  KIBANA_IMPORT_FAILED: 'Kibana reported errors while importing saved objects.',
  KIBANA_UNAVAILABLE:
    'Kibana could not be reached (connection refused, DNS failure, timeout); retriable, nothing was imported by that request.',
  FORECAST_INPUT_INVALID: 'A forecast series is empty, unsorted, non-numeric or too short.',
  CHART_FONT_MISSING: 'The TTF font used to render charts to PNG was not found (install fonts-dejavu-core).',
  STORAGE_COLLECT_FAILED: 'Storage usage could not be measured (statfs or tree walk failed, Harbor API error).',
  FINDING_INVALID: 'A finding does not match the Finding contract (shared/src/model/finding.ts) or is not JSON.',
  BASELINE_INPUT_INVALID: 'A baseline series is empty or has non-numeric rows.',
  ALERTS_CHANNEL_REJECTED: 'An alert channel permanently rejected a notification.',
  ALERTS_SILENCE_INVALID: 'A silence request is malformed.',
  ALERTS_API_FAILED:
    'The alerts service API rejected the request (401 bad token, 404 unknown id) or could not be reached.',
  REGISTRY_START_FAILED: 'The demo registry (docker-registry) could not be started or did not become ready.',
  DEMO_TOOL_MISSING: 'A tool the demo drives (skopeo, htpasswd, docker-registry) is not installed.',
  DEMO_TOOL_FAILED: 'A tool the demo drives timed out or failed unexpectedly.',
  EMBEDDED_START_FAILED: 'The embedded pipeline could not start (port in use, data directory locked or unwritable).',
  HTTP_LISTEN_FAILED:
    'A service HTTP listener (receiver, alerts API, health/readiness/metrics endpoints) could not listen on its host/port (address in use, no permission, unknown host).',
  INTERNAL: 'A bug: an invariant did not hold.',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface AppErrorOptions {
  /** True when the same call may succeed later (network, 429, 503). Defaults to false. */
  retriable?: boolean;
  cause?: unknown;
  /** Extra, non-secret facts for logs (never credentials or URLs with tokens). */
  context?: Record<string, unknown>;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;
  readonly context: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.retriable = options.retriable ?? false;
    this.context = options.context;
  }
}

/** True when `err` is an AppError marked retriable, or a network-level error worth retrying. */
export function isRetriable(err: unknown): boolean {
  if (err instanceof AppError) return err.retriable;
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN'].includes(code);
}

/**
 * Process exit status for an error code, for every entry point (CLI commands and the services'
 * main.ts): 2 for `*_INVALID` (the settings or input must change; restarting cannot help), else 1.
 */
export function exitStatusForCode(code: string): 1 | 2 {
  return code.endsWith('_INVALID') ? 2 : 1;
}
