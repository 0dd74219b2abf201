import { layout, type DashboardSpec } from './dashboard.ts';
import { BUCKET_OPS, type ColumnSpec, type LayerSpec } from './lens.ts';
import { kqlToEs, parseKql } from './kql.ts';

/**
 * The Elasticsearch search each Lens layer of a dashboard needs (what Kibana would send):
 * panel KQL query as a filter, bucket columns nested in column order (date_histogram, terms),
 * metric columns innermost (count → doc_count; a column `filter` wraps the metric in a filter
 * aggregation; last_value → top_hits sorted by its sort field). Used by the integration tests
 * to prove every panel returns data against real documents. Terms ranked alphabetically in Lens
 * are ordered by key ascending here too.
 */
export interface PanelQuery {
  dashboard: string;
  panel: string;
  title: string;
  layer: number;
  index: string;
  body: Record<string, unknown>;
  /** Names of the metric aggregations at the innermost level, in column order. */
  metrics: { name: string; spec: ColumnSpec }[];
  /** Names of the bucket aggregations from outermost to innermost. */
  buckets: string[];
}

function metricAgg(c: ColumnSpec): Record<string, unknown> | undefined {
  switch (c.op) {
    case 'count':
      return undefined;
    case 'unique_count':
      return { cardinality: { field: c.field } };
    case 'sum':
    case 'max':
    case 'min':
      return { [c.op]: { field: c.field } };
    case 'average':
      return { avg: { field: c.field } };
    case 'median':
      return { percentiles: { field: c.field, percents: [50] } };
    case 'percentile':
      return { percentiles: { field: c.field, percents: [c.percentile] } };
    case 'last_value':
      return { top_hits: { size: 1, sort: [{ [c.sortField]: { order: 'desc' } }], _source: { includes: [c.field] } } };
    default:
      return undefined;
  }
}

function layerQuery(
  layer: LayerSpec,
  query: string | undefined,
  bucketOrder: number[],
): Omit<PanelQuery, 'dashboard' | 'panel' | 'title' | 'layer'> {
  const metrics: { name: string; spec: ColumnSpec }[] = [];
  const inner: Record<string, unknown> = {};
  layer.columns.forEach((c, i) => {
    if (BUCKET_OPS.has(c.op)) return;
    const name = `m${i}`;
    metrics.push({ name, spec: c });
    const agg = metricAgg(c);
    const filter = 'filter' in c && c.filter ? kqlToEs(parseKql(c.filter)) : undefined;
    if (filter) inner[name] = { filter, ...(agg ? { aggs: { v: agg } } : {}) };
    else if (agg) inner[name] = agg;
  });
  let aggs: Record<string, unknown> = inner;
  const buckets: string[] = [];
  const innermost = bucketOrder[bucketOrder.length - 1];
  for (const i of [...bucketOrder].reverse()) {
    const c = layer.columns[i];
    if (!c) continue;
    const name = `b${i}`;
    buckets.unshift(name);
    let def: Record<string, unknown>;
    if (c.op === 'date_histogram') {
      def = {
        date_histogram: {
          field: c.field,
          ...(c.interval && c.interval !== 'auto' ? { fixed_interval: c.interval } : { fixed_interval: '1d' }),
          min_doc_count: 1,
        },
      };
    } else if (c.op === 'terms') {
      const orderCol = c.orderBy !== undefined ? layer.columns[c.orderBy] : undefined;
      // A metric is a direct sub-aggregation only below the innermost bucket; elsewhere order by count.
      const simple =
        i === innermost &&
        orderCol &&
        ['count', 'unique_count', 'sum', 'max', 'min', 'average'].includes(orderCol.op) &&
        !('filter' in orderCol && orderCol.filter);
      // Lens "alphabetical" rank is ascending by key; a metric rank elsewhere falls back to count.
      const order =
        c.orderBy === undefined
          ? { _key: 'asc' }
          : simple
            ? orderCol.op === 'count'
              ? { _count: 'desc' }
              : { [`m${c.orderBy}`]: 'desc' }
            : { _count: 'desc' };
      def = { terms: { field: c.field, size: c.size, order, ...(c.missingBucket ? { missing: '__missing__' } : {}) } };
    } else continue;
    aggs = { [name]: { ...def, ...(Object.keys(aggs).length ? { aggs } : {}) } };
  }
  return {
    index: layer.dataView.title,
    body: { size: 0, track_total_hits: true, query: kqlToEs(parseKql(query ?? '')), aggs },
    metrics,
    buckets,
  };
}

/** Every (panel, layer) query of a dashboard. Markdown and Discover panels have none. */
export function dashboardQueries(d: DashboardSpec): PanelQuery[] {
  const out: PanelQuery[] = [];
  for (const p of layout(d)) {
    if (p.spec.kind !== 'lens') continue;
    const lens = p.spec.lens;
    const layers =
      lens.kind === 'xy'
        ? lens.layers.map((l) => ({ l, order: [l.x, ...(l.split !== undefined ? [l.split] : [])] }))
        : [
            {
              l: lens.layer,
              order: lens.layer.columns.map((c, i) => (BUCKET_OPS.has(c.op) ? i : -1)).filter((i) => i >= 0),
            },
          ];
    layers.forEach(({ l, order }, n) => {
      out.push({
        dashboard: d.id,
        panel: p.panelIndex,
        title: lens.title,
        layer: n,
        ...layerQuery(l, lens.query, order),
      });
    });
  }
  return out;
}
