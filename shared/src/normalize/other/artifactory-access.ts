/**
 * Source `artifactory-access`: JFrog Artifactory `artifactory-access.log` (security decisions).
 *
 * Format (FORMATS.md §1d, JFrog docs "Access Log"; sample 40):
 * `<yyyy-MM-dd HH:mm:ss,SSS> [<trace id>] [ACCEPTED|DENIED <ACTION>] <repo-key>:<path> for <user>/<ip>.`
 * The timestamp has no zone (server local time); it is read as UTC unless the source is created
 * with another `naiveZone`. The trace id is absent in old versions.
 *
 * Docker storage paths (sample 40; the exact layout is **UNCONFIRMED** in FORMATS.md):
 * `<image>/<tag>/manifest.json` (manifest), `<image>/<tag>/list.manifest.json` (index),
 * `<image>/…/sha256__<hex>` (blob, digest `sha256:<hex>`), `…/_uploads/…` (upload).
 * Actions: ACCEPTED DOWNLOAD → `manifest-pull`/`blob-pull`, DEPLOY → `manifest-push`/`blob-push`,
 * DELETE → `manifest-delete`/`blob-delete`, LOGIN → `login-success`; any DENIED decision →
 * `access-denied` (DENIED LOGIN → `login-failure`). Paths that are not Docker artifacts (a `.jar`
 * in a Maven cache) are returned as `ignored`.
 * `event.id` = stableId(trace id, timestamp, decision, action, repo-key:path, user, ip);
 * `event.dataset: artifactory.access`.
 */
import type { EventAction, ObjectKind, RegistryEvent } from '../../model/registry-event.ts';
import { actorKind } from '../common/actor.ts';
import { parseAddress } from '../common/address.ts';
import { stableId } from '../common/hash.ts';
import { namespaceOf } from '../common/repository.ts';
import type { TextSource } from '../sources/types.ts';
import type { NormalizeContext, NormalizeResult } from '../types.ts';
import { applyContext } from '../common/event.ts';
import { accept, actorFields, prune, reject, timeToUtc } from '../harbor/build.ts';

const LINE_RE =
  /^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:,\d{1,3})?) (?:\[([^\]\s]*)\] )?\[(ACCEPTED|DENIED) ([A-Z_]+(?: [A-Z_]+)*)\] (?:([^:\s]+):(\S*) )?for (.*)\/([^/\s]*?)\.?$/;

interface DockerPath {
  objectKind: ObjectKind;
  repository?: string;
  tag?: string;
  digest?: string;
}

/** Classifies an Artifactory Docker storage path; `undefined` when it is not a Docker artifact. */
export function parseDockerStoragePath(path: string): DockerPath | undefined {
  const parts = path.split('/').filter((p) => p !== '');
  const last = parts[parts.length - 1];
  if (!last) return undefined;
  if (parts.includes('_uploads')) {
    const i = parts.indexOf('_uploads');
    return { objectKind: 'upload', ...(i > 0 ? { repository: parts.slice(0, i).join('/') } : {}) };
  }
  if (last === 'manifest.json' || last === 'list.manifest.json') {
    if (parts.length < 3) return undefined;
    return {
      objectKind: last === 'manifest.json' ? 'manifest' : 'index',
      repository: parts.slice(0, -2).join('/'),
      tag: parts[parts.length - 2] ?? '',
    };
  }
  const blob = /^(sha256|sha512)__([a-f0-9]{64,128})$/.exec(last);
  if (blob && parts.length >= 2) {
    return { objectKind: 'blob', repository: parts.slice(0, -1).join('/'), digest: `${blob[1]}:${blob[2]}` };
  }
  return undefined;
}

function actionFor(decision: string, verb: string, kind: ObjectKind | undefined): EventAction {
  if (verb === 'LOGIN') return decision === 'ACCEPTED' ? 'login-success' : 'login-failure';
  if (decision === 'DENIED') return 'access-denied';
  const manifest = kind === 'manifest' || kind === 'index';
  if (kind === 'upload') return 'upload';
  if (verb === 'DOWNLOAD') return manifest ? 'manifest-pull' : 'blob-pull';
  if (verb === 'DEPLOY') return manifest ? 'manifest-push' : 'blob-push';
  if (verb === 'DELETE') return manifest ? 'manifest-delete' : 'blob-delete';
  return 'other';
}

/** Options for an access-log source instance. */
export interface ArtifactoryAccessOptions {
  /** IANA zone the server writes its local timestamps in. Default `UTC`. */
  naiveZone?: string;
}

/** Creates the access-log source; the registered instance uses the defaults. */
export function createArtifactoryAccessSource(opts: ArtifactoryAccessOptions = {}): TextSource {
  function normalize(line: string, ctx: NormalizeContext): NormalizeResult[] {
    const m = LINE_RE.exec(line.trimEnd());
    if (!m)
      return [reject('schema_mismatch', 'artifactory access log: line does not match the documented format', line)];
    const [, ts = '', trace, decision = '', verb = '', repoKey, path, userRaw = '', ipRaw = ''] = m;
    const timestamp = timeToUtc(ts, opts.naiveZone);
    if (!timestamp) return [reject('invalid_timestamp', `artifactory access log: timestamp "${ts}"`, line)];
    const docker = path !== undefined ? parseDockerStoragePath(path) : undefined;
    if (verb !== 'LOGIN' && !docker)
      return [{ kind: 'ignored', reason: 'artifactory access to a non-Docker artifact' }];
    const action = actionFor(decision, verb, docker?.objectKind);
    const user = userRaw === '' || userRaw === 'anonymous' ? undefined : userRaw;
    const { user: userField, actor } = actorFields(user, actorKind(user));
    const outcome = decision === 'ACCEPTED' ? 'success' : 'failure';
    const isAuth = action === 'login-success' || action === 'login-failure';
    const baseType =
      action.endsWith('-push') || action === 'upload'
        ? 'creation'
        : action.endsWith('-delete')
          ? 'deletion'
          : isAuth
            ? 'start'
            : 'access';
    const event: RegistryEvent = {
      '@timestamp': timestamp,
      message: `${decision} ${verb}${repoKey ? ` ${repoKey}:${path ?? ''}` : ''}`,
      event: {
        kind: 'event',
        category: isAuth ? ['authentication'] : ['web'],
        type: outcome === 'failure' && !isAuth ? [baseType, 'denied'] : [baseType],
        action,
        outcome,
        id: stableId(trace, ts, decision, verb, `${repoKey ?? ''}:${path ?? ''}`, userRaw, ipRaw),
        dataset: 'artifactory.access',
      },
      ...(userField ? { user: userField } : {}),
      source: parseAddress(ipRaw),
      ...(trace ? { http: { request: { id: trace } } } : {}),
      container: {
        image: {
          name: docker?.repository,
          tag: docker?.tag ? [docker.tag] : undefined,
        },
      },
      service: { type: 'artifactory' },
      oci_registry: {
        image_pull: action === 'manifest-pull',
        actor,
        source_format: 'artifactory-access',
        repository: docker?.repository,
        namespace: docker?.repository ? namespaceOf(docker.repository) : undefined,
        digest: docker?.digest,
        tag: docker?.tag,
        object_kind: docker?.objectKind,
        attempted_user: action === 'login-failure' ? user : undefined,
      },
    };
    applyContext(event, line, ctx);
    return [accept(prune(event))];
  }
  return {
    id: 'artifactory-access',
    matches: (line) => /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/.test(line) && /\[(?:ACCEPTED|DENIED) [A-Z]/.test(line),
    normalize,
  };
}

/** Artifactory access log source (`event.dataset: artifactory.access`), timestamps read as UTC. */
export const artifactoryAccessSource: TextSource = createArtifactoryAccessSource();
