/**
 * Local HTTP servers that behave as each chat / incident API documents: request validation,
 * success bodies, error statuses, errors inside HTTP 200, size limits, 429 with Retry-After.
 * Used by the alert channel tests (test/unit/alerts/channels.test.ts and integration tests).
 * Sources: Slack "Sending messages using incoming webhooks" + Block Kit limits; Teams Workflows
 * webhooks; Standard Webhooks spec; PagerDuty Events API v2; Telegram Bot API; DingTalk / Feishu /
 * WeCom custom robot docs; Mattermost incoming webhooks.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: string;
  /** The body bytes as received (multipart uploads). */
  readonly raw: Buffer;
  readonly json: unknown;
  readonly at: number;
}

/** Parts of a multipart/form-data body (RFC 7578): name → { filename?, contentType?, data }. */
export function parseMultipart(
  raw: Buffer,
  contentType: string,
): Map<string, { filename?: string; contentType?: string; data: Buffer }> {
  const boundary = /boundary=([^;]+)/.exec(contentType)?.[1];
  const out = new Map<string, { filename?: string; contentType?: string; data: Buffer }>();
  if (!boundary) return out;
  const text = raw.toString('latin1');
  for (const part of text.split(`--${boundary}`).slice(1)) {
    if (part.startsWith('--')) break;
    const sep = part.indexOf('\r\n\r\n');
    const head = part.slice(2, sep);
    const name = /name="([^"]*)"/.exec(head)?.[1];
    if (!name) continue;
    const filename = /filename="([^"]*)"/.exec(head)?.[1];
    const ct = /Content-Type: ([^\r\n]+)/i.exec(head)?.[1];
    out.set(name, {
      ...(filename ? { filename } : {}),
      ...(ct ? { contentType: ct } : {}),
      data: Buffer.from(part.slice(sep + 4, part.length - 2), 'latin1'),
    });
  }
  return out;
}

export interface ScriptedResponse {
  readonly status: number;
  readonly headers?: Record<string, string>;
  readonly body?: string;
  /** Hold the response this many ms (simulate a slow API). */
  readonly delayMs?: number;
}

export type ChatKind =
  'slack' | 'teams' | 'mattermost' | 'webhook' | 'pagerduty' | 'telegram' | 'dingtalk' | 'feishu' | 'wecom';

export interface ChatServer {
  readonly kind: ChatKind;
  /** Base URL, e.g. `http://127.0.0.1:40123`. */
  readonly base: string;
  /** The URL a channel config should use (path with the server's secret token). */
  readonly url: string;
  /** Every request received, in order. */
  readonly requests: RecordedRequest[];
  /** Requests that the API accepted (2xx and no body-level error). */
  readonly accepted: RecordedRequest[];
  /** Forces the next responses (before normal validation). */
  script(...responses: ScriptedResponse[]): void;
  close(): Promise<void>;
}

export interface ChatServerOptions {
  /** Token embedded in the URL path/query (Slack path, Telegram bot token, WeCom key…). */
  readonly token?: string;
  /** Signing secret (webhook HMAC, DingTalk, Feishu). */
  readonly secret?: string;
  /** Clock for signature freshness checks (ms). Default Date.now. */
  readonly now?: () => number;
}

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
};
const text = (res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void => {
  res.writeHead(status, { 'content-type': 'text/plain', ...headers });
  res.end(body);
};
const bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

type Handler = (req: RecordedRequest, res: ServerResponse) => boolean; // returns accepted

function handlers(kind: ChatKind, token: string, secret: string, now: () => number): Handler {
  switch (kind) {
    case 'slack':
      return (r, res) => {
        if (r.path !== `/services/${token}`)
          return (
            text(
              res,
              r.path.startsWith('/services/') ? 403 : 404,
              r.path.startsWith('/services/') ? 'invalid_token' : 'no_service',
            ),
            false
          );
        const b = r.json as { text?: unknown; blocks?: { type: string; text?: { text: string } }[] } | undefined;
        if (!b || (typeof b.text !== 'string' && !Array.isArray(b.blocks)))
          return (text(res, 400, 'invalid_payload'), false);
        const blocks = b.blocks ?? [];
        if (blocks.length > 50) return (text(res, 400, 'invalid_blocks'), false);
        for (const bl of blocks) {
          if (bl.type === 'header' && (bl.text?.text.length ?? 0) > 150)
            return (text(res, 400, 'invalid_blocks'), false);
          if (bl.type === 'section' && (bl.text?.text.length ?? 0) > 3000)
            return (text(res, 400, 'invalid_blocks'), false);
        }
        return (text(res, 200, 'ok'), true);
      };
    case 'mattermost':
      return (r, res) => {
        if (r.path !== `/hooks/${token}`)
          return (
            json(res, 400, {
              id: 'web.incoming_webhook.invalid.app_error',
              message: 'Invalid webhook',
              status_code: 400,
            }),
            false
          );
        const b = r.json as { text?: string } | undefined;
        if (!b?.text)
          return (
            json(res, 400, {
              id: 'web.incoming_webhook.text.app_error',
              message: 'No text specified',
              status_code: 400,
            }),
            false
          );
        if (b.text.length > 16383)
          return (
            json(res, 400, {
              id: 'web.incoming_webhook.text.length.app_error',
              message: 'text too long',
              status_code: 400,
            }),
            false
          );
        return (text(res, 200, 'ok'), true);
      };
    case 'teams':
      return (r, res) => {
        if (r.path !== `/workflows/${token}/triggers/manual/paths/invoke`)
          return (json(res, 404, { error: { code: 'WorkflowNotFound' } }), false);
        if (bytes(r.body) > 28 * 1024)
          return (
            text(
              res,
              200,
              'Webhook message delivery failed with error: Microsoft Teams endpoint returned HTTP error 413 with ContextId x',
            ),
            false
          );
        const b = r.json as
          { type?: string; attachments?: { contentType?: string; content?: { type?: string } }[] } | undefined;
        const att = b?.attachments?.[0];
        if (
          b?.type !== 'message' ||
          att?.contentType !== 'application/vnd.microsoft.card.adaptive' ||
          att.content?.type !== 'AdaptiveCard'
        )
          return (
            json(res, 400, { error: { code: 'InvalidRequestContent', message: 'not an adaptive card message' } }),
            false
          );
        return (text(res, 202, ''), true);
      };
    case 'webhook':
      return (r, res) => {
        const id = String(r.headers['webhook-id'] ?? '');
        const ts = String(r.headers['webhook-timestamp'] ?? '');
        const sig = String(r.headers['webhook-signature'] ?? '');
        const key = secret.startsWith('whsec_') ? Buffer.from(secret.slice(6), 'base64') : Buffer.from(secret);
        const want = Buffer.from(`v1,${createHmac('sha256', key).update(`${id}.${ts}.${r.body}`).digest('base64')}`);
        const okSig = sig.split(' ').some((s) => s.length === want.length && timingSafeEqual(Buffer.from(s), want));
        if (!id || !okSig) return (text(res, 401, 'bad signature'), false);
        if (Math.abs(now() / 1000 - Number(ts)) > 300) return (text(res, 400, 'timestamp too old'), false);
        return (text(res, 204, ''), true);
      };
    case 'pagerduty':
      return (r, res) => {
        const b = r.json as
          | {
              routing_key?: string;
              event_action?: string;
              dedup_key?: string;
              payload?: { summary?: string; source?: string; severity?: string };
            }
          | undefined;
        const errors: string[] = [];
        if (!b) errors.push('Event object is invalid');
        else {
          if (b.routing_key !== token) errors.push("'routing_key' is invalid");
          if (!['trigger', 'acknowledge', 'resolve'].includes(b.event_action ?? ''))
            errors.push("'event_action' is invalid");
          if (b.event_action === 'trigger') {
            if (!b.payload?.summary || b.payload.summary.length > 1024)
              errors.push("'payload.summary' is missing or too long");
            if (!b.payload?.source) errors.push("'payload.source' is missing");
            if (!['critical', 'error', 'warning', 'info'].includes(b.payload?.severity ?? ''))
              errors.push("'payload.severity' is invalid");
          } else if (!b.dedup_key) errors.push("'dedup_key' is required for resolve");
        }
        if (bytes(r.body) > 512 * 1024) errors.push('payload too large');
        if (errors.length)
          return (json(res, 400, { status: 'invalid event', message: 'Event object is invalid', errors }), false);
        return (json(res, 202, { status: 'success', message: 'Event processed', dedup_key: b?.dedup_key }), true);
      };
    case 'telegram':
      return (r, res) => {
        if (r.path === `/bot${token}/sendPhoto`) {
          const parts = parseMultipart(r.raw, String(r.headers['content-type'] ?? ''));
          const photo = parts.get('photo');
          if (!parts.get('chat_id'))
            return (
              json(res, 400, { ok: false, error_code: 400, description: 'Bad Request: chat_id is empty' }),
              false
            );
          if (!photo?.filename || photo.data.length === 0)
            return (
              json(res, 400, {
                ok: false,
                error_code: 400,
                description: 'Bad Request: there is no photo in the request',
              }),
              false
            );
          if (photo.data.length > 10 * 1024 * 1024)
            return (json(res, 400, { ok: false, error_code: 400, description: 'Bad Request: file is too big' }), false);
          if ((parts.get('caption')?.data.toString('utf8').length ?? 0) > 1024)
            return (
              json(res, 400, { ok: false, error_code: 400, description: 'Bad Request: message caption is too long' }),
              false
            );
          return (
            json(res, 200, {
              ok: true,
              result: { message_id: 2, photo: [{ file_id: 'x', file_size: photo.data.length }] },
            }),
            true
          );
        }
        if (r.path !== `/bot${token}/sendMessage`)
          return (json(res, 401, { ok: false, error_code: 401, description: 'Unauthorized' }), false);
        const b = r.json as { chat_id?: unknown; text?: string } | undefined;
        if (!b?.chat_id)
          return (json(res, 400, { ok: false, error_code: 400, description: 'Bad Request: chat_id is empty' }), false);
        if (!b.text)
          return (
            json(res, 400, { ok: false, error_code: 400, description: 'Bad Request: message text is empty' }),
            false
          );
        if (b.text.length > 4096)
          return (
            json(res, 400, { ok: false, error_code: 400, description: 'Bad Request: message is too long' }),
            false
          );
        return (
          json(res, 200, { ok: true, result: { message_id: 1, date: Math.floor(now() / 1000), text: b.text } }),
          true
        );
      };
    case 'dingtalk':
      return (r, res) => {
        if (r.query.get('access_token') !== token)
          return (json(res, 200, { errcode: 300001, errmsg: 'token is not exist' }), false);
        const ts = Number(r.query.get('timestamp'));
        const sign = r.query.get('sign') ?? '';
        const want = createHmac('sha256', secret).update(`${ts}\n${secret}`).digest('base64');
        if (sign !== want || Math.abs(now() - ts) > 3_600_000)
          return (
            json(res, 200, {
              errcode: 310000,
              errmsg: 'sign not match, more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]',
            }),
            false
          );
        const b = r.json as { msgtype?: string; markdown?: { title?: string; text?: string } } | undefined;
        if (b?.msgtype !== 'markdown' || !b.markdown?.text || !b.markdown.title)
          return (json(res, 200, { errcode: 40035, errmsg: 'missing parameter' }), false);
        if (bytes(b.markdown.text) > 20000)
          return (json(res, 200, { errcode: 460101, errmsg: 'message too long' }), false);
        return (json(res, 200, { errcode: 0, errmsg: 'ok' }), true);
      };
    case 'feishu':
      return (r, res) => {
        if (r.path !== `/open-apis/bot/v2/hook/${token}`)
          return (
            json(res, 200, { code: 19001, msg: 'param invalid: incoming webhook access token invalid', data: {} }),
            false
          );
        const b = r.json as { timestamp?: string; sign?: string; msg_type?: string } | undefined;
        const ts = Number(b?.timestamp);
        const want = createHmac('sha256', `${ts}\n${secret}`).update('').digest('base64');
        if (b?.sign !== want || Math.abs(now() / 1000 - ts) > 3600)
          return (
            json(res, 200, {
              code: 19021,
              msg: 'sign match fail or timestamp is not within one hour from current time',
              data: {},
            }),
            false
          );
        if (bytes(r.body) > 20 * 1024) return (json(res, 200, { code: 9499, msg: 'Bad Request', data: {} }), false);
        if (!b.msg_type) return (json(res, 200, { code: 19002, msg: 'params error, msg_type need', data: {} }), false);
        return (json(res, 200, { code: 0, msg: 'success', data: {} }), true);
      };
    case 'wecom':
      return (r, res) => {
        if (r.query.get('key') !== token)
          return (json(res, 200, { errcode: 93000, errmsg: 'invalid webhook url, hint: [x]' }), false);
        const b = r.json as { msgtype?: string; markdown?: { content?: string } } | undefined;
        if (b?.msgtype !== 'markdown' || !b.markdown?.content)
          return (json(res, 200, { errcode: 44004, errmsg: 'empty content' }), false);
        if (bytes(b.markdown.content) > 4096)
          return (json(res, 200, { errcode: 40058, errmsg: 'markdown.content exceed max length 4096' }), false);
        return (json(res, 200, { errcode: 0, errmsg: 'ok' }), true);
      };
  }
}

function urlFor(kind: ChatKind, base: string, token: string): string {
  switch (kind) {
    case 'slack':
      return `${base}/services/${token}`;
    case 'mattermost':
      return `${base}/hooks/${token}`;
    case 'teams':
      return `${base}/workflows/${token}/triggers/manual/paths/invoke?api-version=1&sig=${token}`;
    case 'webhook':
      return `${base}/regwatch/hook`;
    case 'pagerduty':
      return `${base}/v2/enqueue`;
    case 'telegram':
      return base;
    case 'dingtalk':
      return `${base}/robot/send?access_token=${token}`;
    case 'feishu':
      return `${base}/open-apis/bot/v2/hook/${token}`;
    case 'wecom':
      return `${base}/cgi-bin/webhook/send?key=${token}`;
  }
}

/** Starts a server for `kind` on 127.0.0.1 (random port). */
export async function startChatServer(kind: ChatKind, opts: ChatServerOptions = {}): Promise<ChatServer> {
  const token = opts.token ?? 'T0000/B0000/SeCrEtToKeN0123456789';
  const secret = opts.secret ?? 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
  const now = opts.now ?? Date.now;
  const requests: RecordedRequest[] = [];
  const accepted: RecordedRequest[] = [];
  const scripted: ScriptedResponse[] = [];
  const handle = handlers(kind, token, secret, now);
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const body = raw.toString('utf8');
      const u = new URL(req.url ?? '/', 'http://x');
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch {
        parsed = undefined;
      }
      const rec: RecordedRequest = {
        method: req.method ?? '',
        path: u.pathname,
        query: u.searchParams,
        headers: req.headers,
        raw,
        body,
        json: parsed,
        at: now(),
      };
      requests.push(rec);
      const s = scripted.shift();
      const respond = (): void => {
        if (s) {
          res.writeHead(s.status, s.headers ?? {});
          res.end(s.body ?? '');
          return;
        }
        if (req.method !== 'POST') return text(res, 405, 'method not allowed');
        if (handle(rec, res)) accepted.push(rec);
      };
      if (s?.delayMs) setTimeout(respond, s.delayMs);
      else respond();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    kind,
    base,
    url: urlFor(kind, base, token),
    requests,
    accepted,
    script: (...r) => scripted.push(...r),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
