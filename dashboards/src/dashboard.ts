import { dataViewObject, type DataView } from './data-views.ts';
import { savedObject, type Reference, type SavedObject } from './kibana.ts';
import { lensAttributes, type LensSpec } from './lens.ts';

/**
 * Dashboard builder: by-value Lens panels, by-value markdown panels, by-reference Discover
 * sessions (`search`), dashboard-to-dashboard drilldowns, a tag, and the reference wiring
 * Kibana 8.7+ expects (`<panelIndex>:<inner name>` prefixes, `panelRefName`,
 * `<panelIndex>:drilldown:DASHBOARD_TO_DASHBOARD_DRILLDOWN:<eventId>:dashboardId`).
 * Grid: 48 columns; panels are placed in rows, left to right.
 */

export const GRID_COLUMNS = 48;
export const TAG_ID = 'regwatch';

export interface SearchSpec {
  id: string;
  title: string;
  dataView: DataView;
  columns: string[];
  query?: string;
}

export type PanelSpec =
  | {
      kind: 'lens';
      w: number;
      h: number;
      lens: LensSpec;
      drilldownTo?: string;
      timeRange?: { from: string; to: string };
    }
  | { kind: 'markdown'; w: number; h: number; title: string; markdown: string }
  | { kind: 'search'; w: number; h: number; search: SearchSpec };

export interface DashboardSpec {
  id: string;
  title: string;
  description: string;
  timeFrom: string;
  timeTo: string;
  /** Rows of panels; each row's widths must sum to at most 48. */
  rows: PanelSpec[][];
}

export function tagObject(): SavedObject {
  return savedObject('tag', TAG_ID, {
    name: 'regwatch',
    description: 'Container registry audit (regwatch)',
    color: '#6092C0',
  });
}

/** The `search` (Discover session) object of a search spec. */
export function searchObject(s: SearchSpec): SavedObject {
  return savedObject(
    'search',
    s.id,
    {
      title: s.title,
      description: '',
      columns: s.columns,
      sort: [['@timestamp', 'desc']],
      grid: {},
      hideChart: false,
      isTextBasedQuery: false,
      kibanaSavedObjectMeta: {
        searchSourceJSON: JSON.stringify({
          query: { query: s.query ?? '', language: 'kuery' },
          filter: [],
          indexRefName: 'kibanaSavedObjectMeta.searchSourceJSON.index',
        }),
      },
    },
    [{ name: 'kibanaSavedObjectMeta.searchSourceJSON.index', type: 'index-pattern', id: s.dataView.id }],
  );
}

/** A placed panel with its grid position (for layout checks and query extraction). */
export interface PlacedPanel {
  panelIndex: string;
  spec: PanelSpec;
  gridData: { x: number; y: number; w: number; h: number; i: string };
}

/** Places rows of panels on the 48-column grid. @throws Error when a row is wider than 48. */
export function layout(d: DashboardSpec): PlacedPanel[] {
  const out: PlacedPanel[] = [];
  let y = 0;
  let n = 0;
  for (const row of d.rows) {
    let x = 0;
    let rowH = 0;
    for (const spec of row) {
      const panelIndex = `p${++n}`;
      if (x + spec.w > GRID_COLUMNS) throw new Error(`${d.id}: row starting at y=${y} is wider than ${GRID_COLUMNS}`);
      out.push({ panelIndex, spec, gridData: { x, y, w: spec.w, h: spec.h, i: panelIndex } });
      x += spec.w;
      rowH = Math.max(rowH, spec.h);
    }
    y += rowH;
  }
  return out;
}

/** The data views a dashboard uses (by id). */
export function dataViewsOf(d: DashboardSpec): DataView[] {
  const m = new Map<string, DataView>();
  for (const p of layout(d)) {
    if (p.spec.kind === 'lens') {
      const layers = p.spec.lens.kind === 'xy' ? p.spec.lens.layers : [p.spec.lens.layer];
      for (const l of layers) m.set(l.dataView.id, l.dataView);
    } else if (p.spec.kind === 'search') m.set(p.spec.search.dataView.id, p.spec.search.dataView);
  }
  return [...m.values()];
}

/** Builds the `dashboard` saved object (panelsJSON/optionsJSON/searchSourceJSON as strings). */
export function dashboardObject(d: DashboardSpec): SavedObject {
  const panels: Record<string, unknown>[] = [];
  const refs: Reference[] = [];
  for (const p of layout(d)) {
    const base = { panelIndex: p.panelIndex, gridData: p.gridData };
    const s = p.spec;
    if (s.kind === 'lens') {
      const attrs = lensAttributes(s.lens, `${p.panelIndex}`);
      for (const r of attrs.references) refs.push({ ...r, name: `${p.panelIndex}:${r.name}` });
      const enhancements: Record<string, unknown> = {};
      if (s.drilldownTo) {
        const eventId = `${p.panelIndex}-drilldown`;
        enhancements.dynamicActions = {
          events: [
            {
              eventId,
              triggers: ['FILTER_TRIGGER'],
              action: {
                factoryId: 'DASHBOARD_TO_DASHBOARD_DRILLDOWN',
                name: 'Open identity drilldown',
                config: { useCurrentFilters: true, useCurrentDateRange: true, openInNewTab: false },
              },
            },
          ],
        };
        refs.push({
          name: `${p.panelIndex}:drilldown:DASHBOARD_TO_DASHBOARD_DRILLDOWN:${eventId}:dashboardId`,
          type: 'dashboard',
          id: s.drilldownTo,
        });
      }
      panels.push({
        type: 'lens',
        ...base,
        title: s.lens.title,
        embeddableConfig: { attributes: attrs, enhancements, ...(s.timeRange ? { timeRange: s.timeRange } : {}) },
      });
    } else if (s.kind === 'markdown') {
      panels.push({
        type: 'visualization',
        ...base,
        title: s.title,
        embeddableConfig: {
          savedVis: {
            title: s.title,
            description: '',
            type: 'markdown',
            params: { fontSize: 12, openLinksInNewTab: false, markdown: s.markdown },
            uiState: {},
            data: { aggs: [], searchSource: { query: { query: '', language: 'kuery' }, filter: [] } },
          },
          enhancements: {},
        },
      });
    } else {
      panels.push({
        type: 'search',
        ...base,
        title: s.search.title,
        panelRefName: `panel_${p.panelIndex}`,
        embeddableConfig: { enhancements: {} },
      });
      refs.push({ name: `${p.panelIndex}:panel_${p.panelIndex}`, type: 'search', id: s.search.id });
    }
  }
  refs.push({ name: `tag-ref-${TAG_ID}`, type: 'tag', id: TAG_ID });
  return savedObject(
    'dashboard',
    d.id,
    {
      title: d.title,
      description: d.description,
      panelsJSON: JSON.stringify(panels),
      optionsJSON: JSON.stringify({
        useMargins: true,
        syncColors: false,
        syncCursor: true,
        syncTooltips: false,
        hidePanelTitles: false,
      }),
      timeRestore: true,
      timeFrom: d.timeFrom,
      timeTo: d.timeTo,
      refreshInterval: { pause: true, value: 60000 },
      version: 1,
      kibanaSavedObjectMeta: {
        searchSourceJSON: JSON.stringify({ query: { query: '', language: 'kuery' }, filter: [] }),
      },
    },
    refs,
  );
}

/**
 * All objects for a self-contained NDJSON file holding `dashboards` (and, transitively, every
 * dashboard they drill down to): data views, tag, searches, dashboards; each (type,id) once.
 */
export function bundle(dashboards: DashboardSpec[], all: readonly DashboardSpec[]): SavedObject[] {
  const closure: DashboardSpec[] = [];
  const visit = (d: DashboardSpec) => {
    if (closure.includes(d)) return;
    closure.push(d);
    for (const p of layout(d)) {
      if (p.spec.kind === 'lens' && p.spec.drilldownTo) {
        const target = all.find((x) => x.id === (p.spec as { drilldownTo: string }).drilldownTo);
        if (!target) throw new Error(`${d.id}: drilldown target ${p.spec.drilldownTo} is not a known dashboard`);
        visit(target);
      }
    }
  };
  dashboards.forEach(visit);
  const views = new Map<string, DataView>();
  const searches = new Map<string, SearchSpec>();
  for (const d of closure) {
    for (const v of dataViewsOf(d)) views.set(v.id, v);
    for (const p of layout(d)) if (p.spec.kind === 'search') searches.set(p.spec.search.id, p.spec.search);
  }
  return [
    ...[...views.values()].sort((a, b) => a.id.localeCompare(b.id)).map(dataViewObject),
    tagObject(),
    ...[...searches.values()].sort((a, b) => a.id.localeCompare(b.id)).map(searchObject),
    // Drilldown targets first, so a reader sees them before the dashboards pointing at them.
    ...closure.slice().reverse().map(dashboardObject),
  ];
}
