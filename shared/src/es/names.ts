import { AppError } from '../errors.ts';

/**
 * Names of everything regwatch writes to Elasticsearch, and the patterns Kibana data views use.
 *
 * Events go to data streams (append-only, one per source dataset) following Elastic's data
 * stream naming scheme `{type}-{dataset}-{namespace}` (ECS `data_stream.*`): the dataset and
 * namespace must be lower case, must not contain `-` (it separates the three parts) nor any of
 * `\ / * ? " < > | , # :` or spaces, and are at most 100 characters.
 *
 * Findings, alert deliveries, alert state, storage samples and forecasts are plain indices
 * reached through the names below (an alias onto `<name>-000001` once `regwatch setup
 * elasticsearch` has run, so ILM can roll them over). Why not data streams: findings change
 * status (`firing` → `resolved`) under the same id, alert state and forecasts are overwritten
 * by key, and storage samples / deliveries are written with deterministic ids so a re-run
 * overwrites instead of duplicating. Data streams accept only `op_type=create`, which would
 * make all of those writers special-case 409s. Writers use `index` with their stable `_id`.
 */

/** Data stream type for events. */
export const EVENTS_TYPE = 'logs';
/** Dataset prefix of every regwatch events data stream (`oci_registry.<source>`). */
export const EVENTS_DATASET_PREFIX = 'oci_registry';
/** Namespace used when none is configured. */
export const DEFAULT_NAMESPACE = 'default';

/** Findings (detector output, `findingSchema` documents; `_id` = finding id). */
export const FINDINGS_INDEX = 'regwatch-findings';
/** One document per alert delivery attempt (`_id` = delivery attempt id). */
export const DELIVERIES_INDEX = 'regwatch-alert-deliveries';
/** Alert dedupe/throttle/silence state, one document per key (overwritten). */
export const ALERT_STATE_INDEX = 'regwatch-alert-state';
/** Storage usage samples (bytes used/capacity per registry or namespace, per sample time). */
export const STORAGE_INDEX = 'regwatch-storage';
/** Storage forecast points (`_id` = hash(scope, target time); each run overwrites). */
export const FORECASTS_INDEX = 'regwatch-forecasts';

/** Pipeline health samples (consumer lag, DLQ counts by reason, indexing rate). */
export const PIPELINE_INDEX = 'regwatch-pipeline';

/** Index template pattern and Kibana data view title for all event data streams. */
export const EVENTS_INDEX_PATTERN = `${EVENTS_TYPE}-${EVENTS_DATASET_PREFIX}.*-*`;
/** Kibana data view titles (index patterns) for the plain indices. */
export const FINDINGS_INDEX_PATTERN = `${FINDINGS_INDEX}*`;
export const DELIVERIES_INDEX_PATTERN = `${DELIVERIES_INDEX}*`;
export const ALERT_STATE_INDEX_PATTERN = `${ALERT_STATE_INDEX}*`;
export const STORAGE_INDEX_PATTERN = `${STORAGE_INDEX}*`;
export const FORECASTS_INDEX_PATTERN = `${FORECASTS_INDEX}*`;
export const PIPELINE_INDEX_PATTERN = `${PIPELINE_INDEX}*`;

const FORBIDDEN = /[\\/*?"<>|,#:\s-]/;

/**
 * Checks a data stream namespace against the naming rules (lower case, no `-` or reserved
 * characters, 1–100 characters).
 * @throws AppError CONFIG_INVALID naming the rule broken.
 */
export function assertValidNamespace(namespace: string): string {
  if (namespace.length === 0 || namespace.length > 100) {
    throw new AppError('CONFIG_INVALID', `data stream namespace must be 1-100 characters, got ${namespace.length}`);
  }
  if (namespace !== namespace.toLowerCase() || FORBIDDEN.test(namespace)) {
    throw new AppError(
      'CONFIG_INVALID',
      `invalid data stream namespace "${namespace}": lower case only, no "-", spaces or \\ / * ? " < > | , # :`,
    );
  }
  return namespace;
}

/**
 * The dataset part for an event dataset: `oci_registry.notification` → `oci_registry.notification`,
 * `harbor.webhook` → `oci_registry.harbor_webhook`, `notification` → `oci_registry.notification`.
 * A leading `oci_registry.` is kept once; the rest is lower-cased and every character outside
 * `[a-z0-9_]` (dots, dashes) becomes `_`, so the dataset never contains `-`.
 * @throws AppError CONFIG_INVALID when the dataset is empty or too long (> 100 characters).
 */
export function eventsDataset(dataset: string): string {
  const prefix = `${EVENTS_DATASET_PREFIX}.`;
  const rest = dataset.startsWith(prefix) ? dataset.slice(prefix.length) : dataset;
  const clean = rest.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  if (clean.length === 0) throw new AppError('CONFIG_INVALID', `empty event dataset "${dataset}"`);
  const full = `${prefix}${clean}`;
  if (full.length > 100) throw new AppError('CONFIG_INVALID', `event dataset "${full}" is longer than 100 characters`);
  return full;
}

/**
 * The data stream an event of `dataset` (its `event.dataset`, e.g. `oci_registry.notification`
 * or `harbor.webhook`) is written to: `logs-oci_registry.<source>-<namespace>`,
 * e.g. `eventsDataStream('harbor.webhook')` → `logs-oci_registry.harbor_webhook-default`.
 * Writes into it must use `op_type=create`.
 * @throws AppError CONFIG_INVALID for an invalid dataset or namespace.
 */
export function eventsDataStream(dataset: string, namespace: string = DEFAULT_NAMESPACE): string {
  return `${EVENTS_TYPE}-${eventsDataset(dataset)}-${assertValidNamespace(namespace)}`;
}

/** All names of the plain indices, keyed by role (used by setup and the dashboards). */
export const PLAIN_INDICES = {
  findings: FINDINGS_INDEX,
  deliveries: DELIVERIES_INDEX,
  alertState: ALERT_STATE_INDEX,
  storage: STORAGE_INDEX,
  forecasts: FORECASTS_INDEX,
  pipeline: PIPELINE_INDEX,
} as const;
export type PlainIndexRole = keyof typeof PLAIN_INDICES;
