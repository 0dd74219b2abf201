import { createHash } from 'node:crypto';
import { AppError } from '../errors.ts';
import {
  ALERT_STATE_MAPPINGS,
  DELIVERY_MAPPINGS,
  EVENT_MAPPINGS,
  FINDING_MAPPINGS,
  FORECAST_MAPPINGS,
  PIPELINE_MAPPINGS,
  STORAGE_MAPPINGS,
} from './mappings.ts';
import { EVENTS_INDEX_PATTERN, PLAIN_INDICES, type PlainIndexRole } from './names.ts';

/**
 * The Elasticsearch assets as data: ILM policies, component templates, composable index
 * templates and the write-alias bootstrap indices. Pure (no I/O): `assets.ts` applies them and
 * the offline dashboard checks read them. Formats: Elasticsearch "Index templates" and
 * "Component templates" (`PUT _index_template/<name>`, `PUT _component_template/<name>`) and
 * "ILM policy" (`PUT _ilm/policy/<name>`) REST APIs, 8.x/9.x.
 */

/** Retention per data family, in days (time after rollover until the delete phase). */
export interface RetentionDays {
  events: number;
  findings: number;
  deliveries: number;
  storage: number;
  pipeline: number;
}

/** Audit data is kept long by default (13 months+); pipeline health is short-lived. */
export const DEFAULT_RETENTION_DAYS: Readonly<RetentionDays> = Object.freeze({
  events: 400,
  findings: 400,
  deliveries: 180,
  storage: 730,
  pipeline: 30,
});

/** Priority of our index templates: above Elastic's built-in `logs-*-*` (100). */
export const TEMPLATE_PRIORITY = 250;
export const MANAGED_BY = 'regwatch';

export interface NamedAsset {
  name: string;
  /** Request body without `_meta.regwatch_hash` (added by {@link withHash}). */
  body: Record<string, unknown>;
}

export interface BootstrapIndex {
  role: PlainIndexRole;
  /** The write alias every writer uses (`regwatch-findings`). */
  alias: string;
  /** The first concrete index (`regwatch-findings-000001`). */
  index: string;
}

export interface AssetSet {
  ilmPolicies: NamedAsset[];
  componentTemplates: NamedAsset[];
  indexTemplates: NamedAsset[];
  bootstrapIndices: BootstrapIndex[];
}

interface Family {
  /** Asset name stem (`regwatch.events`). */
  stem: string;
  patterns: string[];
  mappings: Record<string, unknown>;
  dataStream: boolean;
  /** Retention key when the family is managed by ILM; undefined = kept until deleted by hand. */
  retention?: keyof RetentionDays;
  /** Write alias, for plain indices that roll over. */
  rolloverAlias?: string;
  role?: PlainIndexRole;
}

const plain = (role: PlainIndexRole, mappings: Record<string, unknown>, retention?: keyof RetentionDays): Family => {
  const name = PLAIN_INDICES[role];
  return {
    stem: `regwatch.${role.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}`,
    patterns: [name, `${name}-*`],
    mappings,
    dataStream: false,
    role,
    ...(retention ? { retention, rolloverAlias: name } : {}),
  };
};

/** Every data family regwatch writes, with its patterns and mappings. */
export const FAMILIES: readonly Family[] = [
  {
    stem: 'regwatch.events',
    patterns: [EVENTS_INDEX_PATTERN],
    mappings: EVENT_MAPPINGS,
    dataStream: true,
    retention: 'events',
  },
  plain('findings', FINDING_MAPPINGS, 'findings'),
  plain('deliveries', DELIVERY_MAPPINGS, 'deliveries'),
  plain('alertState', ALERT_STATE_MAPPINGS),
  plain('storage', STORAGE_MAPPINGS, 'storage'),
  plain('forecasts', FORECAST_MAPPINGS),
  plain('pipeline', PIPELINE_MAPPINGS, 'pipeline'),
];

/**
 * Validates and completes a retention override.
 * @throws AppError CONFIG_INVALID when a value is not an integer number of days ≥ 2.
 */
export function resolveRetention(overrides: Partial<RetentionDays> = {}): RetentionDays {
  const r = { ...DEFAULT_RETENTION_DAYS, ...overrides };
  const bad = Object.entries(r).filter(([, v]) => !Number.isInteger(v) || v < 2);
  if (bad.length > 0) {
    throw new AppError(
      'CONFIG_INVALID',
      `retention must be a whole number of days >= 2: ${bad.map(([k, v]) => `${k}=${String(v)}`).join(', ')}`,
    );
  }
  return r;
}

/** ILM policy body: hot (rollover at 50 GB/primary shard or 30 days) → warm (force-merge) → delete. */
export function ilmPolicyBody(retentionDays: number): Record<string, unknown> {
  const warmDays = Math.max(1, Math.min(30, Math.floor(retentionDays / 2)));
  return {
    policy: {
      phases: {
        hot: {
          min_age: '0ms',
          actions: {
            rollover: { max_primary_shard_size: '50gb', max_age: `${Math.min(30, warmDays)}d` },
            set_priority: { priority: 100 },
          },
        },
        warm: {
          min_age: `${warmDays}d`,
          actions: { forcemerge: { max_num_segments: 1 }, set_priority: { priority: 50 } },
        },
        delete: { min_age: `${retentionDays}d`, actions: { delete: {} } },
      },
    },
  };
}

/**
 * Builds every asset. With `ilm: false` no policies are built and no `index.lifecycle.*`
 * settings are set (clusters without ILM reject unknown lifecycle policies).
 */
export function buildAssets(opts: { retentionDays?: Partial<RetentionDays>; ilm: boolean }): AssetSet {
  const retention = resolveRetention(opts.retentionDays);
  const set: AssetSet = { ilmPolicies: [], componentTemplates: [], indexTemplates: [], bootstrapIndices: [] };
  for (const f of FAMILIES) {
    // auto_expand_replicas 0-1: green on a single node, one replica as soon as a second node joins.
    const settings: Record<string, unknown> = {
      'index.mapping.total_fields.limit': 2000,
      'index.auto_expand_replicas': '0-1',
    };
    if (opts.ilm && f.retention) {
      set.ilmPolicies.push({ name: f.stem, body: ilmPolicyBody(retention[f.retention]) });
      settings['index.lifecycle.name'] = f.stem;
      if (f.rolloverAlias) settings['index.lifecycle.rollover_alias'] = f.rolloverAlias;
    }
    set.componentTemplates.push({ name: `${f.stem}@settings`, body: { template: { settings } } });
    set.componentTemplates.push({ name: `${f.stem}@mappings`, body: { template: { mappings: f.mappings } } });
    set.indexTemplates.push({
      name: f.stem,
      body: {
        index_patterns: f.patterns,
        priority: TEMPLATE_PRIORITY,
        composed_of: [`${f.stem}@settings`, `${f.stem}@mappings`, `${f.stem}@custom`],
        ignore_missing_component_templates: [`${f.stem}@custom`],
        ...(f.dataStream ? { data_stream: {} } : {}),
      },
    });
    if (f.role) {
      const alias = PLAIN_INDICES[f.role];
      set.bootstrapIndices.push({ role: f.role, alias, index: `${alias}-000001` });
    }
  }
  return set;
}

/** JSON with object keys sorted (arrays keep their order): a canonical form for hashing. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** sha256 (hex, first 16 chars) of an asset body's canonical JSON. */
export function assetHash(body: unknown): string {
  return createHash('sha256').update(canonicalJson(body)).digest('hex').slice(0, 16);
}

/**
 * The body to PUT: adds `_meta: {managed_by, regwatch_hash}` (inside `policy` for ILM) so a
 * later run can tell "unchanged" from "changed" without comparing Elasticsearch's normalized
 * echo of the body.
 */
export function withHash(
  kind: 'ilm_policy' | 'component_template' | 'index_template',
  body: Record<string, unknown>,
): { hash: string; body: Record<string, unknown> } {
  const hash = assetHash(body);
  const meta = { managed_by: MANAGED_BY, regwatch_hash: hash };
  if (kind === 'ilm_policy') {
    const policy = body.policy as Record<string, unknown>;
    return { hash, body: { ...body, policy: { ...policy, _meta: meta } } };
  }
  return { hash, body: { ...body, _meta: meta } };
}

/**
 * Composes an index template's mappings the way Elasticsearch does: component templates in
 * `composed_of` order, deep-merged, then the template's own `template.mappings`.
 */
export function composeMappings(set: AssetSet, templateName: string): Record<string, unknown> {
  const tpl = set.indexTemplates.find((t) => t.name === templateName);
  if (!tpl) throw new AppError('INTERNAL', `no index template ${templateName}`);
  let merged: Record<string, unknown> = {};
  for (const name of tpl.body.composed_of as string[]) {
    const ct = set.componentTemplates.find((c) => c.name === name);
    const m = (ct?.body.template as { mappings?: Record<string, unknown> } | undefined)?.mappings;
    if (m) merged = deepMerge(merged, m);
  }
  const own = (tpl.body.template as { mappings?: Record<string, unknown> } | undefined)?.mappings;
  return own ? deepMerge(merged, own) : merged;
}

function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] =
      prev && typeof prev === 'object' && !Array.isArray(prev) && v && typeof v === 'object' && !Array.isArray(v)
        ? deepMerge(prev as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}

/**
 * Flattens mappings to `dotted.path → ES type` (objects without a type become `object`;
 * multi-fields appear as `path.sub`; aliases resolve to their target's type).
 */
export function flattenMappings(mappings: Record<string, unknown>): Map<string, string> {
  const out = new Map<string, string>();
  const aliases: [string, string][] = [];
  const walk = (props: Record<string, unknown>, prefix: string) => {
    for (const [name, raw] of Object.entries(props)) {
      const def = raw as {
        type?: string;
        properties?: Record<string, unknown>;
        fields?: Record<string, unknown>;
        path?: string;
      };
      const path = prefix + name;
      if (def.type === 'alias' && def.path) {
        aliases.push([path, def.path]);
        continue;
      }
      if (def.properties) {
        out.set(path, def.type ?? 'object');
        walk(def.properties, `${path}.`);
      } else {
        out.set(path, def.type ?? 'object');
      }
      if (def.fields) walk(def.fields, `${path}.`);
    }
  };
  walk((mappings.properties as Record<string, unknown> | undefined) ?? {}, '');
  for (const [path, target] of aliases) {
    const t = out.get(target);
    if (t) out.set(path, t);
  }
  return out;
}

/** The index template (by name) whose patterns cover `indexName`, highest priority first. */
export function templateFor(set: AssetSet, indexName: string): NamedAsset | undefined {
  return set.indexTemplates.find((t) => (t.body.index_patterns as string[]).some((p) => globMatch(p, indexName)));
}

/** Elasticsearch-style `*` glob match. */
export function globMatch(pattern: string, name: string): boolean {
  const re = new RegExp(
    `^${pattern
      .split('*')
      .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );
  return re.test(name);
}
