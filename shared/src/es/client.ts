import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, errors } from '@elastic/elasticsearch';
import { z } from 'zod';
import { AppError } from '../errors.ts';

/**
 * Elasticsearch connection settings (a slice of a service's config; entry points build it from
 * env/flags and validate it with `loadConfig(esConfigSchema, …)`).
 *
 * - `nodes`: one or more base URLs (`http://127.0.0.1:9200`).
 * - Credentials: `username` + `password` (basic auth) **or** `apiKey` (base64 `id:key` or the
 *   encoded form Kibana shows); never both.
 * - TLS: `caFile` (PEM path) and `tlsRejectUnauthorized` (default true).
 * - `requestTimeoutMs`: per-request timeout in milliseconds (default 30 000).
 */
export const esConfigSchema = z
  .object({
    nodes: z.array(z.url()).min(1, 'at least one Elasticsearch node URL'),
    username: z.string().min(1).optional(),
    password: z.string().min(1).optional(),
    apiKey: z.string().min(1).optional(),
    caFile: z.string().min(1).optional(),
    tlsRejectUnauthorized: z.boolean().default(true),
    requestTimeoutMs: z.number().int().positive().default(30_000),
    maxRetries: z.number().int().min(0).default(3),
  })
  .superRefine((c, ctx) => {
    if ((c.username === undefined) !== (c.password === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'username and password must be given together', path: ['password'] });
    }
    if (c.apiKey !== undefined && c.username !== undefined) {
      ctx.addIssue({ code: 'custom', message: 'give either apiKey or username/password, not both', path: ['apiKey'] });
    }
  });

export type EsConfig = z.infer<typeof esConfigSchema>;
/** Input shape before defaults are applied (what callers may pass to `esConfigSchema.parse`). */
export type EsConfigInput = z.input<typeof esConfigSchema>;

/**
 * Creates an `@elastic/elasticsearch` 9.x client from a validated {@link EsConfig}.
 * Credentials go only into the client's `auth` option; nothing here logs them.
 * @throws AppError CONFIG_INVALID when `caFile` cannot be read.
 */
export function createEsClient(cfg: EsConfig): Client {
  let ca: string | undefined;
  if (cfg.caFile !== undefined) {
    try {
      ca = readFileSync(cfg.caFile, 'utf8');
    } catch (err) {
      throw new AppError('CONFIG_INVALID', `cannot read Elasticsearch CA file ${cfg.caFile}`, { cause: err });
    }
  }
  const auth =
    cfg.apiKey !== undefined
      ? { apiKey: cfg.apiKey }
      : cfg.username !== undefined && cfg.password !== undefined
        ? { username: cfg.username, password: cfg.password }
        : undefined;
  return new Client({
    nodes: [...cfg.nodes],
    ...(auth ? { auth } : {}),
    tls: { ...(ca !== undefined ? { ca } : {}), rejectUnauthorized: cfg.tlsRejectUnauthorized },
    requestTimeout: cfg.requestTimeoutMs,
    maxRetries: cfg.maxRetries,
  });
}

/** The node URLs of a config with any `user:pass@` part removed (safe to log). */
export function redactedNodes(cfg: Pick<EsConfig, 'nodes'>): string[] {
  return cfg.nodes.map((n) => {
    try {
      const u = new URL(n);
      u.username = '';
      u.password = '';
      return u.toString();
    } catch {
      return '[invalid url]';
    }
  });
}

/**
 * Maps an error thrown by the ES client to an AppError:
 * 401/403 → `ES_AUTH_FAILED` (not retriable); connection refused/reset, timeouts, 429 and 5xx →
 * `ES_UNAVAILABLE` (retriable); anything else → `fallback` (not retriable).
 * The message never contains credentials (the client's meta is not copied).
 */
export function toEsAppError(
  err: unknown,
  what: string,
  fallback: 'ES_SETUP_FAILED' | 'ES_UNAVAILABLE' = 'ES_UNAVAILABLE',
): AppError {
  if (err instanceof AppError) return err;
  if (err instanceof errors.ResponseError) {
    const status = err.statusCode ?? 0;
    const reason = esErrorReason(err);
    if (status === 401 || status === 403) {
      return new AppError(
        'ES_AUTH_FAILED',
        `${what}: Elasticsearch answered ${status} (${reason}); check the username/password or API key and its privileges`,
        { cause: err, retriable: false, context: { status } },
      );
    }
    if (status === 429 || status >= 500) {
      return new AppError('ES_UNAVAILABLE', `${what}: Elasticsearch answered ${status} (${reason})`, {
        cause: err,
        retriable: true,
        context: { status },
      });
    }
    return new AppError(fallback, `${what}: Elasticsearch answered ${status} (${reason})`, {
      cause: err,
      retriable: false,
      context: { status },
    });
  }
  if (
    err instanceof errors.ConnectionError ||
    err instanceof errors.TimeoutError ||
    err instanceof errors.NoLivingConnectionsError
  ) {
    return new AppError('ES_UNAVAILABLE', `${what}: cannot reach Elasticsearch (${err.message})`, {
      cause: err,
      retriable: true,
    });
  }
  const msg = err instanceof Error ? err.message : String(err);
  return new AppError(fallback, `${what}: ${msg}`, { cause: err, retriable: false });
}

/** A short reason (`type: reason`) from an ES error response body, without request details. */
export function esErrorReason(err: InstanceType<typeof errors.ResponseError>): string {
  const body = err.body as { error?: { type?: string; reason?: string } | string } | undefined;
  if (body && typeof body.error === 'object' && body.error !== null) {
    return [body.error.type, body.error.reason].filter(Boolean).join(': ') || 'no reason given';
  }
  if (body && typeof body.error === 'string') return body.error;
  return 'no reason given';
}

export interface WaitOptions {
  /** Give up after this many milliseconds (default 60 000). */
  timeoutMs?: number;
  /** Pause between attempts in milliseconds (default 500). */
  intervalMs?: number;
  /** Cluster status to wait for (default `yellow`). */
  waitForStatus?: 'green' | 'yellow';
  /** Aborting it ends the wait at once (a shutdown during start-up): rejects with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * Waits until the cluster answers `GET _cluster/health?wait_for_status=yellow` (readiness via
 * cluster health, because some distributions answer `GET /` with 405, so `ping()` is unusable).
 *
 * @returns the health status reached.
 * @throws AppError ES_AUTH_FAILED (not retriable) at once on 401/403;
 *   ES_UNAVAILABLE (retriable) when the cluster is still unreachable or red after `timeoutMs`;
 *   `opts.signal.reason` as soon as the signal is aborted.
 */
export async function waitForElasticsearch(client: Client, opts: WaitOptions = {}): Promise<string> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const intervalMs = opts.intervalMs ?? 500;
  const deadline = Date.now() + timeoutMs;
  let last: AppError | undefined;
  const signal = opts.signal;
  for (;;) {
    signal?.throwIfAborted();
    const left = deadline - Date.now();
    try {
      const health = await client.cluster.health(
        {
          wait_for_status: opts.waitForStatus ?? 'yellow',
          timeout: `${Math.max(1, Math.min(5, Math.floor(left / 1000)))}s`,
        },
        { requestTimeout: Math.max(1000, Math.min(10_000, left)), maxRetries: 0, ...(signal ? { signal } : {}) },
      );
      if (!health.timed_out && health.status !== 'red') return health.status;
      last = new AppError('ES_UNAVAILABLE', `Elasticsearch cluster status is ${health.status}`, { retriable: true });
    } catch (err) {
      signal?.throwIfAborted();
      const e =
        err instanceof errors.ResponseError && err.statusCode === 408
          ? new AppError('ES_UNAVAILABLE', 'Elasticsearch cluster health timed out', { retriable: true, cause: err })
          : toEsAppError(err, 'waiting for Elasticsearch');
      if (e.code === 'ES_AUTH_FAILED') throw e;
      last = e;
    }
    if (Date.now() + intervalMs > deadline) {
      throw new AppError('ES_UNAVAILABLE', `Elasticsearch not ready after ${timeoutMs} ms: ${last.message}`, {
        retriable: true,
        cause: last,
      });
    }
    await sleep(intervalMs, undefined, signal ? { signal } : {}).catch(() => signal?.throwIfAborted());
  }
}
