/**
 * Harbor artifact references as they appear in webhooks (`resources[].tag`, `resource_url`) and in
 * audit records (`resource`). Pure string logic, no I/O.
 *
 * Sources: ../shared/design/FORMATS.md §1c.2 (`resource_url` = `<host>/<repo>:<tag>` or
 * `<host>/<repo>@<digest>`, Harbor 2.0 wrote `<host>/<repo>:sha256:<hex>`), §1c.5 (`resource` is
 * `repo:tag` or `repo@digest`), FORMAT-EDGE-CASES.md #37, case C06.
 */

import { isDigest } from '../common/repository.ts';

/**
 * Harbor's `tag` field, cleaned per case C06: empty, equal to the digest, or starting with
 * `sha256:` (any digest) all mean "no tag" and give `undefined`.
 */
export function harborTag(tag: string | undefined, digest: string | undefined): string | undefined {
  if (tag === undefined) return undefined;
  const t = tag.trim();
  if (t === '' || t === digest || t.startsWith('sha256:') || isDigest(t)) return undefined;
  return t;
}

export interface ArtifactRef {
  /** Full repository path (`project/name`, any depth). */
  repository: string;
  tag?: string;
  digest?: string;
}

/**
 * Splits `repo:tag`, `repo@digest` and the Harbor 2.0 / v2.6 form `repo:sha256:<hex>` into parts.
 * A bare `repo` gives only `repository`; a trailing bare `:` (C06 scan payload) is dropped.
 * Returns `undefined` for an empty string. Never throws.
 */
export function splitArtifactRef(ref: string): ArtifactRef | undefined {
  const s = ref.trim();
  if (s === '') return undefined;
  const at = s.indexOf('@');
  if (at > 0) {
    const digest = s.slice(at + 1);
    return { repository: s.slice(0, at), ...(digest ? { digest } : {}) };
  }
  const legacy = /^(.+?):([a-z0-9]+:[a-zA-Z0-9=_-]{32,})$/.exec(s);
  if (legacy?.[1] && legacy[2] && isDigest(legacy[2])) return { repository: legacy[1], digest: legacy[2] };
  // A tag is after the last ':' that follows the last '/' (a ':' before a '/' is a host port).
  const slash = s.lastIndexOf('/');
  const colon = s.lastIndexOf(':');
  if (colon > slash) {
    const repository = s.slice(0, colon);
    const tag = s.slice(colon + 1);
    if (repository === '') return undefined;
    return tag === '' ? { repository } : { repository, tag };
  }
  return { repository: s };
}

/**
 * Parses a webhook `resource_url` (no scheme: `harbor.example.com/team-a/app:latest`,
 * `…/app@sha256:…`, Harbor 2.0 `…/app:sha256:…`). The first path component is the Harbor host.
 * Returns `undefined` when there is no `/` (not a resource URL).
 */
export function parseResourceUrl(url: string): (ArtifactRef & { host: string }) | undefined {
  const s = url.trim().replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
  const slash = s.indexOf('/');
  if (slash <= 0) return undefined;
  const ref = splitArtifactRef(s.slice(slash + 1));
  if (!ref) return undefined;
  return { host: s.slice(0, slash), ...ref };
}
