/**
 * Offline checks of the committed dashboards (issue 8 "Proof"; KIBANA.md §2.2): NDJSON line
 * validity, reference integrity (panel, by-value Lens layer, drilldown, search source), field
 * existence and type compatibility against the committed index templates, data view patterns
 * vs. the names the pipeline writes, grid fit, and regeneration without diff.
 * Everything is read from the NDJSON files themselves, not from the builders.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { renderAll, DASHBOARDS_DIR } from '../../../dashboards/src/build.ts';
import { CORE_MIGRATION_VERSION, TYPE_MIGRATION_VERSIONS } from '../../../dashboards/src/kibana.ts';
import { kqlFields, parseKql } from '../../../dashboards/src/kql.ts';
import {
  buildAssets,
  composeMappings,
  flattenMappings,
  globMatch,
  templateFor,
} from '../../../shared/src/es/templates.ts';
import { EVENT_DATASETS } from '../../../shared/src/model/registry-event.ts';
import {
  ALERT_STATE_INDEX,
  DELIVERIES_INDEX,
  eventsDataStream,
  FINDINGS_INDEX,
  FORECASTS_INDEX,
  PIPELINE_INDEX,
  STORAGE_INDEX,
} from '../../../shared/src/es/names.ts';

interface Ref {
  name: string;
  type: string;
  id: string;
}
interface Obj {
  type: string;
  id: string;
  attributes: Record<string, unknown>;
  references: Ref[];
  coreMigrationVersion?: string;
  typeMigrationVersion?: string;
}

const files = readdirSync(DASHBOARDS_DIR)
  .filter((f) => f.endsWith('.ndjson'))
  .sort();
const read = (f: string) => readFileSync(join(DASHBOARDS_DIR, f), 'utf8');
const parse = (f: string): Obj[] =>
  read(f)
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Obj);

const assets = buildAssets({ ilm: true });
const NUMERIC = new Set([
  'long',
  'integer',
  'short',
  'byte',
  'double',
  'float',
  'half_float',
  'scaled_float',
  'unsigned_long',
]);
const AGGREGATABLE = new Set(['keyword', 'constant_keyword', 'ip', 'boolean', ...NUMERIC]);
const DATE = new Set(['date', 'date_nanos']);
const compatible: Record<string, (t: string) => boolean> = {
  date_histogram: (t) => DATE.has(t),
  terms: (t) => AGGREGATABLE.has(t),
  unique_count: (t) => AGGREGATABLE.has(t) || DATE.has(t),
  percentile: (t) => NUMERIC.has(t),
  median: (t) => NUMERIC.has(t),
  average: (t) => NUMERIC.has(t),
  sum: (t) => NUMERIC.has(t),
  min: (t) => NUMERIC.has(t) || DATE.has(t),
  max: (t) => NUMERIC.has(t) || DATE.has(t),
  last_value: (t) => t !== 'text' && t !== 'object' && t !== 'nested',
};
const kibanaType = (t: string) =>
  DATE.has(t) ? 'date' : NUMERIC.has(t) ? 'number' : t === 'ip' ? 'ip' : t === 'boolean' ? 'boolean' : 'string';

function fieldsOf(title: string): Map<string, string> {
  const tpl = templateFor(assets, title.replace(/\*$/, '-000001').replace('.*-*', '.x-default'));
  assert.ok(tpl, `no index template for data view ${title}`);
  return flattenMappings(composeMappings(assets, tpl.name));
}

/** Dashboard panels with their Lens attributes and the dashboard-level references. */
function panelsOf(d: Obj): Record<string, unknown>[] {
  const s = d.attributes.panelsJSON;
  assert.equal(typeof s, 'string', `${d.id}: panelsJSON must be a string`);
  const panels = JSON.parse(s as string) as unknown;
  assert.ok(Array.isArray(panels));
  return panels as Record<string, unknown>[];
}

describe('dashboards NDJSON files', () => {
  test('there are the four dashboards and each file ends in .ndjson', () => {
    assert.deepEqual(files, [
      'regwatch-capacity.ndjson',
      'regwatch-health.ndjson',
      'regwatch-identity-drilldown.ndjson',
      'regwatch-security-overview.ndjson',
    ]);
  });

  for (const f of files) {
    describe(f, () => {
      const text = read(f);
      const objects = parse(f);
      const byKey = new Map(objects.map((o) => [`${o.type}/${o.id}`, o]));
      const dataViews = new Map(objects.filter((o) => o.type === 'index-pattern').map((o) => [o.id, o]));

      test('every line parses as exactly one JSON object; no blank or multi-line objects', () => {
        assert.ok(text.endsWith('\n'));
        const lines = text.slice(0, -1).split('\n');
        for (const [i, line] of lines.entries()) {
          const v = JSON.parse(line) as unknown;
          assert.ok(v !== null && typeof v === 'object' && !Array.isArray(v), `${f}:${i + 1} is not an object`);
          assert.equal(line, JSON.stringify(v), `${f}:${i + 1} is not compact`);
        }
        assert.equal(byKey.size, objects.length, 'duplicate (type,id)');
      });

      test('envelope: allowed types, pinned migration versions, no stripped fields', () => {
        for (const o of objects) {
          assert.ok(o.type in TYPE_MIGRATION_VERSIONS, `${o.type} not allowed`);
          assert.equal(o.coreMigrationVersion, CORE_MIGRATION_VERSION);
          assert.equal(o.typeMigrationVersion, TYPE_MIGRATION_VERSIONS[o.type as keyof typeof TYPE_MIGRATION_VERSIONS]);
          for (const k of ['updated_at', 'version', 'namespaces']) assert.ok(!(k in o), `${o.id} has ${k}`);
          for (const r of o.references) assert.ok(r.name && r.type && r.id, `${o.id}: incomplete reference`);
        }
      });

      test('every reference resolves, including per-panel, per-Lens-layer, drilldown and search-source ones', () => {
        for (const o of objects) {
          const names = new Map(o.references.map((r) => [r.name, r]));
          for (const r of o.references)
            assert.ok(
              byKey.has(`${r.type}/${r.id}`),
              `${o.type}/${o.id}: reference ${r.name} → ${r.type}/${r.id} not in file`,
            );
          if (o.type === 'search') {
            const ss = JSON.parse(
              (o.attributes.kibanaSavedObjectMeta as { searchSourceJSON: string }).searchSourceJSON,
            ) as { indexRefName?: string };
            assert.ok(
              ss.indexRefName && names.get(ss.indexRefName)?.type === 'index-pattern',
              `${o.id}: indexRefName unresolved`,
            );
          }
          if (o.type !== 'dashboard') continue;
          JSON.parse(o.attributes.optionsJSON as string);
          JSON.parse((o.attributes.kibanaSavedObjectMeta as { searchSourceJSON: string }).searchSourceJSON);
          const used = new Set<string>();
          for (const p of panelsOf(o)) {
            const pi = p.panelIndex as string;
            if (typeof p.panelRefName === 'string') {
              const name = `${pi}:${p.panelRefName}`;
              assert.ok(names.has(name), `${o.id}: panel ${pi} has no reference ${name}`);
              used.add(name);
            }
            const ec = p.embeddableConfig as Record<string, unknown>;
            if (p.type === 'lens') {
              const attrs = ec.attributes as {
                references: Ref[];
                state: { datasourceStates: { formBased: { layers: Record<string, unknown> } } };
              };
              const layerIds = Object.keys(attrs.state.datasourceStates.formBased.layers);
              assert.ok(layerIds.length > 0);
              for (const id of layerIds) {
                const inner = attrs.references.find((r) => r.name === `indexpattern-datasource-layer-${id}`);
                assert.ok(inner, `${o.id}/${pi}: layer ${id} has no inner reference`);
                const outer = names.get(`${pi}:${inner.name}`);
                assert.ok(outer, `${o.id}/${pi}: layer ${id} has no prefixed dashboard reference`);
                assert.equal(outer.id, inner.id);
                assert.equal(outer.type, 'index-pattern');
                used.add(outer.name);
              }
              const events =
                (
                  ec.enhancements as {
                    dynamicActions?: { events: { eventId: string; action: { factoryId: string } }[] };
                  }
                ).dynamicActions?.events ?? [];
              for (const ev of events) {
                const name = `${pi}:drilldown:${ev.action.factoryId}:${ev.eventId}:dashboardId`;
                const r = names.get(name);
                assert.ok(r && r.type === 'dashboard', `${o.id}/${pi}: drilldown reference ${name} missing`);
                used.add(name);
              }
            }
          }
          for (const r of o.references) {
            if (r.type === 'tag') continue;
            assert.ok(used.has(r.name), `${o.id}: orphan reference ${r.name}`);
          }
        }
      });

      test('Lens state is consistent: column order, accessors, layer ids, allowed visualization types', () => {
        for (const d of objects.filter((o) => o.type === 'dashboard')) {
          for (const p of panelsOf(d).filter((x) => x.type === 'lens')) {
            const a = (
              p.embeddableConfig as {
                attributes: { visualizationType: string; title: string; state: Record<string, unknown> };
              }
            ).attributes;
            assert.ok(['lnsXY', 'lnsDatatable', 'lnsMetric'].includes(a.visualizationType));
            assert.ok(a.title.length > 0);
            const layers = (
              a.state.datasourceStates as {
                formBased: { layers: Record<string, { columnOrder: string[]; columns: Record<string, unknown> }> };
              }
            ).formBased.layers;
            for (const l of Object.values(layers))
              assert.deepEqual([...l.columnOrder].sort(), Object.keys(l.columns).sort());
            const vis = a.state.visualization as Record<string, unknown>;
            const vlayers = (a.visualizationType === 'lnsXY' ? vis.layers : [vis]) as Record<string, unknown>[];
            for (const vl of vlayers) {
              const cols = layers[vl.layerId as string]?.columns;
              assert.ok(cols, `${d.id}: visualization layer ${String(vl.layerId)} has no datasource layer`);
              const acc = [
                vl.xAccessor,
                vl.splitAccessor,
                vl.metricAccessor,
                vl.breakdownByAccessor,
                ...((vl.accessors as string[] | undefined) ?? []),
                ...((vl.columns as { columnId: string }[] | undefined) ?? []).map((c) => c.columnId),
                (vl.sorting as { columnId?: string } | undefined)?.columnId,
              ].filter((x): x is string => typeof x === 'string');
              for (const id of acc) assert.ok(id in cols, `${d.id}: accessor ${id} not a column`);
            }
          }
        }
      });

      test('every field a visualization or query uses exists in the templates with a compatible type', () => {
        for (const d of objects.filter((o) => o.type === 'dashboard')) {
          for (const p of panelsOf(d).filter((x) => x.type === 'lens')) {
            const a = (
              p.embeddableConfig as { attributes: { references: Ref[]; title: string; state: Record<string, unknown> } }
            ).attributes;
            const layers = (
              a.state.datasourceStates as {
                formBased: { layers: Record<string, { columns: Record<string, Record<string, unknown>> }> };
              }
            ).formBased.layers;
            const layerFields: Map<string, string>[] = [];
            for (const [layerId, layer] of Object.entries(layers)) {
              const ref = a.references.find((r) => r.name === `indexpattern-datasource-layer-${layerId}`);
              const dv = dataViews.get(ref?.id ?? '');
              assert.ok(dv, `${a.title}: layer ${layerId} data view not in file`);
              const fields = fieldsOf(dv.attributes.title as string);
              layerFields.push(fields);
              for (const col of Object.values(layer.columns)) {
                const op = col.operationType as string;
                if (op === 'count' || op === 'static_value') continue;
                const field = col.sourceField as string;
                const t = fields.get(field);
                assert.ok(t, `${a.title}: ${field} is not mapped for ${String(dv.attributes.title)}`);
                assert.ok(compatible[op]?.(t), `${a.title}: ${op} on ${field} (${t}) is not compatible`);
                if (op !== 'unique_count' && op !== 'percentile')
                  assert.equal(col.dataType, kibanaType(t), `${a.title}: dataType of ${field}`);
                if (op === 'last_value') {
                  const st = fields.get((col.params as { sortField: string }).sortField);
                  assert.ok(st && DATE.has(st), `${a.title}: last_value sort field must be a date`);
                }
                const filter = (col.filter as { query?: string } | undefined)?.query;
                for (const ff of kqlFields(parseKql(filter ?? '')))
                  assert.ok(fields.has(ff), `${a.title}: filter field ${ff} unmapped`);
              }
            }
            const q = (a.state.query as { query: string }).query;
            for (const qf of kqlFields(parseKql(q))) {
              assert.ok(
                layerFields.every((m) => m.has(qf)),
                `${a.title}: query field ${qf} is not mapped in every layer's data view`,
              );
            }
          }
        }
      });

      test("each data view's pattern matches the data streams / indices the pipeline writes", () => {
        const targets: Record<string, string[]> = {
          'regwatch-events': EVENT_DATASETS.flatMap((ds) => [eventsDataStream(ds), eventsDataStream(ds, 'prod_eu1')]),
          'regwatch-findings': [FINDINGS_INDEX, `${FINDINGS_INDEX}-000001`],
          'regwatch-alert-deliveries': [DELIVERIES_INDEX, `${DELIVERIES_INDEX}-000002`],
          'regwatch-storage': [STORAGE_INDEX, `${STORAGE_INDEX}-000001`],
          'regwatch-forecasts': [FORECASTS_INDEX, `${FORECASTS_INDEX}-000001`],
          'regwatch-pipeline': [PIPELINE_INDEX, `${PIPELINE_INDEX}-000001`],
        };
        for (const dv of dataViews.values()) {
          const title = dv.attributes.title as string;
          const names = targets[dv.id];
          assert.ok(names, `unexpected data view ${dv.id}`);
          for (const n of names) {
            assert.ok(globMatch(title, n), `${title} does not match ${n}`);
            assert.ok(templateFor(assets, n), `no template for ${n}`);
          }
          assert.ok(!globMatch(title, ALERT_STATE_INDEX) || dv.id === 'regwatch-alert-state');
          const tf = fieldsOf(title).get(dv.attributes.timeFieldName as string);
          assert.ok(tf && DATE.has(tf), `${dv.id}: time field must be a date`);
        }
      });

      test('panels fit the 48-column grid without overlap', () => {
        for (const d of objects.filter((o) => o.type === 'dashboard')) {
          const boxes = panelsOf(d).map((p) => ({
            pi: p.panelIndex as string,
            g: p.gridData as { x: number; y: number; w: number; h: number; i: string },
          }));
          assert.equal(new Set(boxes.map((b) => b.pi)).size, boxes.length, 'panelIndex values must be unique');
          for (const { pi, g } of boxes) {
            assert.equal(g.i, pi);
            assert.ok(g.x >= 0 && g.y >= 0 && g.w >= 1 && g.h >= 1 && g.x + g.w <= 48, `${d.id}/${pi} out of grid`);
          }
          for (let i = 0; i < boxes.length; i++)
            for (let j = i + 1; j < boxes.length; j++) {
              const a = boxes[i]!.g;
              const b = boxes[j]!.g;
              const overlap = a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
              assert.ok(!overlap, `${d.id}: ${boxes[i]!.pi} overlaps ${boxes[j]!.pi}`);
            }
        }
      });
    });
  }

  test('no panel filters on a literal storage/forecast scope; level panels on those views break down by scope', () => {
    // Scopes are collector ids (`fs:<root>`, `harbor:<project>`, `events:<registry>`), not a vocabulary.
    const SCOPES = ['oci_registry.storage.scope', 'oci_registry.forecast.scope'];
    const LEVELS = [
      'oci_registry.storage.used.bytes',
      'oci_registry.storage.used.pct',
      'oci_registry.forecast.days_to_85',
    ];
    for (const f of files)
      for (const d of parse(f).filter((o) => o.type === 'dashboard'))
        for (const p of panelsOf(d).filter((x) => x.type === 'lens')) {
          const a = (p.embeddableConfig as { attributes: { title: string; state: Record<string, unknown> } })
            .attributes;
          const queries = [(a.state.query as { query: string }).query];
          const layers = (
            a.state.datasourceStates as {
              formBased: { layers: Record<string, { columns: Record<string, Record<string, unknown>> }> };
            }
          ).formBased.layers;
          for (const l of Object.values(layers)) {
            const cols = Object.values(l.columns);
            for (const c of cols) queries.push((c.filter as { query?: string } | undefined)?.query ?? '');
            if (cols.some((c) => LEVELS.includes(c.sourceField as string)))
              assert.ok(
                cols.some((c) => c.operationType === 'terms' && SCOPES.includes(c.sourceField as string)),
                `${d.id}: "${a.title}" shows a storage level without a per-scope break-down`,
              );
          }
          for (const q of queries)
            for (const field of kqlFields(parseKql(q)))
              assert.ok(!SCOPES.includes(field), `${d.id}: "${a.title}" filters on ${field} (${q})`);
        }
  });

  test('the same (type, id) has the same content in every file', () => {
    const seen = new Map<string, string>();
    for (const f of files)
      for (const line of read(f).split('\n').filter(Boolean)) {
        const o = JSON.parse(line) as Obj;
        const k = `${o.type}/${o.id}`;
        const prev = seen.get(k);
        if (prev !== undefined) assert.equal(line, prev, `${k} differs between files`);
        seen.set(k, line);
      }
  });

  test('regenerating the NDJSON from the builders gives no diff', () => {
    const rendered = renderAll();
    assert.deepEqual([...rendered.keys()].sort(), files);
    for (const [f, text] of rendered) assert.equal(read(f), text, `${f} is stale: run npm run dashboards:build`);
  });
});
