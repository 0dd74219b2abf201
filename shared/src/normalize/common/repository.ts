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

// OCI digest grammar: algorithm ":" encoded (opencontainers/image-spec descriptor.md).
const DIGEST_RE = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
const MANIFEST_RE = /^\/v2\/(.+)\/manifests\/([^/]+)$/;
const UPLOAD_RE = /^\/v2\/(.+)\/blobs\/uploads(?:\/([^/]*))?$/;
const BLOB_RE = /^\/v2\/(.+)\/blobs\/([^/]+)$/;
const TAGS_RE = /^\/v2\/(.+)\/tags\/list$/;
const REFERRERS_RE = /^\/v2\/(.+)\/referrers\/([^/]+)$/;

/** True for an OCI digest such as `sha256:<hex>` (any registered or custom algorithm). */
export function isDigest(s: string | undefined): boolean {
  return typeof s === 'string' && s.length <= 256 && DIGEST_RE.test(s);
}

/**
 * Classifies a `/v2/...` request path (without query string).
 * @returns the route and its variables; `{ route: 'unknown' }` for anything outside the API.
 */
export function parseV2Path(path: string): V2Path {
  if (path === '/v2/' || path === '/v2') return { route: 'base' };
  if (!path.startsWith('/v2/')) return { route: 'unknown' };
  if (path === '/v2/_catalog') return { route: 'catalog' };
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
  if (s.indexOf('%') < 0 && s.indexOf('+') < 0) return s;
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}

/**
 * Splits a raw request URI (`http.request.uri`, access-log request target) into path, query and
 * parameters; drops `_state` (an HMAC-signed upload state token) from `safeQuery`
 * (FORMAT-EDGE-CASES 44). Absolute-form targets (`http://host/v2/...`) are reduced to their path.
 */
export function splitUri(uri: string): SplitUri {
  let u = uri;
  if (!u.startsWith('/')) {
    const scheme = u.indexOf('://');
    if (scheme > 0) {
      const slash = u.indexOf('/', scheme + 3);
      u = slash < 0 ? '/' : u.slice(slash);
    }
  }
  const q = u.indexOf('?');
  const params = new Map<string, string>();
  if (q < 0) return { path: u, params };
  const path = u.slice(0, q);
  const query = u.slice(q + 1);
  const kept: string[] = [];
  for (const pair of query.split('&')) {
    if (pair.length === 0) continue;
    const eq = pair.indexOf('=');
    const k = decode(eq < 0 ? pair : pair.slice(0, eq));
    const v = eq < 0 ? '' : decode(pair.slice(eq + 1));
    if (!params.has(k)) params.set(k, v);
    if (k !== '_state') kept.push(pair);
  }
  const safeQuery = kept.join('&');
  return {
    path,
    ...(query.length > 0 ? { query } : {}),
    ...(safeQuery.length > 0 ? { safeQuery } : {}),
    params,
  };
}
