import type { ActorKind } from '../../../../shared/src/model/registry-event.ts';
import type { IdentityProfile } from '../baseline/identity-profile.ts';
import type { HashSet32 } from '../hash-set.ts';

/** One identity's open (or late) hour of activity, with its evidence counters. */
export interface HourBucket {
  /** Epoch hour (ms / 3 600 000). */
  hour: number;
  pulls: number;
  bytes: number;
  events: number;
  /** Distinct repositories touched by pulls (manifest or blob GET). */
  repos: number;
  /**
   * Pulls per repository (capped at 4096 repositories) as flat [hash, name, count, …] triples in
   * first-pull order: written by countRepoPull, read with repoEntries (state/repo-counts.ts).
   */
  repoList: (string | number)[];
  /** Repository name → offset in `repoList`, once a bucket lists many (not snapshotted). */
  repoIndex: Map<string, number> | undefined;
  /**
   * Repository of the bucket's previous counted pull and the offset of its triple, -1 when not
   * listed (hot-path shortcut, not snapshotted).
   */
  lastRepo: string | undefined;
  lastRepoAt: number;
  /** Source IPs and user agents as flat [value, count, …] lists (capped at 32 values). */
  ips: (string | number)[];
  userAgents: (string | number)[];
  samples: string[];
  /** `samples.length`, kept here so the per-event path reads the bucket only (not snapshotted). */
  sampleCount: number;
  /** Late bucket: its hour was already closed when these events arrived. */
  late: boolean;
  /**
   * Per-rule early-fire thresholds (Infinity once fired) as a flat [ruleId, threshold, …] list in
   * first-set order (a few rules at most; read and written with earlyMark / setEarlyMark).
   */
  early: (string | number)[] | undefined;
}

/** Everything the detector remembers about one identity (the `regwatch.events` key). */
export interface IdentityState {
  readonly id: string;
  kind: ActorKind;
  zone: string;
  firstSeen: number;
  lastSeen: number;
  /** Days (UTC) with activity, and the last one (epoch day). */
  activeDays: number;
  lastActiveDay: number;
  profile: IdentityProfile;
  /** First-seen namespaces, networks and client families (see seen.ts). */
  seen: HashSet32;
  /** Distinct namespaces, networks, clients seen. */
  seenCounts: [number, number, number];
  /** Largest and EWMA distinct repositories per active hour (closed hours). */
  reposMax: number;
  reposLevel: number;
  /** Last namespace / IP / user agent learned (hot-path shortcut, not snapshotted). */
  lastNamespace: string | undefined;
  lastIp: string | undefined;
  lastUserAgent: string | undefined;
  /** Open hour buckets (normally one; two around an hour boundary within the allowed lateness). */
  buckets: HourBucket[];
  /** The open bucket the identity's previous event went to (hot-path shortcut, not snapshotted). */
  lastBucket: HourBucket | undefined;
}

/** Registry-wide counters of one hour (SLOs from logs). Latencies in ms. */
export interface RegistryHour {
  hour: number;
  pullRequests: number;
  pullFailures: number;
  pullLatencyMs: number[];
  authLatencyMs: number[];
  failureSamples: string[];
}

/** The identity's open bucket for epoch hour `hour` (no closure: this is on the per-event path). */
export function openBucket(st: IdentityState, hour: number): HourBucket | undefined {
  const last = st.lastBucket;
  if (last !== undefined && last.hour === hour) return last;
  const b = st.buckets;
  for (let i = b.length - 1; i >= 0; i--) if (b[i]!.hour === hour) return b[i];
  return undefined;
}

/** The early-fire threshold `ruleId` stored on the bucket, if any (Infinity once fired). */
export function earlyMark(b: HourBucket, ruleId: string): number | undefined {
  const e = b.early;
  if (e) for (let i = 0; i < e.length; i += 2) if (e[i] === ruleId) return e[i + 1] as number;
  return undefined;
}

/** Stores the early-fire threshold of `ruleId` (the list is rebuilt at its exact size when it grows). */
export function setEarlyMark(b: HourBucket, ruleId: string, threshold: number): void {
  const e = b.early;
  if (!e) {
    b.early = [ruleId, threshold];
    return;
  }
  for (let i = 0; i < e.length; i += 2) {
    if (e[i] === ruleId) {
      e[i + 1] = threshold;
      return;
    }
  }
  b.early = e.concat(ruleId, threshold);
}
