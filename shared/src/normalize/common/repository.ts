/**
 * OCI Distribution API route helpers (OCI distribution-spec "Endpoints"; distribution
 * `registry/api/v2/descriptors.go`). Repository names may hold several `/`-separated components.
 */

export type V2Route = 'base' | 'catalog' | 'tags-list' | 'manifest' | 'blob' | 'upload' | 'referrers' | 'unknown';

export interface V2Path {
  route: V2Route;
  /** Full repository name (`team/app/component`). */
  name?: string;
  /** Manifest tag or digest (`/manifests/<reference>`), or the subject digest for referrers. */
  reference?: string;
  /** Blob digest (`/blobs/<digest>`). */
  digest?: string;
  /** Upload session id (`/blobs/uploads/<uuid>`); absent on the upload-start POST. */
  uploadId?: string;
}

const MANIFEST_RE = /^\/v2\/(.+)\/manifests\/([^/]+)$/;
const UPLOAD_RE = /^\/v2\/(.+)\/blobs\/uploads(?:\/([^/]*))?$/;
const BLOB_RE = /^\/v2\/(.+)\/blobs\/([^/]+)$/;
const TAGS_RE = /^\/v2\/(.+)\/tags\/list$/;
const REFERRERS_RE = /^\/v2\/(.+)\/referrers\/([^/]+)$/;

/** True for an OCI digest such as `sha256:<hex>` (any registered or custom algorithm). */
export function isDigest(s: string | undefined): boolean {
  if (typeof s !== 'string' || s.length > 256) return false;
  // Hand scan of the OCI digest grammar `algorithm ":" encoded` (opencontainers/image-spec
  // descriptor.md), i.e. /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/.
  const n = s.length;
  let i = 0;
  for (;;) {
    const start = i;
    while (i < n && isLowerAlnum(s.charCodeAt(i))) i++;
    if (i === start || i === n) return false;
    const c = s.charCodeAt(i);
    if (c === 58 /* : */) break;
    if (c !== 43 && c !== 46 && c !== 95 && c !== 45 /* + . _ - */) return false;
    i++;
  }
  i++;
  if (i === n) return false;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (!(isLowerAlnum(c) || (c >= 65 && c <= 90) || c === 61 || c === 95 || c === 45)) return false;
  }
  return true;
}

function isLowerAlnum(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 48 && c <= 57);
}

/**
 * Classifies a `/v2/...` request path (without query string).
 * @returns the route and its variables; `{ route: 'unknown' }` for anything outside the API.
 */
export function parseV2Path(path: string): V2Path {
  if (path === '/v2/' || path === '/v2') return { route: 'base' };
  if (!path.startsWith('/v2/')) return { route: 'unknown' };
  if (path === '/v2/_catalog') return { route: 'catalog' };
  // The route regexes (kept above as the grammar's statement) have one possible split each: a
  // `[^/]+` tail is the text after the last `/`, and `(.+)` is everything between `/v2/` and the
  // route's literal segment. `.` does not match line terminators: such paths take the regexes.
  if (hasLineTerminator(path)) return parseV2PathByRegex(path);
  const n = path.length;
  const last = path.lastIndexOf('/');
  const tail = path.slice(last + 1);
  if (tail.length > 0 && last - 10 > 4 && path.startsWith('/manifests/', last - 10))
    return { route: 'manifest', name: path.slice(4, last - 10), reference: tail };
  if (n - 14 > 4 && path.endsWith('/blobs/uploads')) return { route: 'upload', name: path.slice(4, n - 14) };
  if (last - 14 > 4 && path.startsWith('/blobs/uploads/', last - 14)) {
    const name = path.slice(4, last - 14);
    return tail.length > 0 ? { route: 'upload', name, uploadId: tail } : { route: 'upload', name };
  }
  if (tail.length > 0 && last - 6 > 4 && path.startsWith('/blobs/', last - 6))
    return { route: 'blob', name: path.slice(4, last - 6), digest: tail };
  if (n - 10 > 4 && path.endsWith('/tags/list')) return { route: 'tags-list', name: path.slice(4, n - 10) };
  if (tail.length > 0 && last - 10 > 4 && path.startsWith('/referrers/', last - 10))
    return { route: 'referrers', name: path.slice(4, last - 10), reference: tail };
  return { route: 'unknown' };
}

/**
 * True when `s` holds a line terminator (`/[\n\r\u2028\u2029]/.test(s)`), by native `indexOf`
 * scans: cheaper than a regex call on the per-line path (and U+2028/9 cannot occur in one-byte strings).
 */
export function hasLineTerminator(s: string): boolean {
  return s.indexOf('\n') >= 0 || s.indexOf('\r') >= 0 || s.indexOf('\u2028') >= 0 || s.indexOf('\u2029') >= 0;
}
/** Shared empty result of {@link splitUri} with `only` (never written to). */
const NO_PARAMS = new Map<string, string>();

function parseV2PathByRegex(path: string): V2Path {
  let m = MANIFEST_RE.exec(path);
  if (m) return { route: 'manifest', name: m[1] ?? '', reference: m[2] ?? '' };
  m = UPLOAD_RE.exec(path);
  if (m) {
    const id = m[2];
    return id ? { route: 'upload', name: m[1] ?? '', uploadId: id } : { route: 'upload', name: m[1] ?? '' };
  }
  m = BLOB_RE.exec(path);
  if (m) return { route: 'blob', name: m[1] ?? '', digest: m[2] ?? '' };
  m = TAGS_RE.exec(path);
  if (m) return { route: 'tags-list', name: m[1] ?? '' };
  m = REFERRERS_RE.exec(path);
  if (m) return { route: 'referrers', name: m[1] ?? '', reference: m[2] ?? '' };
  return { route: 'unknown' };
}

/** Namespace of a repository: its first path component (`team-a/platform/api` → `team-a`). */
export function namespaceOf(repository: string): string {
  const slash = repository.indexOf('/');
  return slash < 0 ? repository : repository.slice(0, slash);
}

/** A request URI split into path and query. */
export interface SplitUri {
  path: string;
  /** The query as sent (no `?`); absent when there is none. */
  query?: string;
  /** The query with the upload `_state` token removed (safe to index); absent when empty. */
  safeQuery?: string;
  /** Decoded query parameters (first value wins). */
  params: Map<string, string>;
}

function decode(s: string): string {
  const plus = s.indexOf('+') >= 0;
  if (!plus && s.indexOf('%') < 0) return s;
  try {
    return decodeURIComponent(plus ? s.replace(/\+/g, ' ') : s);
  } catch {
    return s;
  }
}

/**
 * Splits a raw request URI (`http.request.uri`, access-log request target) into path, query and
 * parameters; drops `_state` (an HMAC-signed upload state token) from `safeQuery`
 * (FORMAT-EDGE-CASES 44). Absolute-form targets (`http://host/v2/...`) are reduced to their path.
 * @param only when given, `params` holds just these (decoded) keys — other values, such as the long
 *   `_state` token, are then never decoded — and must not be modified (it may be shared).
 */
export function splitUri(uri: string, only?: ReadonlySet<string>): SplitUri {
  let u = uri;
  if (!u.startsWith('/')) {
    const scheme = u.indexOf('://');
    if (scheme > 0) {
      const slash = u.indexOf('/', scheme + 3);
      u = slash < 0 ? '/' : u.slice(slash);
    }
  }
  const q = u.indexOf('?');
  // With `only`, the caller promises to read `params` only, so a query-less URI can share one empty map.
  if (q < 0) return { path: u, params: only === undefined ? new Map<string, string>() : NO_PARAMS };
  const params = new Map<string, string>();
  const path = u.slice(0, q);
  const query = u.slice(q + 1);
  // safeQuery is the non-empty pairs minus `_state`, i.e. the query itself unless a pair is dropped.
  const kept: string[] = [];
  let dropped = false;
  let start = 0;
  while (start <= query.length) {
    let end = query.indexOf('&', start);
    if (end < 0) end = query.length;
    const pair = query.slice(start, end);
    start = end + 1;
    if (pair.length === 0) {
      dropped = true;
      continue;
    }
    const eq = pair.indexOf('=');
    const k = decode(eq < 0 ? pair : pair.slice(0, eq));
    if (!params.has(k) && (only === undefined || only.has(k))) params.set(k, eq < 0 ? '' : decode(pair.slice(eq + 1)));
    if (k !== '_state') kept.push(pair);
    else dropped = true;
  }
  const safeQuery = dropped ? kept.join('&') : query;
  // Literals rather than conditional spreads (the spread path is slow); key order path, query, safeQuery, params.
  if (query.length === 0) return safeQuery.length > 0 ? { path, safeQuery, params } : { path, params };
  return safeQuery.length > 0 ? { path, query, safeQuery, params } : { path, query, params };
}
