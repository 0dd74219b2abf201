import { createHash } from 'node:crypto';
import type { Finding } from '../../../shared/src/model/finding.ts';

/** An alert's label set (Alertmanager vocabulary): label name → value. */
export type Labels = Readonly<Record<string, string>>;

/**
 * Derives the label set routing, grouping, silences and inhibition match on from a finding
 * (findings contract, shared/src/model/finding.ts):
 * - `alertname` and `rule`: the finding's dotted rule id;
 * - `severity`, `entity_type`, `entity_id`, `entity` (`<type>:<id>`, e.g. `user:alice`);
 * - `source_ip`: the entity id for `ip` entities, else the top evidence source IP (lets an
 *   inhibit rule say "brute force from this IP silences per-user findings from it");
 * - every `finding.labels` entry that does not shadow the names above.
 */
export function findingLabels(f: Finding): Labels {
  const derived: Record<string, string> = {
    alertname: f.rule,
    rule: f.rule,
    severity: f.severity,
    entity_type: f.entity.type,
    entity_id: f.entity.id,
    entity: `${f.entity.type}:${f.entity.id}`,
  };
  const ip = f.entity.type === 'ip' ? f.entity.id : f.evidence.source_ips[0]?.ip;
  if (ip !== undefined) derived['source_ip'] = ip;
  return { ...f.labels, ...derived };
}

/** Stable short hash (hex, 16 chars) of a string: used for group and notification keys. */
export function shortHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** Canonical text of a label subset (`{a="1",b="2"}`, names sorted), as Alertmanager prints group keys. */
export function labelsText(labels: Labels): string {
  const names = Object.keys(labels).sort();
  return `{${names.map((n) => `${n}=${JSON.stringify(labels[n] ?? '')}`).join(',')}}`;
}

/** Picks `names` from `labels` (missing names are left out, as in Alertmanager's group_by). */
export function pickLabels(labels: Labels, names: readonly string[]): Labels {
  const out: Record<string, string> = {};
  for (const n of names) {
    const v = labels[n];
    if (v !== undefined) out[n] = v;
  }
  return out;
}
