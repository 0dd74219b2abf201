import type { IdentityState } from './types.ts';

/** Settings every rule may consult (from the detector config). */
export interface DetectionSettings {
  /** Kibana base URL for Discover links (none → no link). */
  kibanaUrl?: string;
  /** Kibana data view id for the events (optional). */
  dataView?: string;
  /** Default IANA zone for "usual hours" and hour-of-week. */
  defaultZone: string;
  /** Identity groups with their own zone: first `pattern` (regex on the identity) that matches wins. */
  zoneGroups: readonly { pattern: string; zone: string }[];
  /** Identities that are CI/automation (regex on the identity). */
  ciPattern: string;
  /** Teams: who belongs (regex on the identity) and which namespaces they own. */
  teams: readonly { name: string; members: string; namespaces: readonly string[] }[];
  /** Allowed lateness before an hour closes (ms of event time). */
  allowedLatenessMs: number;
  /** Days of history before an identity is judged against its own baseline. */
  warmupDays: number;
}

/** Read/write access rules get to engine state (all of it is snapshotted). */
export interface EngineView {
  readonly settings: DetectionSettings;
  /** Rule-owned state for `key`, created with `init` on first use; dropped after `ttlMs` unused. */
  keyed<T>(ruleId: string, key: string, init: () => T, ttlMs?: number): T;
  /** Existing rule-owned state for `key`, if any. */
  peek<T>(ruleId: string, key: string): T | undefined;
  identity(id: string): IdentityState | undefined;
  /** True when the identity matches the CI pattern. */
  isCi(identity: string): boolean;
  /** Namespaces owned by the identity's team, or undefined when it is in no configured team. */
  teamNamespaces(identity: string): readonly string[] | undefined;
  /** Namespaces owned by any configured team. */
  ownedBy(namespace: string): string | undefined;
  /** Upper quantile (p99) of per-identity active-hour values of `metric` across the population. */
  populationP99(metric: 'pulls' | 'bytes' | 'repos'): number | undefined;
  /** True when the identity has ≥ warmupDays of history. */
  isWarm(identity: IdentityState, now: number): boolean;
}
