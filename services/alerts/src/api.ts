import { timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { AppError } from '../../../shared/src/errors.ts';
import type { Logger } from '../../../shared/src/logger.ts';
import type { Clock } from './clock.ts';
import { createSilence, silenceJson, silenceActive } from './silences.ts';
import type { AlertStore } from './store/types.ts';

export interface ApiOptions {
  readonly store: AlertStore;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Accepted bearer tokens (at least one; compared in constant time). */
  readonly tokens: readonly string[];
  readonly registry?: Registry;
  /**
   * Readiness for `GET /readyz`: `undefined` when ready, else the reason (`starting`, `stopping`).
   * Absent: always ready once listening (the embedded API).
   */
  readonly notReady?: () => string | undefined;
}

function tokenOk(header: string | undefined, tokens: readonly string[]): boolean {
  const m = /^Bearer (.+)$/.exec(header ?? '');
  if (!m) return false;
  const got = Buffer.from(m[1] ?? '');
  return tokens.some((t) => {
    const want = Buffer.from(t);
    return want.length === got.length && timingSafeEqual(want, got);
  });
}

/**
 * The alerts service HTTP API (Fastify), modelled on Alertmanager's `/api/v2/silences`:
 * - `POST /api/v1/silences` body `{matchers: ["rule=pull.volume_spike"], duration: "2h" | endsAt, startsAt?, createdBy, comment}` → 201 silence;
 * - `GET /api/v1/silences[?state=active|pending|expired]` → 200 `{silences: […]}`;
 * - `DELETE /api/v1/silences/:id` → 200 expired silence (404 unknown id);
 * - `GET /healthz` (no auth); `GET /readyz` (no auth): 200 `{status: "ready"}`, or 503
 *   `{reason: "starting" | "stopping"}` while the consumer is not subscribed to the findings topic;
 *   `GET /metrics` (Prometheus text, bearer-protected).
 * Every `/api` and `/metrics` request needs `Authorization: Bearer <token>` (401 otherwise).
 * Errors: `{error: <code>, message}` with 400 ALERTS_SILENCE_INVALID, 401, 404, 503 (store down).
 */
export function buildApi(opts: ApiOptions): FastifyInstance {
  if (opts.tokens.length === 0 || opts.tokens.some((t) => t.length < 16))
    throw new AppError('CONFIG_INVALID', 'the alerts API needs at least one bearer token of 16+ characters');
  const app = Fastify({
    loggerInstance: opts.logger.child({ component: 'alerts-api' }) as FastifyBaseLogger,
    bodyLimit: 64 * 1024,
  });
  app.addHook('onRequest', async (req, reply) => {
    if (req.url === '/healthz' || req.url === '/readyz') return;
    if (!tokenOk(req.headers.authorization, opts.tokens)) {
      await reply
        .code(401)
        .header('www-authenticate', 'Bearer')
        .send({ error: 'UNAUTHORIZED', message: 'missing or wrong bearer token' });
    }
  });
  app.setErrorHandler(async (err, _req, reply) => {
    if (err instanceof AppError) {
      const status = err.code === 'ALERTS_SILENCE_INVALID' ? 400 : err.retriable ? 503 : 500;
      return reply.code(status).send({ error: err.code, message: err.message });
    }
    const e = err as { statusCode?: number; message?: string };
    if (e.statusCode && e.statusCode < 500)
      return reply.code(e.statusCode).send({ error: 'BAD_REQUEST', message: e.message });
    opts.logger.error({ err }, 'alerts API error');
    return reply.code(500).send({ error: 'INTERNAL', message: 'internal error' });
  });
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const reason = opts.notReady?.();
    return reason === undefined ? { status: 'ready' } : reply.code(503).send({ reason });
  });
  app.get('/metrics', async (_req, reply) => {
    if (!opts.registry) return reply.code(404).send({ error: 'NOT_FOUND', message: 'no metrics registry' });
    return reply.header('content-type', opts.registry.contentType).send(await opts.registry.metrics());
  });
  app.post('/api/v1/silences', async (req, reply) => {
    const s = createSilence(req.body, opts.clock.now());
    await opts.store.putSilence(s);
    opts.logger.info({ silence: s.id, createdBy: s.createdBy }, 'silence created');
    return reply.code(201).send(silenceJson(s, opts.clock.now()));
  });
  app.get('/api/v1/silences', async (req) => {
    const state = (req.query as { state?: string }).state;
    const now = opts.clock.now();
    const all = (await opts.store.listSilences())
      .map((s) => silenceJson(s, now))
      .filter((s) => !state || s['status'] === state);
    return { silences: all.sort((a, b) => String(a['endsAt']).localeCompare(String(b['endsAt']))) };
  });
  app.delete('/api/v1/silences/:id', async (req, reply) => {
    const { id } = req.params as { id: string };
    const s = await opts.store.getSilence(id);
    if (!s) return reply.code(404).send({ error: 'NOT_FOUND', message: `no silence ${id}` });
    const now = opts.clock.now();
    const expired =
      silenceActive(s, now) || s.startsAt > now ? { ...s, endsAt: Math.max(s.startsAt, now), expiredAt: now } : s;
    await opts.store.putSilence(expired);
    opts.logger.info({ silence: id }, 'silence expired');
    return silenceJson(expired, now + 1);
  });
  return app;
}
