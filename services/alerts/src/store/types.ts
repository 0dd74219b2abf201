import type { GroupState } from '../group.ts';
import type { InhibitSource } from '../inhibit.ts';
import type { Silence } from '../silences.ts';
import type { ThrottleState } from '../throttle.ts';

/** A value with the store's opaque version (compare-and-set token). */
export interface Versioned<T> {
  readonly value: T;
  readonly version: string;
}

/**
 * Alerts state behind one small interface (groups, throttles, silences, claimed notifications).
 * Implementations: memory (tests), sqlite (embedded mode, node:sqlite) and Elasticsearch (full
 * mode: optimistic concurrency with `if_seq_no`/`if_primary_term`, create-if-absent with
 * `op_type=create`), which is what keeps two alerts instances from sending the same notification.
 * Methods reject with AppError (ES_UNAVAILABLE etc., retriable) when the backend is down.
 */
export interface AlertStore {
  getGroup(key: string): Promise<Versioned<GroupState> | undefined>;
  /**
   * Writes a group if nobody changed it since `version` (undefined → create only if absent).
   * `dueAt` (ms since epoch) is when `dueGroups` should return it.
   * @returns the new version, or undefined on a conflict (someone else wrote first).
   */
  putGroup(group: GroupState, dueAt: number, version: string | undefined): Promise<string | undefined>;
  /** Deletes a group if unchanged since `version`. @returns false on a conflict. */
  deleteGroup(key: string, version: string): Promise<boolean>;
  /** Keys of groups whose `dueAt` ≤ now, earliest first, at most `limit`. */
  dueGroups(now: number, limit: number): Promise<string[]>;
  /** Every firing alert in every group (inhibition sources). */
  firingAlerts(): Promise<InhibitSource[]>;
  getThrottle(key: string): Promise<ThrottleState | undefined>;
  putThrottle(key: string, state: ThrottleState): Promise<void>;
  putSilence(silence: Silence): Promise<void>;
  getSilence(id: string): Promise<Silence | undefined>;
  listSilences(): Promise<Silence[]>;
  close(): Promise<void>;
}

/** Firing alerts of a group as inhibition sources. */
export function firingOf(g: GroupState): InhibitSource[] {
  return Object.values(g.alerts)
    .filter((a) => a.status === 'firing')
    .map((a) => ({ key: a.key, labels: a.labels }));
}
