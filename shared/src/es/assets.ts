import { errors, type Client } from '@elastic/elasticsearch';
import type { Logger } from '../logger.ts';
import { AppError } from '../errors.ts';
import { toEsAppError, esErrorReason } from './client.ts';
import { detectCapabilities, type EsCapabilities } from './capabilities.ts';
import { assertValidNamespace, DEFAULT_NAMESPACE, EVENTS_TYPE, EVENTS_DATASET_PREFIX } from './names.ts';
import { buildAssets, flattenMappings, withHash, type RetentionDays, type AssetSet } from './templates.ts';
import { EVENT_MAPPINGS } from './mappings.ts';

export type AssetKind = 'ilm_policy' | 'component_template' | 'index_template' | 'index' | 'mapping';
export type AssetAction = 'created' | 'updated' | 'unchanged' | 'skipped';

/** What happened to one asset. */
export interface AssetChange {
  kind: AssetKind;
  name: string;
  action: AssetAction;
  /** Why it was skipped, or what was different. */
  reason?: string;
  /** For `updated`: the `_meta.regwatch_hash` the replaced asset carried (absent: none, not regwatch's). */
  previousHash?: string;
  /** For `created`/`updated`: the hash of what was installed now. */
  hash?: string;
}

/** First 12 hex digits of an asset hash (enough to tell versions apart in a report line). */
export const shortHash = (h: string): string => h.slice(0, 12);

/**
 * The report entry after an asset was PUT: `created` when there was none; `updated` with a reason
 * saying whose asset was replaced — one installed by another regwatch version/configuration
 * (`_meta.regwatch_hash` X → Y), or one without regwatch's hash (installed by hand or by other tooling).
 */
export function changeOf(
  kind: Exclude<AssetKind, 'index'>,
  name: string,
  existing: { found: boolean; hash?: string },
  hash: string,
): AssetChange {
  if (!existing.found) return { kind, name, action: 'created', hash };
  const what = kind === 'ilm_policy' ? 'ILM policy' : 'template';
  if (existing.hash === undefined)
    return {
      kind,
      name,
      action: 'updated',
      hash,
      reason: `replaced ${what} not installed by regwatch (no _meta.regwatch_hash)`,
    };
  return {
    kind,
    name,
    action: 'updated',
    hash,
    previousHash: existing.hash,
    reason: `replaced ${what} installed by another regwatch version (hash ${shortHash(existing.hash)} → ${shortHash(hash)})`,
  };
}

/** Result of {@link applyElasticsearchAssets}. */
export interface SetupReport {
  capabilities: EsCapabilities;
  changes: AssetChange[];
  /** Human-readable warnings (missing ILM, pre-existing concrete indices, …). */
  warnings: string[];
}

/** How many assets of a report ended in each action; `changed` = created + updated (skipped is not a change). */
export interface SetupCounts {
  created: number;
  updated: number;
  unchanged: number;
  skipped: number;
  changed: number;
}

/**
 * Counts the report's assets per action, for one-line summaries (the ingest start-up log, the
 * setup command's stderr). An asset `skipped` (an ILM policy on a cluster without ILM, an index
 * that exists as a concrete index) counts as skipped, never as changed.
 */
export function countSetupChanges(report: Pick<SetupReport, 'changes'>): SetupCounts {
  const n = { created: 0, updated: 0, unchanged: 0, skipped: 0 };
  for (const c of report.changes) n[c.action] += 1;
  return { ...n, changed: n.created + n.updated };
}

export interface ApplyOptions {
  /** Retention overrides in days (defaults: events 400, findings 400, deliveries 180, storage 730, pipeline 30). */
  retentionDays?: Partial<RetentionDays>;
  /** Events namespace to check for data streams created before the templates (default `default`). */
  namespace?: string;
  logger: Logger;
  /** Capabilities already probed (skips the probe). */
  capabilities?: EsCapabilities;
}

const isNotFound = (err: unknown): boolean => err instanceof errors.ResponseError && err.statusCode === 404;

/**
 * Installs regwatch's Elasticsearch assets idempotently, in dependency order: ILM policies
 * (only when the cluster has ILM; otherwise one warning and every policy reported `skipped`),
 * component templates, composable index templates (priority 250, above the built-in
 * `logs-*-*`), then the first index + write alias for each rolled-over plain index, then the
 * event fields missing from existing data streams of `opts.namespace` (added with PUT _mapping,
 * reported as one `mapping` change; a conflicting field type is a warning to roll over).
 *
 * Each asset carries `_meta.regwatch_hash` (sha256 of its body); an asset whose installed hash
 * equals ours is `unchanged`, a different or missing one is `updated`/`created`. An `updated`
 * entry says whose asset it replaced (see {@link changeOf}), and a warning is added when any asset
 * carried another regwatch hash, so two deployments sharing one cluster get noticed.
 *
 * @returns a report listing created/updated/unchanged/skipped per asset plus warnings.
 * @throws AppError ES_AUTH_FAILED (401/403), ES_UNAVAILABLE (retriable: unreachable, 429, 5xx),
 *   ES_SETUP_FAILED (Elasticsearch rejected an asset; the message names it and gives the reason),
 *   CONFIG_INVALID (bad retention or namespace).
 */
export async function applyElasticsearchAssets(client: Client, opts: ApplyOptions): Promise<SetupReport> {
  const log = opts.logger.child({ component: 'es-setup' });
  const namespace = assertValidNamespace(opts.namespace ?? DEFAULT_NAMESPACE);
  const capabilities = opts.capabilities ?? (await detectCapabilities(client));
  const assets: AssetSet = buildAssets({
    ilm: capabilities.ilm,
    ...(opts.retentionDays ? { retentionDays: opts.retentionDays } : {}),
  });
  const changes: AssetChange[] = [];
  const warnings: string[] = [];
  const record = (c: AssetChange) => {
    changes.push(c);
    log.info({ asset: c.name, kind: c.kind, action: c.action }, `${c.kind} ${c.name}: ${c.action}`);
  };

  if (!capabilities.ilm) {
    warnings.push(
      'this cluster has no index lifecycle management (_ilm): ILM policies were not installed and indices will not roll over or be deleted automatically; delete old data by hand or enable ILM and re-run setup',
    );
    record({ kind: 'ilm_policy', name: '*', action: 'skipped', reason: 'ILM not available on this cluster' });
  }

  for (const p of assets.ilmPolicies) {
    const { hash, body } = withHash('ilm_policy', p.body);
    const existing = await get(
      () => client.ilm.getLifecycle({ name: p.name }),
      (r) =>
        (r as Record<string, { policy?: { _meta?: { regwatch_hash?: string } } }>)[p.name]?.policy?._meta
          ?.regwatch_hash,
      `reading ILM policy ${p.name}`,
    );
    if (existing.found && existing.hash === hash) {
      record({ kind: 'ilm_policy', name: p.name, action: 'unchanged' });
      continue;
    }
    await put(() => client.ilm.putLifecycle({ name: p.name, ...(body as object) }), `ILM policy ${p.name}`);
    record(changeOf('ilm_policy', p.name, existing, hash));
  }

  for (const c of assets.componentTemplates) {
    const { hash, body } = withHash('component_template', c.body);
    const existing = await get(
      () => client.cluster.getComponentTemplate({ name: c.name }),
      (r) =>
        (r as { component_templates?: { component_template?: { _meta?: { regwatch_hash?: string } } }[] })
          .component_templates?.[0]?.component_template?._meta?.regwatch_hash,
      `reading component template ${c.name}`,
    );
    if (existing.found && existing.hash === hash) {
      record({ kind: 'component_template', name: c.name, action: 'unchanged' });
      continue;
    }
    await put(
      () => client.cluster.putComponentTemplate({ name: c.name, ...(body as object) } as never),
      `component template ${c.name}`,
    );
    record(changeOf('component_template', c.name, existing, hash));
  }

  for (const t of assets.indexTemplates) {
    const { hash, body } = withHash('index_template', t.body);
    const existing = await get(
      () => client.indices.getIndexTemplate({ name: t.name }),
      (r) =>
        (r as { index_templates?: { index_template?: { _meta?: { regwatch_hash?: string } } }[] }).index_templates?.[0]
          ?.index_template?._meta?.regwatch_hash,
      `reading index template ${t.name}`,
    );
    if (existing.found && existing.hash === hash) {
      record({ kind: 'index_template', name: t.name, action: 'unchanged' });
      continue;
    }
    await put(
      () => client.indices.putIndexTemplate({ name: t.name, ...(body as object) } as never),
      `index template ${t.name}`,
    );
    record(changeOf('index_template', t.name, existing, hash));
  }

  for (const b of assets.bootstrapIndices) {
    try {
      if (await client.indices.existsAlias({ name: b.alias })) {
        record({ kind: 'index', name: b.alias, action: 'unchanged', reason: 'write alias exists' });
        continue;
      }
      if (await client.indices.exists({ index: b.alias })) {
        warnings.push(
          `${b.alias} already exists as a concrete index (written before setup), so it cannot become a rollover alias; it keeps working but will not roll over`,
        );
        record({
          kind: 'index',
          name: b.alias,
          action: 'skipped',
          reason: 'concrete index with the alias name exists',
        });
        continue;
      }
      await client.indices.create({ index: b.index, aliases: { [b.alias]: { is_write_index: true } } });
      record({ kind: 'index', name: `${b.index} (alias ${b.alias})`, action: 'created' });
    } catch (err) {
      if (err instanceof errors.ResponseError && esErrorReason(err).startsWith('resource_already_exists_exception')) {
        record({ kind: 'index', name: b.alias, action: 'unchanged', reason: 'created concurrently' });
        continue;
      }
      throw toEsAppError(err, `creating ${b.index} with write alias ${b.alias}`, 'ES_SETUP_FAILED');
    }
  }

  // Upgrades: fields a newer regwatch adds are put on the existing event data streams of this
  // namespace too (additive PUT _mapping on their backing indices). The template alone only reaches
  // backing indices created after it, and with `dynamic: false` a new field would stay unsearchable
  // until the next rollover. A conflicting change (a field's type changed) is a warning: roll over.
  {
    const pattern = `${EVENTS_TYPE}-${EVENTS_DATASET_PREFIX}.*-${namespace}`;
    try {
      const current = await client.indices.getMapping({
        index: pattern,
        allow_no_indices: true,
        expand_wildcards: 'all',
      });
      const wanted = [...flattenMappings(EVENT_MAPPINGS as unknown as Record<string, unknown>).keys()];
      const missing = new Set<string>();
      for (const m of Object.values(current)) {
        const have = flattenMappings(m.mappings as Record<string, unknown>);
        for (const f of wanted) if (!have.has(f)) missing.add(f);
      }
      if (missing.size > 0) {
        await client.indices.putMapping({
          index: pattern,
          allow_no_indices: true,
          expand_wildcards: 'all',
          properties: EVENT_MAPPINGS.properties,
        });
        record({
          kind: 'mapping',
          name: pattern,
          action: 'updated',
          reason: `added to existing data streams: ${[...missing].sort().join(', ')}`,
        });
      }
    } catch (err) {
      if (err instanceof errors.ResponseError && err.statusCode === 400) {
        warnings.push(
          `the event mappings could not be applied to the existing data streams ${pattern} (${esErrorReason(err)}): roll them over (POST <data stream>/_rollover) so new backing indices get the current mappings`,
        );
      } else if (!isNotFound(err)) throw toEsAppError(err, `updating the mappings of ${pattern}`, 'ES_SETUP_FAILED');
    }
  }

  if (capabilities.dataStreamApi) {
    const pattern = `${EVENTS_TYPE}-${EVENTS_DATASET_PREFIX}.*-${namespace}`;
    try {
      const ds = await client.indices.getDataStream({ name: pattern });
      for (const d of ds.data_streams) {
        if (d.template !== 'regwatch.events') {
          warnings.push(
            `data stream ${d.name} was created with template ${d.template}, not regwatch.events: roll it over (POST ${d.name}/_rollover) so new backing indices get regwatch mappings`,
          );
        }
      }
    } catch (err) {
      if (!isNotFound(err)) throw toEsAppError(err, `listing data streams ${pattern}`, 'ES_SETUP_FAILED');
    }
  } else {
    warnings.push(
      'this cluster has no _data_stream API: existing data streams were not checked (templates apply to new ones)',
    );
  }

  const replaced = changes.filter((c) => c.action === 'updated' && c.previousHash !== undefined);
  if (replaced.length > 0) {
    warnings.push(
      `${replaced.length} asset(s) had been installed by a different regwatch version or configuration (${replaced
        .map((c) => c.name)
        .join(
          ', ',
        )}): expected after an upgrade or a retention change; otherwise another regwatch deployment shares this cluster and the two will keep replacing each other's assets`,
    );
  }
  for (const w of warnings) log.warn(w);
  return { capabilities, changes, warnings };
}

async function get(
  fn: () => Promise<unknown>,
  pick: (r: unknown) => string | undefined,
  what: string,
): Promise<{ found: boolean; hash?: string }> {
  try {
    const r = await fn();
    const hash = pick(r);
    return hash === undefined ? { found: true } : { found: true, hash };
  } catch (err) {
    if (isNotFound(err)) return { found: false };
    throw toEsAppError(err, what, 'ES_SETUP_FAILED');
  }
}

async function put(fn: () => Promise<unknown>, what: string): Promise<void> {
  try {
    await fn();
  } catch (err) {
    const e = toEsAppError(err, `installing ${what}`, 'ES_SETUP_FAILED');
    throw e.code === 'ES_SETUP_FAILED'
      ? new AppError('ES_SETUP_FAILED', e.message, { cause: err, retriable: false })
      : e;
  }
}

/** One line per change plus warnings, for humans (stderr). */
export function formatSetupReport(report: SetupReport): string {
  const lines = report.changes.map(
    (c) => `${c.action.padEnd(9)} ${c.kind.padEnd(18)} ${c.name}${c.reason ? ` (${c.reason})` : ''}`,
  );
  const v = report.capabilities.version ? ` ${report.capabilities.version}` : '';
  lines.unshift(
    `Elasticsearch${v}: ilm=${report.capabilities.ilm} data_stream_api=${report.capabilities.dataStreamApi}`,
  );
  const n = countSetupChanges(report);
  lines.push(`${n.created} created, ${n.updated} updated, ${n.unchanged} unchanged, ${n.skipped} skipped`);
  for (const w of report.warnings) lines.push(`warning: ${w}`);
  return lines.join('\n');
}
