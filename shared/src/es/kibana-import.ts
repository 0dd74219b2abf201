import { basename } from 'node:path';
import { AppError } from '../errors.ts';

/**
 * Client for Kibana's saved objects import API
 * (`POST [/s/<space>]/api/saved_objects/_import?overwrite=true`, multipart field `file`,
 * header `kbn-xsrf`; Kibana "Import saved objects" API docs, 8.x/9.x). Kibana answers 200 even
 * when objects fail: the body's `success` and `errors[]` decide, so both are checked here.
 */

export interface KibanaAuth {
  username?: string;
  password?: string;
  /** Kibana/Elasticsearch API key (encoded form), sent as `Authorization: ApiKey <key>`. */
  apiKey?: string;
}

export interface KibanaImportOptions {
  /** Kibana base URL, e.g. `http://localhost:5601` (a base path such as `/kibana` is kept). */
  url: string;
  /** Space id (`default` when absent; other spaces use the `/s/<space>` prefix). */
  space?: string;
  auth?: KibanaAuth;
  /** Request timeout in milliseconds (default 60 000). */
  timeoutMs?: number;
  /** Injected fetch (tests); defaults to the global fetch. */
  fetchImpl?: typeof fetch;
}

/** One object Kibana could not import (from the response's `errors[]`). */
export interface ImportObjectError {
  type: string;
  id: string;
  title?: string;
  /** `conflict`, `missing_references`, `unsupported_type`, `ambiguous_conflict`, `unknown`, … */
  errorType: string;
  message: string;
}

export interface ImportFileResult {
  file: string;
  success: boolean;
  successCount: number;
  errors: ImportObjectError[];
}

/** The import URL for a space. @throws AppError CONFIG_INVALID for a bad URL or space id. */
export function importUrl(baseUrl: string, space?: string): string {
  let u: URL;
  try {
    u = new URL(baseUrl);
  } catch {
    throw new AppError('CONFIG_INVALID', `invalid Kibana URL: ${baseUrl}`);
  }
  if (space !== undefined && space !== 'default' && !/^[a-z0-9_-]+$/.test(space)) {
    throw new AppError(
      'CONFIG_INVALID',
      `invalid Kibana space id "${space}" (lower case letters, digits, "_" and "-")`,
    );
  }
  const prefix = u.pathname.replace(/\/+$/, '');
  const spacePart = space && space !== 'default' ? `/s/${space}` : '';
  u.pathname = `${prefix}${spacePart}/api/saved_objects/_import`;
  u.search = 'overwrite=true';
  u.username = '';
  u.password = '';
  return u.toString();
}

function authHeader(auth: KibanaAuth | undefined): Record<string, string> {
  if (!auth) return {};
  if (auth.apiKey) return { authorization: `ApiKey ${auth.apiKey}` };
  if (auth.username !== undefined && auth.password !== undefined) {
    return { authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}` };
  }
  return {};
}

interface ImportResponseBody {
  success?: boolean;
  successCount?: number;
  errors?: {
    id?: string;
    type?: string;
    title?: string;
    meta?: { title?: string };
    error?: { type?: string; message?: string; references?: { type?: string; id?: string }[]; statusCode?: number };
  }[];
  statusCode?: number;
  error?: string;
  message?: string;
}

/** Human message for one per-object error (lists missing references). */
function describe(e: NonNullable<ImportResponseBody['errors']>[number]): string {
  const t = e.error?.type ?? 'unknown';
  if (t === 'missing_references') {
    const refs = (e.error?.references ?? []).map((r) => `${r.type ?? '?'}/${r.id ?? '?'}`).join(', ');
    return `missing references: ${refs || '(not listed)'}`;
  }
  return e.error?.message ?? t;
}

/**
 * Why a `fetch` failed, from the error and its `cause` chain: fetch (undici) throws
 * `TypeError: fetch failed` whose `cause` holds the system error (`ECONNREFUSED`, `ENOTFOUND`,
 * `ECONNRESET`, `CERT_HAS_EXPIRED`, …; an AggregateError when every address of the host failed),
 * and `AbortSignal.timeout` gives a `TimeoutError`.
 * @returns e.g. `fetch failed (ECONNREFUSED 127.0.0.1:15601)` or `timed out (TimeoutError …)`.
 */
export function fetchFailureReason(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  if (err.name === 'TimeoutError') return `timed out (${err.message})`;
  const details: string[] = [];
  const seen = new Set<unknown>();
  const visit = (e: unknown): void => {
    if (!e || typeof e !== 'object' || seen.has(e) || details.length >= 3) return;
    seen.add(e);
    const x = e as {
      code?: unknown;
      address?: unknown;
      port?: unknown;
      message?: unknown;
      errors?: unknown;
      cause?: unknown;
    };
    if (typeof x.code === 'string') {
      const where =
        typeof x.address === 'string' ? ` ${x.address}${typeof x.port === 'number' ? `:${x.port}` : ''}` : '';
      details.push(`${x.code}${where}`);
    }
    if (Array.isArray(x.errors)) for (const inner of x.errors) visit(inner);
    visit(x.cause);
  };
  visit(err.cause);
  if (details.length === 0 && err.cause instanceof Error) details.push(err.cause.message);
  return details.length ? `${err.message} (${[...new Set(details)].join(', ')})` : err.message;
}

/**
 * Imports one NDJSON file (`name` must end in `.ndjson`; Kibana rejects other names).
 * @returns the per-file result; `success` is false when Kibana's body says so or lists errors.
 * @throws AppError KIBANA_UNAVAILABLE (retriable) when Kibana cannot be reached (connection
 *   refused, DNS, timeout); KIBANA_IMPORT_FAILED for a non-2xx answer (401/403 say so; 5xx and 429
 *   are retriable) or an unreadable body.
 */
export async function importNdjson(name: string, ndjson: string, opts: KibanaImportOptions): Promise<ImportFileResult> {
  const file = basename(name);
  if (!file.endsWith('.ndjson'))
    throw new AppError('CONFIG_INVALID', `${file}: Kibana only imports files ending in .ndjson`);
  const url = importUrl(opts.url, opts.space);
  const form = new FormData();
  form.append('file', new Blob([ndjson], { type: 'application/ndjson' }), file);
  const doFetch = opts.fetchImpl ?? fetch;
  let res: Response;
  try {
    res = await doFetch(url, {
      method: 'POST',
      headers: { 'kbn-xsrf': 'true', ...authHeader(opts.auth) },
      body: form,
      signal: AbortSignal.timeout(opts.timeoutMs ?? 60_000),
    });
  } catch (err) {
    const why = fetchFailureReason(err);
    throw new AppError('KIBANA_UNAVAILABLE', `${file}: cannot reach Kibana at ${url}: ${why}`, {
      retriable: true,
      cause: err,
      context: { reason: why },
    });
  }
  const text = await res.text();
  let body: ImportResponseBody;
  try {
    body = JSON.parse(text) as ImportResponseBody;
  } catch (err) {
    throw new AppError(
      'KIBANA_IMPORT_FAILED',
      `${file}: Kibana answered ${res.status} with a non-JSON body: ${text.slice(0, 200)}`,
      {
        retriable: res.status >= 500,
        cause: err,
      },
    );
  }
  if (!res.ok) {
    const hint =
      res.status === 401 || res.status === 403
        ? ' (check the Kibana credentials and their saved-objects privileges)'
        : res.status === 404
          ? ' (unknown space or not a Kibana URL)'
          : '';
    throw new AppError(
      'KIBANA_IMPORT_FAILED',
      `${file}: Kibana answered ${res.status}: ${body.message ?? body.error ?? text.slice(0, 200)}${hint}`,
      {
        retriable: res.status >= 500 || res.status === 429,
        context: { status: res.status },
      },
    );
  }
  const errors: ImportObjectError[] = (body.errors ?? []).map((e) => ({
    type: e.type ?? '?',
    id: e.id ?? '?',
    ...((e.meta?.title ?? e.title) ? { title: e.meta?.title ?? e.title } : {}),
    errorType: e.error?.type ?? 'unknown',
    message: describe(e),
  }));
  return {
    file,
    success: body.success === true && errors.length === 0,
    successCount: body.successCount ?? 0,
    errors,
  };
}

/** One line per failed object: `file: type/id "title": errorType: message`. */
export function formatImportErrors(results: readonly ImportFileResult[]): string[] {
  const lines: string[] = [];
  for (const r of results) {
    if (r.success) continue;
    if (r.errors.length === 0) lines.push(`${r.file}: Kibana reported success: false without listing errors`);
    for (const e of r.errors)
      lines.push(`${r.file}: ${e.type}/${e.id}${e.title ? ` "${e.title}"` : ''}: ${e.errorType}: ${e.message}`);
  }
  return lines;
}
