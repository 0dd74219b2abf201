import { createHash } from 'node:crypto';
import { failed, retryable, type Outcome } from '../../../../shared/src/outcome.ts';
import type { ChannelContext } from './types.ts';
import type { HttpResponse } from '../http.ts';
import { classifyHttp } from '../http.ts';

/** Non-secret destination id: `<type>:<first 12 hex of sha256(secret-bearing target)>`. */
export function destinationId(type: string, target: string): string {
  return `${type}:${createHash('sha256').update(target).digest('hex').slice(0, 12)}`;
}

/** POSTs JSON; returns the raw response (never throws). */
export function postJson(
  ctx: ChannelContext,
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<HttpResponse> {
  return ctx.http.post(
    url,
    JSON.stringify(body),
    { 'content-type': 'application/json; charset=utf-8', ...headers },
    ctx.signal,
  );
}

/** Parses a JSON body; undefined when it is not JSON. */
export function jsonBody(res: HttpResponse): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(res.body);
    return v !== null && typeof v === 'object' ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * For the bot APIs that report errors inside HTTP 200 (`{"errcode": n, "errmsg": …}` — DingTalk,
 * WeCom; `{"code": n, "msg": …}` — Feishu): HTTP-level classification first, then the body code.
 * @param codeField `errcode` or `code`; @param msgField `errmsg` or `msg`
 * @param retryCodes body codes meaning "rate limited" (→ retryable after `rateLimitMs`)
 * @param authCodes body codes meaning bad credentials/signature (→ failed `auth_rejected`)
 */
export function classifyBodyCode(
  res: HttpResponse,
  now: number,
  codeField: string,
  msgField: string,
  retryCodes: ReadonlySet<number>,
  authCodes: ReadonlySet<number>,
  rateLimitMs: number,
): Outcome {
  const http = classifyHttp(res, now);
  if (http.kind !== 'ok') return http;
  const body = jsonBody(res);
  const code = body?.[codeField] ?? body?.['StatusCode'];
  if (body === undefined) return failed(`unexpected response body (not JSON)`, 'bad_response');
  if (code === 0 || code === undefined) return http;
  const n = Number(code);
  const msg = String(body[msgField] ?? body['StatusMessage'] ?? '').slice(0, 200);
  if (retryCodes.has(n)) return retryable(`api error ${n}: ${msg}`, rateLimitMs, 'rate_limited');
  if (authCodes.has(n)) return failed(`api error ${n}: ${msg}`, 'auth_rejected');
  return failed(`api error ${n}: ${msg}`, `api_${n}`);
}
