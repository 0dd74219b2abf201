import { hash32 } from '../hash-set.ts';
import type { HourBucket } from './types.ts';

/** Most repositories a bucket lists with their counts (more are counted in `repos` only). */
export const MAX_LISTED_REPOS = 4096;
/** From this many listed repositories on, a bucket also keeps a name → offset index (crawlers). */
const INDEX_AT = 16;

/** FNV-1a cut to 30 bits, so it stays a small integer in the list (no heap number per entry). */
const repoHash = (name: string): number => hash32(name) & 0x3fffffff;

/**
 * Counts one pull from repository `name` into the bucket's per-repository list
 * (`HourBucket.repoList`: flat [hash, name, count, …] triples in first-pull order) and its
 * distinct count `repos`. Per-event path, built to touch few objects: a client's requests come in
 * runs on one repository (an image is a manifest and its layers), so a repeat of the previous
 * repository bumps its count through `lastRepoAt` without a lookup; otherwise the few triples of a
 * typical bucket are scanned by hash (integers in one array; the names themselves are compared only
 * on a hash match), and a bucket with many repositories looks names up in `repoIndex`. Beyond
 * MAX_LISTED_REPOS a new repository is counted in `repos` but not listed (as before: a repository
 * that is not listed counts as new each time it comes back after another one).
 */
export function countRepoPull(b: HourBucket, name: string): void {
  if (name === b.lastRepo) {
    const at = b.lastRepoAt;
    if (at >= 0) b.repoList[at + 2] = (b.repoList[at + 2] as number) + 1;
    return;
  }
  const list = b.repoList;
  const index = b.repoIndex;
  let at = -1;
  let h = -1;
  if (index !== undefined) at = index.get(name) ?? -1;
  else {
    h = repoHash(name);
    for (let i = 0; i < list.length; i += 3) {
      if (list[i] === h && list[i + 1] === name) {
        at = i;
        break;
      }
    }
  }
  if (at >= 0) list[at + 2] = (list[at + 2] as number) + 1;
  else {
    b.repos++;
    at = listRepo(b, name, h >= 0 ? h : repoHash(name), 1);
  }
  b.lastRepo = name;
  b.lastRepoAt = at;
}

/**
 * Appends a repository that is not listed yet with count `n`; returns its offset in
 * `repoList`, or -1 when the list is full (MAX_LISTED_REPOS).
 */
function listRepo(b: HourBucket, name: string, h: number, n: number): number {
  const list = b.repoList;
  const at = list.length;
  if (at >= MAX_LISTED_REPOS * 3) return -1;
  // The first triple as an exact-size literal (the bucket's empty list is shared, never pushed to).
  if (at === 0) b.repoList = [h, name, n];
  else list.push(h, name, n);
  if (b.repoIndex !== undefined) b.repoIndex.set(name, at);
  else if (at / 3 + 1 === INDEX_AT) {
    const index = new Map<string, number>();
    for (let i = 0; i <= at; i += 3) index.set(b.repoList[i + 1] as string, i);
    b.repoIndex = index;
  }
  return at;
}

/**
 * Sets the count of repository `name` (restoring a snapshot, hour aggregates from Elasticsearch);
 * leaves `repos` alone (the caller sets the distinct count). Ignored beyond MAX_LISTED_REPOS.
 */
export function setRepoCount(b: HourBucket, name: string, n: number): void {
  const list = b.repoList;
  let at = b.repoIndex?.get(name) ?? -1;
  if (at < 0 && b.repoIndex === undefined)
    for (let i = 0; i < list.length && at < 0; i += 3) if (list[i + 1] === name) at = i;
  if (at >= 0) list[at + 2] = n;
  else listRepo(b, name, repoHash(name), n);
}

/** The bucket's [repository, pulls] pairs in first-pull order (evidence, snapshots). */
export function repoEntries(b: HourBucket): [string, number][] {
  const list = b.repoList;
  const out: [string, number][] = [];
  for (let i = 0; i < list.length; i += 3) out.push([list[i + 1] as string, list[i + 2] as number]);
  return out;
}
