import { Agent, request } from 'undici';
import { failed, ok, retryable, type Outcome } from '../../../shared/src/outcome.ts';

/** A response as channels see it (body read fully as text; bounded by `maxBodyBytes`). */
export interface HttpResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** The HTTP port channels use (undici `request()` with the client's own Agent). */
export interface HttpClient {
  /**
   * POSTs `body` to `url`. Resolves with the response, or with `{ status: 0 }` and an error
   * code in `body` for network failures (never rejects, never echoes the URL).
   */
  post(url: string, body: string | Buffer, headers: Record<string, string>, signal: AbortSignal): Promise<HttpResponse>;
  close(): Promise<void>;
}

export interface HttpClientOptions {
  /** Connect + headers timeout, ms. Default 10 000. */
  readonly timeoutMs?: number;
  /** Largest response body kept, bytes. Default 64 KiB. */
  readonly maxBodyBytes?: number;
}

/** Creates the HTTP client with its own undici Agent (keep-alive pools per origin). */
export function createHttpClient(options: HttpClientOptions = {}): HttpClient {
  const timeout = options.timeoutMs ?? 10_000;
  const maxBody = options.maxBodyBytes ?? 64 * 1024;
  const agent = new Agent({ connectTimeout: timeout, headersTimeout: timeout, bodyTimeout: timeout, connections: 16 });
  return {
    async post(url, body, headers, signal) {
      try {
        const res = await request(url, { method: 'POST', body, headers, signal, dispatcher: agent });
        const chunks: Buffer[] = [];
        let size = 0;
        for await (const chunk of res.body) {
          const b = chunk as Buffer;
          if (size < maxBody) chunks.push(b.subarray(0, maxBody - size));
          size += b.length;
        }
        const hdrs: Record<string, string> = {};
        for (const [k, v] of Object.entries(res.headers)) {
          if (v !== undefined) hdrs[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
        }
        return { status: res.statusCode, headers: hdrs, body: Buffer.concat(chunks).toString('utf8') };
      } catch (err) {
        return { status: 0, headers: {}, body: networkErrorCode(err) };
      }
    },
    close: () => agent.close(),
  };
}

/** The error code of a network failure, without any URL (`ECONNREFUSED`, `UND_ERR_HEADERS_TIMEOUT`, `ABORTED`). */
export function networkErrorCode(err: unknown): string {
  const e = err as { name?: string; code?: unknown; cause?: { code?: unknown } } | null;
  if (e?.name === 'AbortError') return 'ABORTED';
  if (typeof e?.code === 'string') return e.code;
  if (typeof e?.cause?.code === 'string') return e.cause.code;
  return 'NETWORK_ERROR';
}

/**
 * Parses `Retry-After` (RFC 9110 §10.2.3: delay-seconds or an HTTP-date) into ms from `now`.
 * @returns ms ≥ 0, or undefined when absent or unparseable.
 */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/** HTTP statuses worth retrying (as OTel's is-export-retryable, plus 408 and 500). */
export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([408, 429, 500, 502, 503, 504]);

/**
 * Maps an HTTP response to an Outcome: 2xx → ok; network error, 408/429/5xx → retryable with
 * Retry-After honoured; 401/403 → failed `auth_rejected`; other 4xx → failed `http_<status>`.
 * The error text carries the status and a short body excerpt, never the URL.
 */
export function classifyHttp(res: HttpResponse, now: number): Outcome {
  if (res.status === 0) return retryable(`network error ${res.body}`, undefined, res.body.toLowerCase());
  const excerpt = res.body.slice(0, 200).replace(/\s+/g, ' ');
  if (res.status >= 200 && res.status < 300) return ok(`http ${res.status}`);
  if (RETRYABLE_STATUSES.has(res.status)) {
    return retryable(
      `http ${res.status}: ${excerpt}`,
      parseRetryAfter(res.headers['retry-after'], now),
      res.status === 429 ? 'rate_limited' : `http_${res.status}`,
    );
  }
  if (res.status === 401 || res.status === 403) return failed(`http ${res.status}: ${excerpt}`, 'auth_rejected');
  return failed(`http ${res.status}: ${excerpt}`, `http_${res.status}`);
}

/** Masks a URL for display: keeps scheme and host, hides path and query (they hold tokens). */
export function maskUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}/***`;
  } catch {
    return '***';
  }
}
