import { fieldTypes, kibanaType, type DataView } from './data-views.ts';
import type { Reference } from './kibana.ts';

/**
 * Typed builders for Lens (form-based datasource) visualizations: lnsXY, lnsDatatable,
 * lnsMetric. Shapes follow Kibana's Lens saved state as exported by 8.9–9.x
 * (../../../shared/design/KIBANA.md §1.5). Every column's `dataType` is derived from the
 * committed index-template mappings, so a builder cannot reference a field that does not exist.
 */

export type NumberFormat =
  { id: 'bytes' } | { id: 'number'; decimals?: number } | { id: 'percent' } | { id: 'duration_ns' };

/** A column specification (bucket or metric). `filter` is a KQL filter on a metric column. */
export type ColumnSpec =
  | { op: 'date_histogram'; field: string; interval?: string; label?: string }
  | {
      op: 'terms';
      field: string;
      size: number;
      label: string;
      /** Index (in the layer's column list) of the metric to order by; alphabetical when absent. */
      orderBy?: number;
      missingBucket?: boolean;
      otherBucket?: boolean;
    }
  | { op: 'count'; label: string; filter?: string }
  | {
      op: 'unique_count' | 'sum' | 'max' | 'min' | 'average' | 'median';
      field: string;
      label: string;
      filter?: string;
      format?: NumberFormat;
    }
  | { op: 'percentile'; field: string; percentile: number; label: string; filter?: string; format?: NumberFormat }
  | { op: 'last_value'; field: string; sortField: string; label: string; filter?: string; format?: NumberFormat };

export const BUCKET_OPS = new Set(['date_histogram', 'terms']);

export interface LayerSpec {
  dataView: DataView;
  columns: ColumnSpec[];
}

export interface XYLayerSpec extends LayerSpec {
  seriesType:
    | 'line'
    | 'bar'
    | 'bar_stacked'
    | 'area'
    | 'area_stacked'
    | 'bar_percentage_stacked'
    | 'area_percentage_stacked'
    | 'bar_horizontal';
  /** Column index used for the x axis. */
  x: number;
  /** Column index of the break-down (split) column. */
  split?: number;
}

/** A Lens visualization with its panel-level KQL query (applies to all layers). */
export type LensSpec =
  | {
      kind: 'xy';
      title: string;
      query?: string;
      layers: XYLayerSpec[];
      referenceLines?: { value: number; label: string; format?: NumberFormat }[];
      legend?: 'right' | 'bottom';
    }
  | {
      kind: 'datatable';
      title: string;
      query?: string;
      layer: LayerSpec;
      sortBy?: { column: number; direction: 'asc' | 'desc' };
    }
  | { kind: 'metric'; title: string; query?: string; layer: LayerSpec };

export const LAYER_REF_PREFIX = 'indexpattern-datasource-layer-';

const colId = (layerId: string, i: number): string => `${layerId}c${i}`;

function formatParams(f: NumberFormat | undefined): Record<string, unknown> | undefined {
  if (!f) return undefined;
  if (f.id === 'duration_ns') {
    return { format: { id: 'duration', params: { decimals: 0, fromUnit: 'nanoseconds', toUnit: 'asMilliseconds' } } };
  }
  if (f.id === 'number') return { format: { id: 'number', params: { decimals: f.decimals ?? 0 } } };
  return { format: { id: f.id, params: { decimals: f.id === 'percent' ? 2 : 0 } } };
}

/**
 * Resolves a field in a data view's mappings.
 * @throws Error when the field does not exist in the template (build-time programming error).
 */
export function fieldType(view: DataView, field: string): string {
  const t = fieldTypes(view).get(field);
  if (!t) throw new Error(`field ${field} is not mapped for data view ${view.id} (template ${view.template})`);
  return t;
}

/** Builds one Lens form-based column. */
function column(layer: LayerSpec, layerId: string, spec: ColumnSpec): Record<string, unknown> {
  const v = layer.dataView;
  const filter = 'filter' in spec && spec.filter ? { filter: { language: 'kuery', query: spec.filter } } : {};
  switch (spec.op) {
    case 'date_histogram':
      return {
        label: spec.label ?? spec.field,
        dataType: 'date',
        operationType: 'date_histogram',
        sourceField: spec.field,
        isBucketed: true,
        scale: 'interval',
        params: { interval: spec.interval ?? 'auto', includeEmptyRows: true, dropPartials: false },
      };
    case 'terms': {
      const orderBy =
        spec.orderBy === undefined
          ? { type: 'alphabetical', fallback: true }
          : { type: 'column', columnId: colId(layerId, spec.orderBy) };
      return {
        label: spec.label,
        customLabel: true,
        dataType: kibanaType(fieldType(v, spec.field)),
        operationType: 'terms',
        sourceField: spec.field,
        isBucketed: true,
        scale: 'ordinal',
        params: {
          size: spec.size,
          orderBy,
          orderDirection: spec.orderBy === undefined ? 'asc' : 'desc',
          otherBucket: spec.otherBucket ?? false,
          missingBucket: spec.missingBucket ?? false,
          parentFormat: { id: 'terms' },
        },
      };
    }
    case 'count':
      return {
        label: spec.label,
        customLabel: true,
        dataType: 'number',
        operationType: 'count',
        sourceField: '___records___',
        isBucketed: false,
        scale: 'ratio',
        params: { emptyAsNull: false },
        ...filter,
      };
    case 'unique_count':
    case 'sum':
    case 'max':
    case 'min':
    case 'average':
    case 'median': {
      const t = kibanaType(fieldType(v, spec.field));
      return {
        label: spec.label,
        customLabel: true,
        dataType: spec.op === 'unique_count' ? 'number' : t,
        operationType: spec.op,
        sourceField: spec.field,
        isBucketed: false,
        scale: 'ratio',
        params: { emptyAsNull: true, ...formatParams(spec.format) },
        ...filter,
      };
    }
    case 'percentile':
      return {
        label: spec.label,
        customLabel: true,
        dataType: 'number',
        operationType: 'percentile',
        sourceField: spec.field,
        isBucketed: false,
        scale: 'ratio',
        params: { percentile: spec.percentile, ...formatParams(spec.format) },
        ...filter,
      };
    case 'last_value':
      return {
        label: spec.label,
        customLabel: true,
        dataType: kibanaType(fieldType(v, spec.field)),
        operationType: 'last_value',
        sourceField: spec.field,
        isBucketed: false,
        scale: 'ratio',
        params: { sortField: spec.sortField, showArrayValues: false, ...formatParams(spec.format) },
        ...filter,
      };
  }
}

function formLayer(layer: LayerSpec, layerId: string) {
  const columns: Record<string, unknown> = {};
  const order: string[] = [];
  // Lens keeps bucket columns before metric columns in columnOrder.
  const idx = layer.columns.map((c, i) => ({ c, i }));
  for (const { c, i } of [
    ...idx.filter((x) => BUCKET_OPS.has(x.c.op)),
    ...idx.filter((x) => !BUCKET_OPS.has(x.c.op)),
  ]) {
    columns[colId(layerId, i)] = column(layer, layerId, c);
    order.push(colId(layerId, i));
  }
  return { columnOrder: order, columns, incompleteColumns: {} };
}

export interface LensAttributes {
  title: string;
  description: string;
  visualizationType: 'lnsXY' | 'lnsDatatable' | 'lnsMetric';
  type: 'lens';
  references: Reference[];
  state: Record<string, unknown>;
}

/** Builds the Lens attributes (by-value panel form) for a spec; `prefix` makes layer ids unique. */
export function lensAttributes(spec: LensSpec, prefix: string): LensAttributes {
  const layers: Record<string, unknown> = {};
  const references: Reference[] = [];
  const addLayer = (layer: LayerSpec, layerId: string) => {
    layers[layerId] = formLayer(layer, layerId);
    references.push({ name: `${LAYER_REF_PREFIX}${layerId}`, type: 'index-pattern', id: layer.dataView.id });
  };
  let visualization: Record<string, unknown>;
  let visualizationType: LensAttributes['visualizationType'];

  if (spec.kind === 'xy') {
    visualizationType = 'lnsXY';
    const vlayers: Record<string, unknown>[] = spec.layers.map((l, n) => {
      const layerId = `${prefix}l${n}`;
      addLayer(l, layerId);
      const accessors = l.columns
        .map((_, i) => i)
        .filter((i) => i !== l.x && i !== l.split)
        .map((i) => colId(layerId, i));
      return {
        layerId,
        layerType: 'data',
        seriesType: l.seriesType,
        xAccessor: colId(layerId, l.x),
        accessors,
        ...(l.split !== undefined ? { splitAccessor: colId(layerId, l.split) } : {}),
      };
    });
    const first = spec.layers[0];
    if (spec.referenceLines?.length && first) {
      const layerId = `${prefix}ref`;
      const cols: Record<string, unknown> = {};
      const ids: string[] = [];
      spec.referenceLines.forEach((r, i) => {
        const id = `${layerId}c${i}`;
        ids.push(id);
        cols[id] = {
          label: r.label,
          customLabel: true,
          dataType: 'number',
          operationType: 'static_value',
          isBucketed: false,
          isStaticValue: true,
          scale: 'ratio',
          params: { value: String(r.value), ...formatParams(r.format) },
          references: [],
        };
      });
      layers[layerId] = { columnOrder: ids, columns: cols, incompleteColumns: {} };
      references.push({ name: `${LAYER_REF_PREFIX}${layerId}`, type: 'index-pattern', id: first.dataView.id });
      vlayers.push({
        layerId,
        layerType: 'referenceLine',
        accessors: ids,
        yConfig: ids.map((id) => ({
          forAccessor: id,
          axisMode: 'left',
          color: '#E7664C',
          lineStyle: 'dashed',
          lineWidth: 2,
          textVisibility: true,
        })),
      });
    }
    visualization = {
      preferredSeriesType: spec.layers[0]?.seriesType ?? 'line',
      legend: { isVisible: true, position: spec.legend ?? 'right' },
      valueLabels: 'hide',
      fittingFunction: 'None',
      layers: vlayers,
    };
  } else if (spec.kind === 'datatable') {
    visualizationType = 'lnsDatatable';
    const layerId = `${prefix}l0`;
    addLayer(spec.layer, layerId);
    visualization = {
      layerId,
      layerType: 'data',
      columns: spec.layer.columns.map((_, i) => ({ columnId: colId(layerId, i), isTransposed: false })),
      ...(spec.sortBy
        ? { sorting: { columnId: colId(layerId, spec.sortBy.column), direction: spec.sortBy.direction } }
        : {}),
    };
  } else {
    visualizationType = 'lnsMetric';
    const layerId = `${prefix}l0`;
    addLayer(spec.layer, layerId);
    const metric = spec.layer.columns.findIndex((c) => !BUCKET_OPS.has(c.op));
    const breakdown = spec.layer.columns.findIndex((c) => BUCKET_OPS.has(c.op));
    visualization = {
      layerId,
      layerType: 'data',
      metricAccessor: colId(layerId, metric),
      ...(breakdown >= 0 ? { breakdownByAccessor: colId(layerId, breakdown) } : {}),
    };
  }

  return {
    title: spec.title,
    description: '',
    visualizationType,
    type: 'lens',
    references,
    state: {
      datasourceStates: { formBased: { layers } },
      visualization,
      query: { language: 'kuery', query: spec.query ?? '' },
      filters: [],
      adHocDataViews: {},
      internalReferences: [],
    },
  };
}
