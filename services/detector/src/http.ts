import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { AppError } from '../../../shared/src/errors.ts';
import type { Logger } from '../../../shared/src/logger.ts';

/** Readiness as `/readyz` reports it: `reason` says why not (e.g. `starting`, `stopping`). */
export interface Readiness {
  readonly ready: boolean;
  readonly reason?: string;
}

export interface DetectorHttpOptions {
  readonly logger: Logger;
  /** The detector's metrics registry (metrics.ts), rendered on `/metrics`. */
  readonly registry: Registry;
  /** Asked on every `/readyz`. */
  readonly ready: () => Readiness;
}

/**
 * The detector service's operational HTTP endpoints (Fastify 5, no authentication, like the
 * ingest receiver's):
 * - `GET /healthz` → 200 `{status: "ok"}` while the process runs (liveness);
 * - `GET /readyz` → 200 `{status: "ready"}` once the detector started and is not stopping, else
 *   503 `{status: "not ready", reason}`;
 * - `GET /metrics` → Prometheus text exposition format (prom-client `registry.metrics()`).
 * Requests are not logged (scrapes and probes every few seconds). While the server closes, new
 * requests get 503. The caller listens (`listenDetectorHttp`); tests may use `inject`.
 */
export function buildDetectorHttp(opts: DetectorHttpOptions): FastifyInstance {
  const app = Fastify({
    loggerInstance: opts.logger.child({ component: 'detector-http' }) as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
  });
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const r = opts.ready();
    return r.ready
      ? reply.code(200).send({ status: 'ready' })
      : reply.code(503).send({ status: 'not ready', reason: r.reason ?? 'not ready' });
  });
  app.get('/metrics', async (_req, reply) => {
    const body = await opts.registry.metrics();
    return reply.type(opts.registry.contentType).send(body);
  });
  return app;
}

/**
 * Binds `app` to `host`:`port` (`port` 0 = any free port) and returns the bound base URL
 * (e.g. `http://127.0.0.1:9096`).
 * @throws AppError HTTP_LISTEN_FAILED when the address cannot be bound (address in use, EACCES,
 *   EADDRNOTAVAIL, unknown host); not retriable, as in ingest and alerts: the operator frees the
 *   port or changes DETECTOR_HTTP_HOST/DETECTOR_HTTP_PORT.
 */
export async function listenDetectorHttp(app: FastifyInstance, host: string, port: number): Promise<string> {
  try {
    return await app.listen({ host, port });
  } catch (err) {
    const code = (err as { code?: string }).code;
    throw new AppError(
      'HTTP_LISTEN_FAILED',
      `detector HTTP endpoint cannot listen on ${host}:${port} (${code ?? (err as Error).message}); free the port or set DETECTOR_HTTP_HOST/DETECTOR_HTTP_PORT`,
      { cause: err, retriable: false, context: { host, port, code } },
    );
  }
}
