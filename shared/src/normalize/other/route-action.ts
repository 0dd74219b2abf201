/**
 * HTTP request (method, `/v2/…` path, query, status, user) → `event.action` and object fields, for
 * registries that log only requests (Artifactory request log, Nexus request log).
 *
 * Route grammar: OCI distribution-spec "Endpoints" via ../common/repository.ts `parseV2Path`.
 * Action rules (FORMATS.md §1e "Distribution app log line", EVENT_ACTIONS in registry-event.ts):
 * manifests GET → `manifest-pull`, HEAD → `manifest-head`, PUT → `manifest-push`, DELETE →
 * `manifest-delete`; blobs GET → `blob-pull`, HEAD → `blob-head`, DELETE → `blob-delete`; uploads
 * POST with `mount=` answered 201 → `blob-mount`, PUT → `blob-push`, other upload requests →
 * `upload`; `/v2/_catalog` → `catalog`; tags list → `tags-list`; `/v2/` → `ping`.
 * Status overrides: 401 without a user → `auth-challenge` (the client re-authenticates), 401 with a
 * user → `login-failure`, 403 → `access-denied`.
 */
import type {
  EventAction,
  EventOutcome,
  ObjectKind,
  OciRegistryFields,
  RegistryEvent,
} from '../../model/registry-event.ts';
import { isDigest, namespaceOf, parseV2Path } from '../common/repository.ts';

export interface RouteResult {
  action: EventAction;
  category: string[];
  type: string[];
  outcome: EventOutcome;
  objectKind?: ObjectKind;
  repository?: string;
  tag?: string;
  digest?: string;
  uploadId?: string;
  head: boolean;
  /** True for a successful manifest GET (one image pull). */
  imagePull: boolean;
}

function outcomeOf(status: number | undefined): EventOutcome {
  if (status === undefined) return 'unknown';
  return status >= 200 && status < 400 ? 'success' : 'failure';
}

function typeOf(action: EventAction, status: number | undefined): string[] {
  const base =
    action === 'manifest-push' || action === 'blob-push' || action === 'blob-mount'
      ? 'creation'
      : action === 'manifest-delete' || action === 'blob-delete' || action === 'tag-delete'
        ? 'deletion'
        : action === 'login-failure' || action === 'auth-challenge' || action === 'access-denied'
          ? 'denied'
          : 'access';
  if (status !== undefined && status >= 400 && base !== 'denied') return [base, 'error'];
  return [base];
}

/**
 * Classifies one registry API request. Returns `undefined` when `path` is not a `/v2/` API path
 * (the caller decides whether that is ignored or rejected). Never throws.
 * @param path request path without query, already stripped of any repository-manager prefix.
 * @param params decoded query parameters (for `mount`).
 * @param authenticated true when the log names a user.
 */
export function classifyRequest(
  method: string,
  path: string,
  params: ReadonlyMap<string, string>,
  status: number | undefined,
  authenticated: boolean,
): RouteResult | undefined {
  const r = parseV2Path(path);
  if (r.route === 'unknown') return undefined;
  const m = method.toUpperCase();
  const head = m === 'HEAD';
  let action: EventAction = 'other';
  let objectKind: ObjectKind | undefined;
  let tag: string | undefined;
  let digest: string | undefined;
  switch (r.route) {
    case 'base':
      action = 'ping';
      objectKind = 'registry';
      break;
    case 'catalog':
      action = 'catalog';
      objectKind = 'registry';
      break;
    case 'tags-list':
      action = 'tags-list';
      objectKind = 'repository';
      break;
    case 'manifest':
      objectKind = 'manifest';
      if (isDigest(r.reference)) digest = r.reference;
      else tag = r.reference;
      action =
        m === 'GET'
          ? 'manifest-pull'
          : head
            ? 'manifest-head'
            : m === 'PUT'
              ? 'manifest-push'
              : m === 'DELETE'
                ? 'manifest-delete'
                : 'other';
      break;
    case 'blob':
      objectKind = 'blob';
      digest = isDigest(r.digest) ? r.digest : undefined;
      action = m === 'GET' ? 'blob-pull' : head ? 'blob-head' : m === 'DELETE' ? 'blob-delete' : 'other';
      break;
    case 'upload': {
      objectKind = 'upload';
      const d = params.get('digest');
      if (m === 'POST' && params.has('mount') && status === 201) {
        action = 'blob-mount';
        objectKind = 'blob';
        digest = isDigest(params.get('mount')) ? params.get('mount') : undefined;
      } else if (m === 'PUT') {
        action = 'blob-push';
        objectKind = 'blob';
        digest = isDigest(d) ? d : undefined;
      } else {
        action = 'upload';
      }
      break;
    }
    case 'referrers':
      action = 'other';
      objectKind = 'manifest';
      digest = isDigest(r.reference) ? r.reference : undefined;
      break;
  }
  if (status === 401) action = authenticated ? 'login-failure' : 'auth-challenge';
  else if (status === 403) action = 'access-denied';
  const outcome = outcomeOf(status);
  return {
    action,
    category: action === 'login-failure' || action === 'auth-challenge' ? ['authentication', 'web'] : ['web'],
    type: typeOf(action, status),
    outcome,
    ...(objectKind ? { objectKind } : {}),
    ...(r.name ? { repository: r.name } : {}),
    ...(tag ? { tag } : {}),
    ...(digest ? { digest } : {}),
    ...(r.uploadId ? { uploadId: r.uploadId } : {}),
    head,
    imagePull: action === 'manifest-pull' && outcome === 'success',
  };
}

/** `container.image` of a classified request (ECS: name, tag array, manifest digest in hash.all). */
export function routeContainerImage(route: RouteResult): NonNullable<RegistryEvent['container']>['image'] {
  return {
    name: route.repository,
    tag: route.tag ? [route.tag] : undefined,
    hash: route.digest && route.objectKind === 'manifest' ? { all: [route.digest] } : undefined,
  };
}

/**
 * `oci_registry.*` of a classified request from a request-log registry. Undefined members are
 * pruned by the caller.
 * @param clientFamily from classifyUserAgent; `unknown` is left out.
 * @param user the logged user name (kept as `attempted_user` on a failed login).
 */
export function routeOciFields(
  route: RouteResult,
  actor: OciRegistryFields['actor'],
  sourceFormat: string,
  clientFamily: string,
  user: string | undefined,
): OciRegistryFields {
  return {
    image_pull: route.imagePull,
    actor,
    source_format: sourceFormat,
    repository: route.repository,
    namespace: route.repository ? namespaceOf(route.repository) : undefined,
    digest: route.digest,
    tag: route.tag,
    object_kind: route.objectKind,
    upload_id: route.uploadId,
    head: route.head,
    client_family: clientFamily === 'unknown' ? undefined : clientFamily,
    attempted_user: route.action === 'login-failure' ? user : undefined,
  };
}
