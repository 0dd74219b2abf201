/**
 * Against the real Elasticsearch node (ELASTICSEARCH_URL, default http://127.0.0.1:9200; started
 * by `bash infra/up.sh es`):
 *  1. `applyElasticsearchAssets` installs every template (and ILM policies where the cluster has
 *     ILM, else a warning), and a second run reports everything unchanged;
 *  2. events the normalizer produces from the real registry fixtures are indexed into their
 *     data streams without a single mapping error, and every field they carry is mapped;
 *  3. every aggregation every dashboard panel needs, run as an ES query against that data plus
 *     sample findings / deliveries / storage / forecasts / pipeline documents built from the
 *     contracts, returns non-empty results.
 * Each run writes into namespace `it<runid>` and indices `<name>-it<runid>`, and deletes them;
 * on clusters without the `_data_stream` API (data streams cannot be deleted there) the events
 * go to the fixed namespace `regwatch_it` instead, so repeated runs do not pile up streams.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Client } from '@elastic/elasticsearch';
import { createEsClient, esConfigSchema, waitForElasticsearch } from '../../../shared/src/es/client.ts';
import { detectCapabilities, type EsCapabilities } from '../../../shared/src/es/capabilities.ts';
import { applyElasticsearchAssets } from '../../../shared/src/es/assets.ts';
import { eventsDataStream, EVENTS_DATASET_PREFIX, PLAIN_INDICES } from '../../../shared/src/es/names.ts';
import { flattenMappings } from '../../../shared/src/es/templates.ts';
import { silentLogger } from '../../../shared/src/logger.ts';
import { normalizeLine, normalizePayload } from '../../../shared/src/normalize/index.ts';
import type { RegistryEvent } from '../../../shared/src/model/registry-event.ts';
import { findingSchema, type Finding } from '../../../shared/src/model/finding.ts';
import { DASHBOARDS } from '../../../dashboards/src/boards/index.ts';
import { capacity } from '../../../dashboards/src/boards/capacity.ts';
import { DATA_VIEWS } from '../../../dashboards/src/data-views.ts';
import { dashboardQueries, type PanelQuery } from '../../../dashboards/src/queries.ts';
import { kqlToEs, parseKql } from '../../../dashboards/src/kql.ts';
import { storageDocument } from '../../../services/ingest/src/documents.ts';

const ES_URL = process.env.ELASTICSEARCH_URL ?? 'http://127.0.0.1:9200';
const FIXTURES = resolve(import.meta.dirname, '../../fixtures/registry-samples');
const runId = `it${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
/** Per-run namespace; clusters that cannot delete data streams (no _data_stream API) reuse one. */
let namespace = runId;
const plain = (role: keyof typeof PLAIN_INDICES) => `${PLAIN_INDICES[role]}-${runId}`;

let client: Client;
let caps: EsCapabilities;
const events: RegistryEvent[] = [];
const dataStreams = new Set<string>();

/** Normalizes every fixture the way the receiver/consumers do. */
function normalizeFixtures(): RegistryEvent[] {
  const out: RegistryEvent[] = [];
  for (const f of readdirSync(FIXTURES).sort()) {
    if (!/\.(json|ndjson|log)$/.test(f)) continue;
    const text = readFileSync(join(FIXTURES, f), 'utf8');
    const ctx = { receivedAt: '2025-09-01T00:00:00Z', origin: f, keepOriginal: true };
    const results = f.endsWith('.json')
      ? normalizePayload(text, 'auto', ctx)
      : text
          .split('\n')
          .filter((l) => l.trim())
          .flatMap((l, i) => normalizeLine(l, { ...ctx, offset: i }));
    for (const r of results) if (r.kind === 'event') out.push(r.event);
  }
  return out;
}

function leafPaths(v: unknown, prefix = ''): string[] {
  if (Array.isArray(v)) return v.flatMap((x) => leafPaths(x, prefix));
  if (v !== null && typeof v === 'object') {
    return Object.entries(v as Record<string, unknown>).flatMap(([k, x]) =>
      leafPaths(x, prefix ? `${prefix}.${k}` : k),
    );
  }
  return [prefix];
}

async function bulk(ops: object[], what: string): Promise<{ created: number; duplicates: number }> {
  const res = await client.bulk({ operations: ops, refresh: 'wait_for' });
  let created = 0;
  let duplicates = 0;
  const failures: string[] = [];
  for (const item of res.items) {
    const r = Object.values(item)[0];
    if (!r) continue;
    if (r.status === 201 || r.status === 200) created++;
    else if (r.status === 409) duplicates++;
    else failures.push(`${r._index}/${r._id ?? ''}: ${r.status} ${r.error?.type ?? ''}: ${r.error?.reason ?? ''}`);
  }
  assert.deepEqual(failures, [], `${what}: bulk item failures`);
  return { created, duplicates };
}

function sampleFindings(identity: string, ip: string, repo: string): Finding[] {
  const base = Date.parse('2025-08-20T12:00:00Z');
  const mk = (
    i: number,
    rule: string,
    severity: Finding['severity'],
    status: Finding['status'],
    entity: Finding['entity'],
  ): Finding =>
    findingSchema.parse({
      id: `f-${runId}-${i}`,
      rule,
      severity,
      score: 40 + i * 10,
      status,
      entity,
      window: {
        start: new Date(base + i * 3600_000).toISOString(),
        end: new Date(base + (i + 1) * 3600_000).toISOString(),
      },
      observed: { value: 120 + i, unit: 'count' },
      expected: { value: 10, unit: 'count', lower: 2, upper: 25 },
      evidence: {
        repositories: [{ name: repo, count: 100 }],
        source_ips: [{ ip, count: 100 }],
        user_agents: [{ name: 'docker', count: 100 }],
        sample_event_ids: ['e1'],
      },
      message: `${entity.id} ${rule} observed ${120 + i} vs expected 10`,
      links: { discover: 'http://kibana.example/app/discover#/' },
      labels: { team: 'platform' },
      detected_at: new Date(base + (i + 1) * 3600_000 + 60_000).toISOString(),
    });
  return [
    mk(0, 'pull.volume_spike', 'high', 'firing', { type: 'user', id: identity }),
    mk(1, 'auth.failure_burst', 'medium', 'firing', { type: 'ip', id: ip }),
    mk(2, 'repo.crawl', 'critical', 'resolved', { type: 'user', id: identity }),
  ];
}

before(async () => {
  client = createEsClient(esConfigSchema.parse({ nodes: [ES_URL] }));
  await waitForElasticsearch(client, { timeoutMs: 180_000 });
  caps = await detectCapabilities(client);
  if (!caps.dataStreamApi) namespace = 'regwatch_it';
});

after(async () => {
  if (!client) return;
  const leftovers: string[] = [];
  for (const ds of caps?.dataStreamApi ? dataStreams : []) {
    try {
      await client.indices.deleteDataStream({ name: ds });
    } catch {
      // Clusters without the _data_stream API cannot delete data streams; fall back to the backing indices.
      try {
        await client.indices.delete({ index: `.ds-${ds}-*`, expand_wildcards: 'all' });
      } catch {
        leftovers.push(ds);
      }
    }
  }
  await client.indices
    .delete({ index: `*-${runId}`, ignore_unavailable: true, allow_no_indices: true } as never)
    .catch(() => undefined);
  if (leftovers.length)
    process.stderr.write(`note: this cluster cannot delete data streams; left ${leftovers.join(', ')}\n`);
  await client.close();
});

describe('Elasticsearch assets and dashboards against a real node', () => {
  test('capabilities are detected', () => {
    assert.equal(typeof caps.ilm, 'boolean');
    assert.equal(typeof caps.dataStreamApi, 'boolean');
    assert.match(caps.version ?? '', /^\d+\.\d+\.\d+/);
  });

  test('templates install, and a second run changes nothing', async () => {
    const logger = silentLogger();
    const first = await applyElasticsearchAssets(client, { logger, namespace, capabilities: caps });
    const kinds = new Set(first.changes.map((c) => c.kind));
    assert.ok(kinds.has('component_template') && kinds.has('index_template') && kinds.has('index'));
    if (!caps.ilm) {
      assert.ok(first.warnings.some((w) => w.includes('no index lifecycle management')));
      assert.ok(first.changes.some((c) => c.kind === 'ilm_policy' && c.action === 'skipped'));
    } else {
      assert.equal(first.changes.filter((c) => c.kind === 'ilm_policy').length, 5);
    }
    const second = await applyElasticsearchAssets(client, { logger, namespace, capabilities: caps });
    const changed = second.changes.filter((c) => c.action !== 'unchanged' && c.action !== 'skipped');
    assert.deepEqual(changed, [], 'second run must be a no-op');
    const tpl = await client.indices.getIndexTemplate({ name: 'regwatch.events' });
    const it = tpl.index_templates[0]?.index_template;
    assert.equal(it?.priority, 250);
    assert.deepEqual(it?.index_patterns, ['logs-oci_registry.*-*']);
    assert.ok(it?.data_stream);
  });

  test('upgrade: a data stream created with older mappings gets the new fields; a second run adds nothing', async () => {
    // An older regwatch's template, simulated: priority above ours, a smaller mapping.
    const ns = `${runId}up`;
    const ds = eventsDataStream('oci_registry.log', ns);
    const old = `regwatch-it-old-${runId}`;
    await client.indices.putIndexTemplate({
      name: old,
      index_patterns: [`logs-oci_registry.*-${ns}`],
      priority: 900,
      data_stream: {},
      template: {
        mappings: {
          dynamic: false,
          properties: { '@timestamp': { type: 'date_nanos' }, event: { properties: { id: { type: 'keyword' } } } },
        },
      },
    });
    dataStreams.add(ds);
    try {
      await client.index({
        index: ds,
        op_type: 'create',
        document: { '@timestamp': '2026-01-01T00:00:00Z', event: { id: 'up-1' } },
      });
    } finally {
      await client.indices.deleteIndexTemplate({ name: old });
    }
    const before = flattenMappings(
      Object.values(await client.indices.getMapping({ index: ds }))[0]!.mappings as Record<string, unknown>,
    );
    assert.equal(before.has('oci_registry.original_timestamp'), false);
    const logger = silentLogger();
    const r = await applyElasticsearchAssets(client, { logger, namespace: ns, capabilities: caps });
    const m = r.changes.find((c) => c.kind === 'mapping');
    assert.equal(m?.action, 'updated');
    assert.match(m?.reason ?? '', /oci_registry\.original_timestamp/);
    const after = flattenMappings(
      Object.values(await client.indices.getMapping({ index: ds }))[0]!.mappings as Record<string, unknown>,
    );
    assert.equal(after.get('oci_registry.original_timestamp'), 'keyword');
    assert.equal(after.get('source.ip'), 'ip');
    const again = await applyElasticsearchAssets(client, { logger, namespace: ns, capabilities: caps });
    assert.equal(again.changes.filter((c) => c.kind === 'mapping').length, 0, 'nothing left to add');
  });

  test('events normalized from the real fixtures index without mapping errors, and every field is mapped', async () => {
    events.push(...normalizeFixtures());
    assert.ok(events.length > 50, `only ${events.length} events`);
    const ops: object[] = [];
    for (const e of events) {
      const ds = eventsDataStream(e.event.dataset, namespace);
      dataStreams.add(ds);
      ops.push({ create: { _index: ds, _id: e.event.id } }, e);
    }
    const { created, duplicates } = await bulk(ops, 'events');
    assert.equal(created + duplicates, events.length);
    // A reused namespace already holds these ids from an earlier run (deterministic _id → 409).
    if (namespace === runId) assert.ok(created > 50);
    // Re-sending is idempotent: every item is a 409 duplicate.
    const again = await bulk(ops, 'events replay');
    assert.equal(again.created, 0);

    const mapping = await client.indices.getMapping({
      index: `${eventsDataStream('x', namespace).replace('.x-', '.*-')}`,
    });
    for (const [index, m] of Object.entries(mapping)) {
      const fields = flattenMappings(m.mappings as Record<string, unknown>);
      for (const e of events) {
        if (!index.includes(eventsDataStream(e.event.dataset, namespace))) continue;
        for (const p of leafPaths(e))
          assert.ok(fields.has(p), `${p} (from ${e.event.dataset}) is not mapped in ${index}`);
      }
    }
    const ignored = await client.search({
      index: `logs-${EVENTS_DATASET_PREFIX}.*-${namespace}`,
      size: 5,
      query: { exists: { field: '_ignored' } },
    });
    assert.equal(
      (ignored.hits.total as { value: number }).value,
      0,
      `documents with ignored fields: ${JSON.stringify(ignored.hits.hits.map((h) => h.fields ?? h._id))}`,
    );
  });

  test('every panel of every dashboard returns non-empty results', async () => {
    assert.ok(events.length > 0, 'events test must run first');
    const users = new Map<string, number>();
    for (const e of events)
      if (e.user?.name && e.oci_registry.image_pull) users.set(e.user.name, (users.get(e.user.name) ?? 0) + 1);
    const identity = [...users.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
    assert.ok(identity, 'fixtures must contain a named puller');
    const ip = events.find((e) => e.event.action === 'login-failure' && e.source?.ip)?.source?.ip ?? '198.51.100.99';
    const repo =
      events.find((e) => e.user?.name === identity && e.oci_registry.repository)?.oci_registry.repository ??
      'library/app';

    const findings = sampleFindings(identity, ip, repo);
    const day = 86_400_000;
    const t0 = Date.parse('2025-06-01T00:00:00Z');
    // Storage samples as the collectors publish them (scopes `fs:<storage root>` from statfs and
    // `harbor:<project>` from Harbor quotas), turned into documents by the ingest indexer.
    const fsScope = 'fs:/var/lib/registry';
    const samples: Record<string, unknown>[] = [];
    for (let d = 0; d < 30; d++) {
      const used = 400e9 + d * 5e9 - (d === 20 ? 50e9 : 0);
      samples.push({
        timestamp: new Date(t0 + d * day).toISOString(),
        used_bytes: used,
        capacity_bytes: 1e12,
        scope: fsScope,
        source: 'statfs',
        instance_id: 'registry-0',
        ...(d === 20 ? { gc_freed_bytes: 50e9 } : {}),
      });
      for (const [project, hard] of [
        ['team-a', 1e11],
        ['team-b', 0],
      ] as const) {
        samples.push({
          timestamp: new Date(t0 + d * day).toISOString(),
          used_bytes: 1e9 * (d + 1),
          capacity_bytes: hard,
          scope: `harbor:${project}`,
          source: 'harbor_quota',
          instance_id: 'registry-0',
        });
      }
    }
    const storage = samples.map((s) => {
      const r = storageDocument(Buffer.from(JSON.stringify(s)));
      assert.ok(r.ok, r.ok ? '' : r.detail);
      return r.value;
    });
    const forecasts: Record<string, unknown>[] = [];
    for (let d = 30; d < 60; d++) {
      forecasts.push({
        '@timestamp': new Date(t0 + d * day).toISOString(),
        oci_registry: {
          instance_id: 'registry-0',
          forecast: {
            scope: fsScope,
            generated_at: new Date(t0 + 30 * day).toISOString(),
            method: 'robust-linear',
            used: {
              bytes: 550e9 + (d - 30) * 5e9,
              lower: { bytes: 540e9 + (d - 30) * 4e9 },
              upper: { bytes: 560e9 + (d - 30) * 6e9 },
            },
            capacity: { bytes: 1e12 },
            days_to_85: 60,
            days_to_100: 90,
          },
        },
      });
    }
    const deliveries = ['slack', 'email', 'webhook'].flatMap((channel, i) =>
      ['ok', 'retryable', 'failed'].map((result, j) => ({
        '@timestamp': new Date(t0 + (i * 3 + j) * 60_000).toISOString(),
        event: { action: 'notify', outcome: result === 'ok' ? 'success' : 'failure', duration: 120_000_000 },
        oci_registry: {
          alert: {
            finding_id: findings[0]!.id,
            rule: findings[0]!.rule,
            severity: 'high',
            status: 'firing',
            receiver: 'security',
            channel,
            group_key: 'g1',
            attempt: j + 1,
            result,
          },
        },
        ...(result === 'ok' ? { http: { response: { status_code: 200 } } } : { error: { message: 'HTTP 503' } }),
      })),
    );
    const pipeline = [0, 1, 2].flatMap((i) => [
      {
        '@timestamp': new Date(t0 + i * 60_000).toISOString(),
        service: { name: 'ingest' },
        oci_registry: {
          pipeline: { topic: 'registry.logs', consumer_group: 'ingest', consumer_lag: 10 * i, events_indexed: 500 },
        },
      },
      {
        '@timestamp': new Date(t0 + i * 60_000).toISOString(),
        service: { name: 'ingest' },
        oci_registry: {
          pipeline: { topic: 'regwatch.dlq', dlq: { reason: i === 0 ? 'not_json' : 'unknown_format', count: i + 1 } },
        },
      },
    ]);
    const ops: object[] = [];
    for (const f of findings) ops.push({ index: { _index: plain('findings'), _id: f.id } }, f);
    for (const d of deliveries) ops.push({ index: { _index: plain('deliveries') } }, d);
    for (const s of storage) ops.push({ index: { _index: plain('storage'), _id: s.id } }, s.doc);
    for (const f of forecasts) ops.push({ index: { _index: plain('forecasts') } }, f);
    for (const p of pipeline) ops.push({ index: { _index: plain('pipeline') } }, p);
    await bulk(ops, 'contract samples');

    const indexFor = (q: PanelQuery): string => {
      const view = Object.values(DATA_VIEWS).find((v) => v.title === q.index);
      assert.ok(view, `unknown data view ${q.index}`);
      if (view === DATA_VIEWS.events) return `logs-${EVENTS_DATASET_PREFIX}.*-${namespace}`;
      const role = (Object.keys(PLAIN_INDICES) as (keyof typeof PLAIN_INDICES)[]).find(
        (r) => `${PLAIN_INDICES[r]}*` === q.index,
      );
      assert.ok(role);
      return plain(role);
    };

    const identityFilter = kqlToEs(parseKql(`user.name : "${identity}"`));
    let checked = 0;
    const empty: string[] = [];
    for (const { dashboard } of DASHBOARDS) {
      for (const q of dashboardQueries(dashboard)) {
        const body = structuredClone(q.body) as { query: Record<string, unknown> };
        // The identity drilldown is always used with an identity filter (user.name or source.ip).
        if (dashboard.id === 'regwatch-identity-drilldown')
          body.query = { bool: { filter: [body.query, identityFilter] } };
        const res = await client.search({ index: indexFor(q), ...body } as never);
        checked++;
        const total = (res.hits.total as { value: number }).value;
        if (total === 0 || !hasCompleteRow(res.aggregations as Record<string, unknown> | undefined, q)) {
          empty.push(`${q.dashboard} / ${q.panel} "${q.title}" layer ${q.layer}: ${total} hits`);
        }
      }
    }
    assert.deepEqual(empty, [], 'panels without data');
    assert.ok(checked >= 35, `only ${checked} panel queries`);

    // With several scopes, the capacity levels are per scope (latest / daily max), never sums.
    const cap = dashboardQueries(capacity);
    const run = async (title: string, layer = 0): Promise<Record<string, unknown>> => {
      const q = cap.find((x) => x.title === title && x.layer === layer);
      assert.ok(q, `capacity panel ${title}`);
      const res = await client.search({ index: indexFor(q), ...q.body } as never);
      return res.aggregations as Record<string, unknown>;
    };
    type Hit = { _source: { oci_registry: { storage: { used: { bytes: number; pct?: number } } } } };
    type ScopeBucket = { key: string; m1: { hits: { hits: Hit[] } } };
    const lastUsed = (aggs: Record<string, unknown>, field: 'bytes' | 'pct') =>
      Object.fromEntries(
        (aggs.b0 as { buckets: ScopeBucket[] }).buckets.map((b) => [
          b.key,
          b.m1.hits.hits[0]?._source.oci_registry.storage.used[field],
        ]),
      );
    assert.deepEqual(lastUsed(await run('Storage used now'), 'bytes'), {
      [fsScope]: 545e9,
      'harbor:team-a': 30e9,
      'harbor:team-b': 30e9,
    });
    assert.deepEqual(lastUsed(await run('Utilization'), 'pct'), { [fsScope]: 0.545, 'harbor:team-a': 0.3 });
    type DayBucket = { key: number; b1: { buckets: { key: string; m2: { value: number }; m3: { value: number } }[] } };
    const days = ((await run('Storage used vs capacity, with forecast and interval')).b0 as { buckets: DayBucket[] })
      .buckets;
    const last = days.find((b) => b.key === t0 + 29 * day);
    assert.deepEqual(Object.fromEntries(last?.b1.buckets.map((b) => [b.key, [b.m2.value, b.m3.value]]) ?? []), {
      [fsScope]: [545e9, 1e12],
      'harbor:team-a': [30e9, 1e11],
      'harbor:team-b': [30e9, 0],
    });
    const projects = ((await run('Storage used by Harbor project (quota)')).b0 as { buckets: DayBucket[] }).buckets;
    assert.deepEqual(
      projects.find((b) => b.key === t0 + 29 * day)?.b1.buckets.map((b) => [b.key, b.m2.value]),
      [
        ['harbor:team-a', 30e9],
        ['harbor:team-b', 30e9],
      ],
    );
  });
});

/** True when some innermost bucket has a non-empty value for every metric column. */
function hasCompleteRow(aggs: Record<string, unknown> | undefined, q: PanelQuery): boolean {
  const rows: Record<string, unknown>[] = [];
  const walk = (level: Record<string, unknown>, depth: number) => {
    if (depth === q.buckets.length) return rows.push(level);
    const agg = level[q.buckets[depth]!] as { buckets?: Record<string, unknown>[] } | undefined;
    for (const b of agg?.buckets ?? []) walk(b, depth + 1);
  };
  walk(aggs ?? {}, 0);
  const ok = (row: Record<string, unknown>, m: PanelQuery['metrics'][number]): boolean => {
    if (m.spec.op === 'count') {
      const f = row[m.name] as { doc_count?: number } | undefined;
      return f ? (f.doc_count ?? 0) > 0 : ((row.doc_count as number | undefined) ?? 1) > 0;
    }
    let v = row[m.name] as Record<string, unknown> | undefined;
    if (v && 'v' in v) {
      if (((v.doc_count as number | undefined) ?? 0) === 0) return false;
      v = v.v as Record<string, unknown>;
    }
    if (!v) return false;
    if (m.spec.op === 'last_value') {
      const hit = (v.hits as { hits: { _source?: unknown }[] }).hits[0];
      return hit !== undefined && leafValue(hit._source, m.spec.field) !== undefined;
    }
    if ('values' in v) return Object.values(v.values as Record<string, number | null>).every((x) => x !== null);
    return v.value !== null && v.value !== undefined;
  };
  return rows.some((row) => q.metrics.every((m) => ok(row, m)));
}

function leafValue(src: unknown, path: string): unknown {
  let cur: unknown = src;
  for (const k of path.split('.'))
    cur = cur && typeof cur === 'object' ? (cur as Record<string, unknown>)[k] : undefined;
  return cur;
}
