import { createHash } from 'node:crypto';
import type { Finding, Severity } from '../../../shared/src/model/finding.ts';

export type EntityType = Finding['entity']['type'];

/** A detection before it becomes a Finding (rules produce these; the builder adds id, links, time). */
export interface Detection {
  rule: string;
  severity: Severity;
  /** 0–100. */
  score: number;
  entity: { type: EntityType; id: string };
  /** Event-time window, ms since epoch. */
  windowStart: number;
  windowEnd: number;
  observed: { value: number; unit: string; lower?: number; upper?: number };
  expected: { value: number; unit: string; lower?: number; upper?: number };
  evidence?: {
    repositories?: { name: string; count: number }[];
    source_ips?: { ip: string; count: number }[];
    user_agents?: { name: string; count: number }[];
    sample_event_ids?: string[];
    extra?: Record<string, unknown>;
  };
  message: string;
  labels?: Record<string, string>;
  /** Kibana query (KQL) selecting the evidence; defaults to the entity. */
  kql?: string;
  /** `resolved` when the rule reports the end of a finding it fired (same id); default `firing`. */
  status?: 'firing' | 'resolved';
}

/**
 * Stable finding id: first 32 hex chars of SHA-256 over `rule|entity.type|entity.id|windowStart`
 * (window start as ISO 8601), so re-runs, replays and restarts produce the same id.
 */
export function findingId(rule: string, entity: { type: string; id: string }, windowStartMs: number): string {
  return createHash('sha256')
    .update(`${rule}|${entity.type}|${entity.id}|${new Date(windowStartMs).toISOString()}`)
    .digest('hex')
    .slice(0, 32);
}

const risonString = (s: string): string => `'${s.replace(/!/g, '!!').replace(/'/g, "!'")}'`;

/**
 * Kibana Discover URL for a KQL query over an event-time window
 * (`<base>/app/discover#/?_g=(time:(from:'…',to:'…'))&_a=(query:(language:kuery,query:'…'))`,
 * rison-encoded as Kibana expects). Returns undefined without a base URL.
 */
export function discoverLink(
  kibanaUrl: string | undefined,
  kql: string,
  fromMs: number,
  toMs: number,
  dataView?: string,
): string | undefined {
  if (!kibanaUrl) return undefined;
  const g = `(time:(from:${risonString(new Date(fromMs).toISOString())},to:${risonString(new Date(toMs).toISOString())}))`;
  const a = `(${dataView ? `dataSource:(dataViewId:${risonString(dataView)},type:dataView),` : ''}query:(language:kuery,query:${risonString(kql)}))`;
  return `${kibanaUrl.replace(/\/+$/, '')}/app/discover#/?_g=${encodeURIComponent(g)}&_a=${encodeURIComponent(a)}`;
}

const kqlValue = (s: string): string => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/** Default KQL for an entity: `user.name:"x"`, `source.ip:"x"`, `oci_registry.repository:"x"`, … */
export function entityKql(entity: { type: EntityType; id: string }): string {
  switch (entity.type) {
    case 'user':
      return `user.name:${kqlValue(entity.id)}`;
    case 'ip':
      return `source.ip:${kqlValue(entity.id)}`;
    case 'repository':
      return `oci_registry.repository:${kqlValue(entity.id)}`;
    case 'namespace':
      return `oci_registry.namespace:${kqlValue(entity.id)}`;
    default:
      return '*';
  }
}

export interface BuildOptions {
  kibanaUrl?: string;
  dataView?: string;
  /** Processing time (ms), becomes `detected_at`. */
  detectedAt: number;
  status?: 'firing' | 'resolved';
}

/** Turns a Detection into a Finding (contract: shared/src/model/finding.ts). */
export function buildFinding(d: Detection, o: BuildOptions): Finding {
  const link = discoverLink(o.kibanaUrl, d.kql ?? entityKql(d.entity), d.windowStart, d.windowEnd, o.dataView);
  return {
    id: findingId(d.rule, d.entity, d.windowStart),
    rule: d.rule,
    severity: d.severity,
    score: Math.round(Math.min(100, Math.max(0, d.score)) * 10) / 10,
    status: o.status ?? d.status ?? 'firing',
    entity: d.entity,
    window: { start: new Date(d.windowStart).toISOString(), end: new Date(d.windowEnd).toISOString() },
    observed: d.observed,
    expected: d.expected,
    evidence: {
      repositories: d.evidence?.repositories ?? [],
      source_ips: d.evidence?.source_ips ?? [],
      user_agents: d.evidence?.user_agents ?? [],
      sample_event_ids: d.evidence?.sample_event_ids ?? [],
      ...(d.evidence?.extra ? { extra: d.evidence.extra } : {}),
    },
    message: d.message,
    links: link ? { discover: link } : {},
    labels: d.labels ?? {},
    detected_at: new Date(o.detectedAt).toISOString(),
  };
}

/** Entity of an identity key: `ip:1.2.3.4` → ip, else user. */
export function identityEntity(identity: string): { type: EntityType; id: string } {
  return identity.startsWith('ip:') ? { type: 'ip', id: identity.slice(3) } : { type: 'user', id: identity };
}

/** Severity from a ratio of observed over the alerting threshold (≥ 1 means over it). */
export function severityFromRatio(r: number, base: Severity = 'medium'): Severity {
  if (r >= 10) return 'critical';
  if (r >= 3) return 'high';
  if (r >= 1) return base;
  return 'low';
}

/** Score 0–100 from a ratio over threshold: 50 at the threshold, → 100 as it grows. */
export function scoreFromRatio(r: number): number {
  if (r <= 0) return 0;
  return Math.min(100, 50 + 50 * (1 - 1 / Math.max(1, r)) + (r < 1 ? (r - 1) * 50 : 0));
}

/** Formats a count with thousands separators. */
export const fmt = (n: number): string =>
  Number.isInteger(n) ? n.toLocaleString('en-US') : n.toLocaleString('en-US', { maximumFractionDigits: 1 });

/** Formats a byte figure (binary units). */
export function fmtBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(v >= 10 || u === 0 ? 0 : 1)} ${units[u]}`;
}
