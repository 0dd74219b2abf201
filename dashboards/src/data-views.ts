import {
  DELIVERIES_INDEX_PATTERN,
  EVENTS_INDEX_PATTERN,
  FINDINGS_INDEX_PATTERN,
  FORECASTS_INDEX_PATTERN,
  PIPELINE_INDEX_PATTERN,
  STORAGE_INDEX_PATTERN,
} from '../../shared/src/es/names.ts';
import {
  buildAssets,
  composeMappings,
  flattenMappings,
  templateFor,
  type AssetSet,
} from '../../shared/src/es/templates.ts';
import { savedObject, type SavedObject } from './kibana.ts';

/** A Kibana data view over one of regwatch's data streams / indices. */
export interface DataView {
  id: string;
  /** Index pattern (Kibana `title`). */
  title: string;
  name: string;
  timeFieldName: string;
  /** The index template whose mappings describe this pattern. */
  template: string;
}

const ASSETS: AssetSet = buildAssets({ ilm: true });

const dv = (id: string, title: string, name: string, timeFieldName: string, sample: string): DataView => {
  const tpl = templateFor(ASSETS, sample);
  if (!tpl) throw new Error(`no index template covers ${sample} (data view ${id})`);
  return { id, title, name, timeFieldName, template: tpl.name };
};

export const DATA_VIEWS = {
  events: dv(
    'regwatch-events',
    EVENTS_INDEX_PATTERN,
    '[regwatch] Registry events',
    '@timestamp',
    'logs-oci_registry.notification-default',
  ),
  findings: dv(
    'regwatch-findings',
    FINDINGS_INDEX_PATTERN,
    '[regwatch] Findings',
    'window.start',
    'regwatch-findings-000001',
  ),
  deliveries: dv(
    'regwatch-alert-deliveries',
    DELIVERIES_INDEX_PATTERN,
    '[regwatch] Alert deliveries',
    '@timestamp',
    'regwatch-alert-deliveries-000001',
  ),
  storage: dv(
    'regwatch-storage',
    STORAGE_INDEX_PATTERN,
    '[regwatch] Storage samples',
    '@timestamp',
    'regwatch-storage-000001',
  ),
  forecasts: dv(
    'regwatch-forecasts',
    FORECASTS_INDEX_PATTERN,
    '[regwatch] Storage forecasts',
    '@timestamp',
    'regwatch-forecasts-000001',
  ),
  pipeline: dv(
    'regwatch-pipeline',
    PIPELINE_INDEX_PATTERN,
    '[regwatch] Pipeline health',
    '@timestamp',
    'regwatch-pipeline-000001',
  ),
} as const;

const fieldCache = new Map<string, Map<string, string>>();

/** `field → Elasticsearch type` for a data view, from the composed index template mappings. */
export function fieldTypes(view: DataView): Map<string, string> {
  let m = fieldCache.get(view.template);
  if (!m) {
    m = flattenMappings(composeMappings(ASSETS, view.template));
    fieldCache.set(view.template, m);
  }
  return m;
}

/** Kibana field type for an Elasticsearch type (Lens column `dataType`). */
export function kibanaType(esType: string): 'string' | 'number' | 'date' | 'ip' | 'boolean' | 'unknown' {
  if (esType === 'keyword' || esType === 'constant_keyword' || esType === 'wildcard' || esType === 'text')
    return 'string';
  if (
    ['long', 'integer', 'short', 'byte', 'double', 'float', 'half_float', 'scaled_float', 'unsigned_long'].includes(
      esType,
    )
  )
    return 'number';
  if (esType === 'date' || esType === 'date_nanos') return 'date';
  if (esType === 'ip') return 'ip';
  if (esType === 'boolean') return 'boolean';
  return 'unknown';
}

/** The `index-pattern` saved object of a data view. */
export function dataViewObject(view: DataView): SavedObject {
  return savedObject('index-pattern', view.id, {
    title: view.title,
    name: view.name,
    timeFieldName: view.timeFieldName,
    allowNoIndex: true,
    fields: '[]',
    fieldFormatMap: '{}',
    runtimeFieldMap: '{}',
    sourceFilters: '[]',
  });
}
