import type { EventAction, ObjectKind } from '../../model/registry-event.ts';
import type { V2Path } from '../common/repository.ts';
import { isDigest } from '../common/repository.ts';

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
 */
export function classifyRequest(
  method: string | undefined,
  route: V2Path,
  params: ReadonlyMap<string, string>,
  status: number | undefined,
  errorCode: string | undefined,
): { action: EventAction; objectKind?: ObjectKind } {
  // Same result as `{ action, ...routeKind(route) }` without the (slow) object spread.
  if (status === 401) return withRouteKind('auth-challenge', route);
  if (status === 403 || errorCode === 'DENIED') return withRouteKind('access-denied', route);
  const m = (method ?? '').toUpperCase();
  switch (route.route) {
    case 'base':
      return { action: 'ping', objectKind: 'registry' };
    case 'catalog':
      return { action: 'catalog', objectKind: 'registry' };
    case 'tags-list':
      return { action: 'tags-list', objectKind: 'repository' };
    case 'manifest':
      if (m === 'HEAD') return { action: 'manifest-head', objectKind: 'manifest' };
      if (m === 'PUT') return { action: 'manifest-push', objectKind: 'manifest' };
      if (m === 'DELETE') {
        return isDigest(route.reference)
          ? { action: 'manifest-delete', objectKind: 'manifest' }
          : { action: 'tag-delete', objectKind: 'tag' };
      }
      if (m === 'GET') return { action: 'manifest-pull', objectKind: 'manifest' };
      return { action: 'other', objectKind: 'manifest' };
    case 'blob':
      if (m === 'HEAD') return { action: 'blob-head', objectKind: 'blob' };
      if (m === 'GET') return { action: 'blob-pull', objectKind: 'blob' };
      if (m === 'DELETE') return { action: 'blob-delete', objectKind: 'blob' };
      return { action: 'other', objectKind: 'blob' };
    case 'upload':
      if (m === 'POST' && params.has('mount') && params.has('from') && status === 201)
        return { action: 'blob-mount', objectKind: 'blob' };
      if (m === 'PUT' || (m === 'POST' && params.has('digest'))) return { action: 'blob-push', objectKind: 'blob' };
      return { action: 'upload', objectKind: 'upload' };
    case 'referrers':
      return { action: 'other', objectKind: 'manifest' };
    default:
      return { action: 'other' };
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
  // Registries log a few dozen distinct messages; each line brings a new copy of one of them.
  const hit = AUTH_MEMO.get(msg);
  if (hit !== undefined) return hit;
  const out = classifyUncached(msg);
  if (msg.length <= 256) {
    if (AUTH_MEMO.size >= 1024) AUTH_MEMO.clear();
    AUTH_MEMO.set(msg, out === null ? null : Object.freeze(out));
  }
  return out;
}
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
