/**
 * Kibana saved-object envelope and pinned migration versions.
 * Format: Kibana saved objects export/import NDJSON (one object per line; `type`, `id`,
 * `attributes`, `references[{name,type,id}]`, `coreMigrationVersion`, `typeMigrationVersion`),
 * see ../../../shared/design/KIBANA.md §1 and the Kibana "Import saved objects" API docs.
 */

/** Oldest Kibana these objects import into (imports work into the same or a newer version). */
export const MIN_KIBANA_VERSION = '8.9.0';

/** Pinned per-type migration versions (never newer than {@link MIN_KIBANA_VERSION} knows). */
export const CORE_MIGRATION_VERSION = '8.8.0';
export const TYPE_MIGRATION_VERSIONS = {
  'index-pattern': '8.0.0',
  lens: '8.9.0',
  dashboard: '8.9.0',
  search: '8.0.0',
  tag: '8.0.0',
  visualization: '8.5.0',
} as const;

export type SavedObjectType = keyof typeof TYPE_MIGRATION_VERSIONS;

export interface Reference {
  name: string;
  type: SavedObjectType;
  id: string;
}

/** One saved object exactly as it appears on an NDJSON line (key order is the emit order). */
export interface SavedObject {
  type: SavedObjectType;
  id: string;
  attributes: Record<string, unknown>;
  references: Reference[];
  coreMigrationVersion: string;
  typeMigrationVersion: string;
  managed: false;
}

/** Wraps attributes and references in the envelope with the pinned versions. */
export function savedObject(
  type: SavedObjectType,
  id: string,
  attributes: Record<string, unknown>,
  references: Reference[] = [],
): SavedObject {
  return {
    type,
    id,
    attributes,
    references,
    coreMigrationVersion: CORE_MIGRATION_VERSION,
    typeMigrationVersion: TYPE_MIGRATION_VERSIONS[type],
    managed: false,
  };
}

/** Serializes objects as NDJSON: one compact JSON object per line, `\n` after each line. */
export function toNdjson(objects: readonly SavedObject[]): string {
  return objects.map((o) => JSON.stringify(o)).join('\n') + '\n';
}
