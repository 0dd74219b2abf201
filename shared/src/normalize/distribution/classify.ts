import type { EventAction, ObjectKind } from '../../model/registry-event.ts';
import type { V2Path } from '../common/repository.ts';
import { isDigest } from '../common/repository.ts';

/** Result of {@link classifyRequest}. */
export interface RequestClass {
  action: EventAction;
  objectKind?: ObjectKind;
}

// The route/method results are shared frozen constants (callers only read them): no allocation
// per request.
const R_BLOB_DELETE_BLOB: RequestClass = Object.freeze({ action: 'blob-delete', objectKind: 'blob' });
const R_BLOB_HEAD_BLOB: RequestClass = Object.freeze({ action: 'blob-head', objectKind: 'blob' });
const R_BLOB_MOUNT_BLOB: RequestClass = Object.freeze({ action: 'blob-mount', objectKind: 'blob' });
const R_BLOB_PULL_BLOB: RequestClass = Object.freeze({ action: 'blob-pull', objectKind: 'blob' });
const R_BLOB_PUSH_BLOB: RequestClass = Object.freeze({ action: 'blob-push', objectKind: 'blob' });
const R_CATALOG_REGISTRY: RequestClass = Object.freeze({ action: 'catalog', objectKind: 'registry' });
const R_MANIFEST_DELETE_MANIFEST: RequestClass = Object.freeze({ action: 'manifest-delete', objectKind: 'manifest' });
const R_MANIFEST_HEAD_MANIFEST: RequestClass = Object.freeze({ action: 'manifest-head', objectKind: 'manifest' });
const R_MANIFEST_PULL_MANIFEST: RequestClass = Object.freeze({ action: 'manifest-pull', objectKind: 'manifest' });
const R_MANIFEST_PUSH_MANIFEST: RequestClass = Object.freeze({ action: 'manifest-push', objectKind: 'manifest' });
const R_OTHER_BLOB: RequestClass = Object.freeze({ action: 'other', objectKind: 'blob' });
const R_OTHER_MANIFEST: RequestClass = Object.freeze({ action: 'other', objectKind: 'manifest' });
const R_PING_REGISTRY: RequestClass = Object.freeze({ action: 'ping', objectKind: 'registry' });
const R_TAG_DELETE_TAG: RequestClass = Object.freeze({ action: 'tag-delete', objectKind: 'tag' });
const R_TAGS_LIST_REPOSITORY: RequestClass = Object.freeze({ action: 'tags-list', objectKind: 'repository' });
const R_UPLOAD_UPLOAD: RequestClass = Object.freeze({ action: 'upload', objectKind: 'upload' });
const R_OTHER: RequestClass = Object.freeze({ action: 'other' });

/**
 * Request → `event.action` for Distribution-family HTTP traffic (app log, access log).
 * Routes and methods from distribution `registry/handlers/app.go` + `registry/api/v2/descriptors.go`:
 *
 * | route | method | action |
 * | --- | --- | --- |
 * | `/v2/` | any | `ping` |
 * | `/v2/_catalog` | GET | `catalog` |
 * | `/v2/<name>/tags/list` | GET | `tags-list` |
 * | `/manifests/<ref>` | GET / HEAD / PUT | `manifest-pull` / `manifest-head` / `manifest-push` |
 * | `/manifests/<digest>` | DELETE | `manifest-delete` |
 * | `/manifests/<tag>` | DELETE | `tag-delete` (v3.0.0+) |
 * | `/blobs/<digest>` | GET / HEAD / DELETE | `blob-pull` / `blob-head` / `blob-delete` |
 * | `/blobs/uploads/` | POST `?mount=&from=` answered 201 | `blob-mount` (a 202 is the fallback upload) |
 * | `/blobs/uploads/…` | PUT, or POST `?digest=` (monolithic) | `blob-push` |
 * | `/blobs/uploads/…` | POST / PATCH / GET / DELETE | `upload` |
 *
 * Status overrides: 401 → `auth-challenge` (the app log refines it with the message, see
 * {@link classifyAuthMessage}); 403 or `DENIED` → `access-denied`. A 404 keeps its action
 * (`manifest-pull` of an unknown tag; `blob-head` 404 during a push, FORMAT-EDGE-CASES 48).
 * @returns the action and object kind; route/method results are shared frozen objects (read only).
 */
export function classifyRequest(
  method: string | undefined,
  route: V2Path,
  params: ReadonlyMap<string, string>,
  status: number | undefined,
  errorCode: string | undefined,
): Readonly<RequestClass> {
  // Same result as `{ action, ...routeKind(route) }` without the (slow) object spread.
  if (status === 401) return withRouteKind('auth-challenge', route);
  if (status === 403 || errorCode === 'DENIED') return withRouteKind('access-denied', route);
  const m = method === undefined ? '' : upperMethod(method);
  switch (route.route) {
    case 'base':
      return R_PING_REGISTRY;
    case 'catalog':
      return R_CATALOG_REGISTRY;
    case 'tags-list':
      return R_TAGS_LIST_REPOSITORY;
    case 'manifest':
      if (m === 'HEAD') return R_MANIFEST_HEAD_MANIFEST;
      if (m === 'PUT') return R_MANIFEST_PUSH_MANIFEST;
      if (m === 'DELETE') {
        return isDigest(route.reference) ? R_MANIFEST_DELETE_MANIFEST : R_TAG_DELETE_TAG;
      }
      if (m === 'GET') return R_MANIFEST_PULL_MANIFEST;
      return R_OTHER_MANIFEST;
    case 'blob':
      if (m === 'HEAD') return R_BLOB_HEAD_BLOB;
      if (m === 'GET') return R_BLOB_PULL_BLOB;
      if (m === 'DELETE') return R_BLOB_DELETE_BLOB;
      return R_OTHER_BLOB;
    case 'upload':
      if (m === 'POST' && params.has('mount') && params.has('from') && status === 201) return R_BLOB_MOUNT_BLOB;
      if (m === 'PUT' || (m === 'POST' && params.has('digest'))) return R_BLOB_PUSH_BLOB;
      return R_UPLOAD_UPLOAD;
    case 'referrers':
      return R_OTHER_MANIFEST;
    default:
      return R_OTHER;
  }
}

/**
 * `method.toUpperCase()`, without the case-conversion call for the usual (already upper-case) HTTP
 * methods.
 */
export function upperMethod(method: string): string {
  switch (method) {
    case 'GET':
    case 'HEAD':
    case 'PUT':
    case 'POST':
    case 'PATCH':
    case 'DELETE':
      return method;
    default:
      return method.toUpperCase();
  }
}

function withRouteKind(action: EventAction, route: V2Path): { action: EventAction; objectKind?: ObjectKind } {
  const objectKind = routeKind(route).objectKind;
  return objectKind === undefined ? { action } : { action, objectKind };
}

function routeKind(route: V2Path): { objectKind?: ObjectKind } {
  switch (route.route) {
    case 'manifest':
      return { objectKind: 'manifest' };
    case 'blob':
      return { objectKind: 'blob' };
    case 'upload':
      return { objectKind: 'upload' };
    case 'tags-list':
      return { objectKind: 'repository' };
    case 'base':
    case 'catalog':
      return { objectKind: 'registry' };
    default:
      return {};
  }
}

/** Result of {@link classifyAuthMessage}. */
export interface AuthClass {
  action: 'auth-challenge' | 'login-failure' | 'access-denied';
  /** User name the client tried, when the line names it. */
  attemptedUser?: string;
}

const AUTH_PREFIX = 'error authorizing context:';

/**
 * Classifies Distribution's authentication/authorisation log messages (FORMATS.md 1b.3):
 * - `error authorizing context: authorization token required` or `…: invalid authorization
 *   credential` → the client sent no credentials: a normal challenge (`auth-challenge`), NOT a failed login;
 * - `…: authentication failure`, `invalid username or password`, `error authenticating user "x"`,
 *   `user failed to authenticate` (htpasswd v3.1.0+) → credentials presented and rejected (`login-failure`);
 * - `insufficient scope`, `denied`, `not authorized` → `access-denied`.
 * @returns null when the message is not an auth message.
 */
export function classifyAuthMessage(msg: string): Readonly<AuthClass> | null {
  // Registries log a few dozen distinct messages; each line brings a new copy of one of them. A
  // small direct-mapped table (slot by length and three characters, hit = `===`, a memory compare)
  // answers repeats without hashing the message, as the Map lookup below must.
  const n = msg.length;
  const slot =
    (n * 31 + msg.charCodeAt(n >> 1) * 7 + msg.charCodeAt(n - 1) + msg.charCodeAt(n >> 2) * 3) & (AUTH_SLOTS - 1);
  if (authKeys[slot] === msg) return authValues[slot] ?? null;
  let out = AUTH_MEMO.get(msg);
  if (out === undefined) {
    out = classifyUncached(msg);
    if (n > 256) return out;
    if (out !== null) Object.freeze(out);
    if (AUTH_MEMO.size >= 1024) AUTH_MEMO.clear();
    AUTH_MEMO.set(msg, out);
  }
  authKeys[slot] = msg;
  authValues[slot] = out;
  return out;
}
/** Direct-mapped front of {@link AUTH_MEMO}: messages (at most 256 characters) and their frozen results. */
const AUTH_SLOTS = 64;
const authKeys: (string | undefined)[] = new Array<string | undefined>(AUTH_SLOTS).fill(undefined);
const authValues: (Readonly<AuthClass> | null)[] = new Array<Readonly<AuthClass> | null>(AUTH_SLOTS).fill(null);
/** Bounded memo of {@link classifyAuthMessage} (results are frozen and shared). */
const AUTH_MEMO = new Map<string, Readonly<AuthClass> | null>();

function classifyUncached(msg: string): AuthClass | null {
  const lower = msg.toLowerCase();
  const quotedUser = /error authenticating user "([^"]*)"/i.exec(msg)?.[1];
  if (lower === 'user failed to authenticate') return { action: 'login-failure' };
  if (lower.includes('invalid username or password') || quotedUser !== undefined) {
    return quotedUser ? { action: 'login-failure', attemptedUser: quotedUser } : { action: 'login-failure' };
  }
  if (!lower.startsWith(AUTH_PREFIX)) return null;
  const reason = lower.slice(AUTH_PREFIX.length);
  if (/insufficient[ _]scope|access denied|\bdenied\b|not authorized|forbidden/.test(reason))
    return { action: 'access-denied' };
  if (/authentication failure|invalid token|token (?:is )?expired|bad credentials|invalid credentials/.test(reason)) {
    return { action: 'login-failure' };
  }
  return { action: 'auth-challenge' };
}

/**
 * Distribution logs `err.code` in the lower-case spaced form (`manifest unknown`); the API and
 * GitLab use `MANIFEST_UNKNOWN` (registry/api/errcode/errors.go; FORMAT-EDGE-CASES 38).
 * @returns the upper-case API form (`MANIFEST_UNKNOWN`), or undefined for empty input.
 */
export function apiErrorCode(code: string | undefined): string | undefined {
  if (code === undefined) return undefined;
  // Registries use a few dozen codes: memoized (bounded).
  const hit = API_CODES.get(code);
  if (hit !== undefined) return hit === '' ? undefined : hit;
  const t = code.trim();
  const out = t.length === 0 ? '' : t.toUpperCase().replace(/[\s-]+/g, '_');
  if (API_CODES.size >= 1024) API_CODES.clear();
  API_CODES.set(code, out);
  return out === '' ? undefined : out;
}
const API_CODES = new Map<string, string>();

/** True for media types of a manifest list / OCI image index. */
export function isIndexMediaType(mediaType: string | undefined): boolean {
  if (mediaType === undefined) return false;
  return mediaType.includes('manifest.list') || mediaType.includes('image.index');
}

/** True for media types that denote a manifest (image manifest, index, schema1, artifact manifest). */
export function isManifestMediaType(mediaType: string | undefined): boolean {
  if (mediaType === undefined) return false;
  return (
    mediaType.includes('manifest') || mediaType.includes('image.index') || mediaType === 'application/json' // schema1 and some artifact tools
  );
}
