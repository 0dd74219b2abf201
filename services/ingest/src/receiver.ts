import { hash, timingSafeEqual } from 'node:crypto';
import { gunzipSync, inflateSync } from 'node:zlib';
import Fastify, { LogController } from 'fastify';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import { AppError } from '../../../shared/src/errors.ts';
import type { Logger } from '../../../shared/src/logger.ts';
import type { OutgoingMessage, Publisher } from '../../../shared/src/bus/types.ts';
import { createDocumentGrouper, type StreamUnit } from '../../../shared/src/io/json-documents.ts';
import type { IngestTopics, ReceiverConfig } from './config.ts';
import { parseStorageSamples } from './documents.ts';
import { isJsonText } from './json-syntax.ts';
import type { IngestMetrics } from './metrics.ts';

/** Media types accepted per route (parameters such as `; charset=utf-8` are ignored). */
export const ACCEPTED_MEDIA_TYPES = {
  /** Distribution sends its envelope media type (v1; v3 registries also v2) — docs: notifications.md. */
  notifications: [
    'application/vnd.docker.distribution.events.v1+json',
    'application/vnd.docker.distribution.events.v2+json',
    'application/json',
  ],
  /** Harbor webhooks (`application/json`; CloudEvents format since Harbor 2.10). */
  harbor: ['application/json', 'application/cloudevents+json'],
  /** Log lines: NDJSON or plain text, one line per record. */
  logs: ['application/x-ndjson', 'application/jsonl', 'text/plain', 'application/json'],
  storage: ['application/json'],
} as const;

export interface ReadyState {
  readonly ready: boolean;
  readonly checks: Readonly<Record<string, string>>;
}

export interface ReceiverDeps {
  readonly publisher: Publisher;
  readonly topics: Pick<IngestTopics, 'notifications' | 'logs' | 'harborWebhooks' | 'storage'>;
  readonly config: ReceiverConfig;
  readonly logger: Logger;
  readonly metrics: IngestMetrics;
  /** Readiness for `/readyz` (Kafka reachable, …). */
  readonly ready: () => ReadyState;
  /** Clock for `regwatch.received_at` headers (tests pin it). */
  readonly now?: () => Date;
  /**
   * How to raise the body limit in the mode this receiver runs in, named in the 413 message
   * (default the ingest service's `raise RECEIVER_BODY_LIMIT_BYTES`; `regwatch run` names its own
   * setting).
   */
  readonly bodyLimitHint?: string;
}

/** Message headers the receiver attaches to every raw message (read back by the indexer). */
export const RAW_HEADERS = {
  contentType: 'content-type',
  receivedAt: 'regwatch.received_at',
  route: 'regwatch.route',
  /**
   * On each line of a POST /v1/logs body: `<first 16 hex of the body's SHA-256>:<line index>`.
   * A collector that sends the same body again (its retry after a 503 or a timeout) gives the
   * same references, so the line's dedupe id (NormalizeContext.lineRef) and its document are
   * the same: a retry never stores a line twice.
   */
  lineRef: 'regwatch.line_ref',
} as const;

const sha256 = (s: string): Buffer => hash('sha256', s, 'buffer');

/**
 * Constant-time bearer check: compares SHA-256 digests (equal length) of the presented token
 * against every configured token without an early exit.
 */
export function bearerMatches(header: string | undefined, tokenDigests: readonly Buffer[]): boolean {
  if (!header) return false;
  const m = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
  if (!m) return false;
  const presented = sha256(m[1]!);
  let ok = false;
  for (const d of tokenDigests) ok = timingSafeEqual(presented, d) || ok;
  return ok;
}

const mediaTypeOf = (req: FastifyRequest): string =>
  (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();

/** Whether the body is one JSON document (a syntax check only: the bytes are forwarded as sent). */
const isJson = (body: Buffer): boolean => isJsonText(body);

/**
 * Splits a logs body (NDJSON or plain lines, `\n` or `\r\n`) into its non-blank lines.
 * The bytes of each line are kept as sent.
 */
export function splitLines(body: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let start = 0;
  for (let i = 0; i <= body.length; i++) {
    if (i === body.length || body[i] === 0x0a) {
      let end = i;
      if (end > start && body[end - 1] === 0x0d) end--;
      const line = body.subarray(start, end);
      if (line.some((b) => b !== 0x20 && b !== 0x09)) out.push(line);
      start = i + 1;
    }
  }
  return out;
}

/**
 * The raw messages of a logs body: one per non-blank line (see {@link splitLines}), except that a
 * pretty-printed JSON document inside the body (a notification envelope or Harbor payload pasted
 * into a log stream, an audit API page) is one message with its lines, found by
 * shared/src/io/json-documents.ts — cut into lines, each line would be dead-lettered on its own.
 * @param maxBytes the largest document kept whole (bytes).
 */
export function messagesOfLines(body: Buffer, maxBytes: number): Buffer[] {
  const grouper = createDocumentGrouper((l: Buffer) => l, maxBytes);
  const out: Buffer[] = [];
  const take = (units: StreamUnit<Buffer>[]): void => {
    for (const u of units) out.push(u.kind === 'line' ? u.line : u.bytes);
  };
  for (const line of splitLines(body)) take(grouper.push(line));
  take(grouper.flush());
  return out;
}

/**
 * Builds the ingest receiver (Fastify 5). Routes:
 * - `POST /v1/notifications` — a Distribution notification envelope (notifications.md), kept
 *   byte-for-byte in `registry.notifications`;
 * - `POST /v1/harbor` — a Harbor webhook payload → `harbor.webhooks`;
 * - `POST /v1/logs` — NDJSON or plain log lines → one `registry.logs` message per line (an
 *   `application/json` body that is one JSON document → one message);
 * - every POST body may be sent with `Content-Encoding: gzip` or `deflate` (decompressed before
 *   anything else; the body limit applies to the decompressed size too); another coding is 415;
 * - `POST /v1/storage` — a storage sample `{timestamp, used_bytes, capacity_bytes, scope}` (or an
 *   array of them) → one `regwatch.storage` message per sample, key = scope; an invalid sample is
 *   400 `STORAGE_SAMPLE_INVALID` with every problem listed (`problems`), nothing published;
 * - `GET /healthz`, `/readyz`, `/metrics` (open, no token).
 *
 * Status rules: 202 only after Kafka acknowledged every message; 503 + `Retry-After` when it did
 * not; 401 bad/missing token; 413 body over the limit; 415 wrong media type or content coding; 400 for a body
 * that is not JSON at all and for invalid storage samples (registry JSON that we cannot normalize is accepted and dead-lettered later, since a
 * 4xx makes the registry resend the same envelope forever — case C16). Tokens and Authorization
 * headers are never logged. The caller calls `listen`; tests use `inject`.
 */
export function buildReceiver(deps: ReceiverDeps) {
  const { config, metrics, publisher, topics } = deps;
  const log = deps.logger.child({ component: 'receiver' });
  const now = deps.now ?? (() => new Date());
  const bodyLimitHint = deps.bodyLimitHint ?? 'raise RECEIVER_BODY_LIMIT_BYTES';
  const app = Fastify({
    loggerInstance: log,
    logController: new LogController({ disableRequestLogging: true }),
    // `req.log` is the receiver's logger itself, not a pino child with `reqId` built for every
    // request (most requests never log): the few request logs below carry `reqId` themselves.
    childLoggerFactory: (logger) => logger,
    bodyLimit: config.bodyLimitBytes,
    trustProxy: false,
    return503OnClosing: true,
  });

  // Keep every body as raw bytes: raw topics store the original bytes, and status rules (415 vs
  // 400) are decided per route below rather than by a global JSON parser.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  // Labelled metric children cached per route/status (prom-client hashes a label object on every
  // `inc(labels)`); a callback hook, no promise per request.
  const requestCounters = new Map<string, { inc(): void }>();
  const durationByRoute = new Map<string, { observe(v: number): void }>();
  app.addHook('onResponse', (req, reply, done) => {
    const route = req.routeOptions.url ?? 'unknown';
    const status = reply.statusCode;
    const key = `${status} ${route}`;
    let counter = requestCounters.get(key);
    if (!counter) {
      counter = metrics.requests.labels({ route, status_code: String(status) });
      requestCounters.set(key, counter);
    }
    counter.inc();
    let duration = durationByRoute.get(route);
    if (!duration) {
      duration = metrics.requestDuration.labels({ route });
      durationByRoute.set(route, duration);
    }
    duration.observe(reply.elapsedTime / 1000);
    done();
  });

  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err instanceof AppError && err.code === 'KAFKA_UNAVAILABLE') {
      metrics.kafkaUp.set(0);
      req.log.warn({ reqId: req.id, code: err.code, route: req.routeOptions.url }, 'kafka unavailable; answering 503');
      return reply
        .code(503)
        .header('retry-after', String(config.retryAfterSeconds))
        .send({ error: 'KAFKA_UNAVAILABLE', message: 'event bus unavailable, retry later' });
    }
    if (err instanceof AppError && err.code === 'KAFKA_MESSAGE_TOO_LARGE') {
      req.log.warn(
        { reqId: req.id, code: err.code, route: req.routeOptions.url },
        'body larger than the broker accepts; answering 413',
      );
      return reply.code(413).send({ error: err.code, message: 'payload larger than the event bus accepts' });
    }
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      req.log.warn(
        { reqId: req.id, code: err.code, route: req.routeOptions.url, limit: config.bodyLimitBytes },
        'body over the limit; answering 413',
      );
      return reply.code(413).send({
        error: 'BODY_TOO_LARGE',
        message: `request body larger than the receiver's limit of ${config.bodyLimitBytes} bytes (${bodyLimitHint})`,
        limit_bytes: config.bodyLimitBytes,
      });
    }
    const status =
      typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) req.log.error({ reqId: req.id, err }, 'receiver error');
    return reply
      .code(status)
      .send({ error: err.code ?? 'INTERNAL', message: status === 500 ? 'internal error' : err.message });
  });

  // Unknown routes answer in the receiver's own error shape too (Fastify's default is
  // `{message, error: "Not Found", statusCode}`).
  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).send({ error: 'NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0]}` });
  });
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const r = deps.ready();
    return reply.code(r.ready ? 200 : 503).send({ status: r.ready ? 'ready' : 'not ready', checks: r.checks });
  });
  app.get('/metrics', async (_req, reply) => {
    const body = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(body);
  });

  const tokenDigests = config.tokens.map(sha256);

  /** Last value this receiver gave `regwatch_receiver_kafka_up` (only it sets the gauge after start). */
  let kafkaUp: boolean | undefined;

  /**
   * Publishes and answers 202 once Kafka acknowledged (the handler returns nothing and the reply
   * is sent from the promise callbacks: no async frame per request); a failed write goes to the
   * error handler (503 / 413).
   */
  function publishRaw(reply: FastifyReply, topic: string, messages: OutgoingMessage[]): void {
    publisher.publish(topic, messages).then(
      () => {
        if (kafkaUp !== true) {
          kafkaUp = true;
          metrics.kafkaUp.set(1);
        }
        void reply.code(202).send({ accepted: messages.length });
      },
      (err: unknown) => {
        if (err instanceof AppError && err.code === 'KAFKA_UNAVAILABLE') kafkaUp = false;
        void reply.send(err);
      },
    );
  }

  /** ISO-8601 receive time; with the real clock, one string per millisecond rather than per request. */
  let isoMs = -1;
  let isoText = '';
  const receivedAt = deps.now
    ? (): string => now().toISOString()
    : (): string => {
        const t = Date.now();
        if (t !== isoMs) {
          isoMs = t;
          isoText = new Date(t).toISOString();
        }
        return isoText;
      };

  const rawHeaders = (mediaType: string, route: string): Record<string, string> => ({
    [RAW_HEADERS.contentType]: mediaType,
    [RAW_HEADERS.receivedAt]: receivedAt(),
    [RAW_HEADERS.route]: route,
  });

  /**
   * Partition key of raw messages: one stream per sender (`X-Regwatch-Source` header, else the
   * client address), so the lines of one registry stay in order on one partition — a failed
   * htpasswd login is two consecutive lines that must be normalized together.
   */
  const sourceKey = (req: FastifyRequest, route: string): string => {
    const named = req.headers['x-regwatch-source'];
    return `${route}:${typeof named === 'string' && named.length > 0 ? named.slice(0, 200) : req.ip}`;
  };

  /** The request's media type when the route accepts it; @throws 415 UNSUPPORTED_MEDIA_TYPE otherwise. */
  function checkMedia(req: FastifyRequest, accepted: readonly string[]): string {
    const mediaType = mediaTypeOf(req);
    if (accepted.includes(mediaType)) return mediaType;
    throw Object.assign(
      new Error(`unsupported media type "${mediaType || '(none)'}"; accepted: ${accepted.join(', ')}`),
      { statusCode: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
    );
  }
  /**
   * The request body as sent, decompressed when it came with `Content-Encoding: gzip` (or
   * `x-gzip`, `deflate`; log shippers such as Fluent Bit compress), at most the body limit once
   * decompressed (a zip bomb is 413 like any large body). Another coding is 415: accepting bytes
   * we cannot read would answer 202 and dead-letter every line.
   */
  function bodyOf(req: FastifyRequest): Buffer {
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const coding = (req.headers['content-encoding'] ?? '').trim().toLowerCase();
    if (coding === '' || coding === 'identity') return body;
    if (coding !== 'gzip' && coding !== 'x-gzip' && coding !== 'deflate')
      throw Object.assign(new Error(`unsupported content-encoding "${coding}"; accepted: gzip, deflate, identity`), {
        statusCode: 415,
        code: 'UNSUPPORTED_MEDIA_TYPE',
      });
    try {
      const opts = { maxOutputLength: config.bodyLimitBytes };
      return coding === 'deflate' ? inflateSync(body, opts) : gunzipSync(body, opts);
    } catch (err) {
      if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE')
        throw Object.assign(new Error('decompressed body over the limit'), { code: 'FST_ERR_CTP_BODY_TOO_LARGE' });
      throw Object.assign(new Error(`body is not valid ${coding} data: ${(err as Error).message}`), {
        statusCode: 400,
        code: 'BODY_NOT_DECODABLE',
      });
    }
  }
  const notJson = (): Error => Object.assign(new Error('body is not JSON'), { statusCode: 400, code: 'BODY_NOT_JSON' });
  function requireJson(body: Buffer): void {
    if (!isJson(body)) throw notJson();
  }

  // Authenticated ingestion routes live in their own encapsulated plugin so the auth and rate-limit
  // hooks never touch /healthz, /readyz and /metrics.
  void app.register(async (api) => {
    if (tokenDigests.length > 0) {
      // A callback hook (no promise per request); a refused request is answered here and `done`
      // is not called, which ends the request (Fastify hooks docs, "Respond to a request from a hook").
      api.addHook('onRequest', (req, reply, done) => {
        if (bearerMatches(req.headers.authorization, tokenDigests)) {
          done();
          return;
        }
        void reply
          .code(401)
          .header('www-authenticate', 'Bearer realm="regwatch"')
          .send({ error: 'UNAUTHORIZED', message: 'missing or invalid bearer token' });
      });
    }
    if (config.rateLimit) {
      await api.register(rateLimit, {
        global: true,
        max: config.rateLimit.max,
        timeWindow: config.rateLimit.timeWindowMs,
      });
    }

    // Handlers are synchronous: a thrown error goes to the error handler, and publishRaw answers
    // from the publish promise's callbacks.
    api.post('/v1/notifications', (req, reply) => {
      const mediaType = checkMedia(req, ACCEPTED_MEDIA_TYPES.notifications);
      const body = bodyOf(req);
      requireJson(body);
      publishRaw(reply, topics.notifications, [
        { key: sourceKey(req, 'notifications'), value: body, headers: rawHeaders(mediaType, 'notifications') },
      ]);
    });

    api.post('/v1/harbor', (req, reply) => {
      const mediaType = checkMedia(req, ACCEPTED_MEDIA_TYPES.harbor);
      const body = bodyOf(req);
      requireJson(body);
      publishRaw(reply, topics.harborWebhooks, [
        { key: sourceKey(req, 'harbor'), value: body, headers: rawHeaders(mediaType, 'harbor') },
      ]);
    });

    api.post('/v1/logs', (req, reply) => {
      const mediaType = checkMedia(req, ACCEPTED_MEDIA_TYPES.logs);
      const headers = rawHeaders(mediaType, 'logs');
      const key = sourceKey(req, 'logs');
      const body = bodyOf(req);
      // `application/json` that parses as one document (a Quay or Harbor audit API page, a
      // pretty-printed record) is kept whole: split into lines, each line is a fragment.
      if (mediaType === 'application/json' && isJson(body)) {
        publishRaw(reply, topics.logs, [{ key, value: body, headers }]);
        return;
      }
      const lines = messagesOfLines(body, config.bodyLimitBytes);
      if (lines.length === 0) {
        void reply.code(202).send({ accepted: 0 });
        return;
      }
      const bodyRef = hash('sha256', body, 'hex').slice(0, 16);
      publishRaw(
        reply,
        topics.logs,
        lines.map((value, i) => ({ key, value, headers: { ...headers, [RAW_HEADERS.lineRef]: `${bodyRef}:${i}` } })),
      );
    });

    api.post('/v1/storage', (req, reply) => {
      const mediaType = checkMedia(req, ACCEPTED_MEDIA_TYPES.storage);
      const body = bodyOf(req);
      // Samples are ours (not a registry's): parsed once, an invalid one is refused with every problem listed.
      let value: unknown;
      try {
        value = JSON.parse(body.toString('utf8'));
      } catch {
        throw notJson();
      }
      const r = parseStorageSamples(value, { now: now().getTime() });
      if (!r.ok) {
        void reply.code(400).send({
          error: 'STORAGE_SAMPLE_INVALID',
          message: `invalid storage sample: ${r.problems.join('; ')}`,
          problems: r.problems,
        });
        return;
      }
      const headers = rawHeaders(mediaType, 'storage');
      // One message per sample, keyed by scope (per-scope order, as the collector publishes).
      const messages: OutgoingMessage[] = Array.isArray(value)
        ? value.map((v: unknown, i) => ({ key: r.samples[i]!.scope, value: Buffer.from(JSON.stringify(v)), headers }))
        : [{ key: r.samples[0]!.scope, value: body, headers }];
      publishRaw(reply, topics.storage, messages);
    });
  });

  return app;
}

/** The Fastify instance `buildReceiver` returns. */
export type Receiver = ReturnType<typeof buildReceiver>;
