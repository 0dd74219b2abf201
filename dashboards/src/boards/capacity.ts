import { DATA_VIEWS } from '../data-views.ts';
import type { DashboardSpec } from '../dashboard.ts';
import { countedOnce } from '../kql.ts';
import type { ColumnSpec } from '../lens.ts';

const ev = DATA_VIEWS.events;
const st = DATA_VIEWS.storage;
const fc = DATA_VIEWS.forecasts;

const PUSH_DELETE =
  'event.action : ("manifest-push" or "blob-push" or "manifest-delete" or "blob-delete" or "tag-delete")';
/**
 * Pushes. `oci_registry.size` (bytes pushed) is carried by the notification only, never by its
 * log lines, so its sums need no duplicate filter (and must not have one: the notification is the
 * duplicate when the log line arrived first); counts of pushes do.
 */
const PUSHES = 'event.action : ("manifest-push" or "blob-push")';
/** Harbor project quota samples (collector scope `harbor:<project>`, source `harbor_quota`). */
const HARBOR_PROJECTS = 'oci_registry.storage.source : "harbor_quota"';

/**
 * How many storage scopes a per-scope panel shows. Scopes are whatever the collector publishes
 * (`fs:<storage root>`, `harbor:<project>`, `events:<registry>`), never a fixed vocabulary, so
 * every storage/forecast panel breaks down by the scope instead of filtering on a literal one.
 */
const TOP_SCOPES = 10;

/** Break-down column on the storage scope (alphabetical, so the tiles keep a stable order). */
const storageScope: ColumnSpec = { op: 'terms', field: 'oci_registry.storage.scope', size: TOP_SCOPES, label: 'Scope' };
/** Break-down column on the forecast scope (the storage scope the forecast was computed for). */
const forecastScope: ColumnSpec = {
  op: 'terms',
  field: 'oci_registry.forecast.scope',
  size: TOP_SCOPES,
  label: 'Scope',
};

/**
 * Issue 8, dashboard 3: capacity (90 days back, 90 days of forecast ahead). Levels (used,
 * capacity, utilization, forecast) are shown per scope — last value or daily max within a scope,
 * never summed across scopes, since scopes overlap (a volume holds every Harbor project).
 */
export const capacity: DashboardSpec = {
  id: 'regwatch-capacity',
  title: '[regwatch] Capacity',
  description:
    'Per storage scope: used vs capacity with the forecast and its interval, days to 85 % / 100 %, utilization; growth by namespace, Harbor project and repository, push/delete volume and garbage-collection drops.',
  timeFrom: 'now-90d',
  timeTo: 'now+90d',
  rows: [
    [
      {
        kind: 'lens',
        w: 12,
        h: 7,
        lens: {
          kind: 'metric',
          title: 'Days to 85 %',
          layer: {
            dataView: fc,
            columns: [
              forecastScope,
              {
                op: 'last_value',
                field: 'oci_registry.forecast.days_to_85',
                sortField: 'oci_registry.forecast.generated_at',
                label: 'Days to 85 %',
                format: { id: 'number', decimals: 0 },
              },
            ],
          },
        },
      },
      {
        kind: 'lens',
        w: 12,
        h: 7,
        lens: {
          kind: 'metric',
          title: 'Days to 100 %',
          layer: {
            dataView: fc,
            columns: [
              forecastScope,
              {
                op: 'last_value',
                field: 'oci_registry.forecast.days_to_100',
                sortField: 'oci_registry.forecast.generated_at',
                label: 'Days to 100 %',
                format: { id: 'number', decimals: 0 },
              },
            ],
          },
        },
      },
      {
        kind: 'lens',
        w: 12,
        h: 7,
        lens: {
          kind: 'metric',
          title: 'Storage used now',
          layer: {
            dataView: st,
            columns: [
              storageScope,
              {
                op: 'last_value',
                field: 'oci_registry.storage.used.bytes',
                sortField: '@timestamp',
                label: 'Used',
                format: { id: 'bytes' },
              },
            ],
          },
        },
      },
      {
        kind: 'lens',
        w: 12,
        h: 7,
        lens: {
          kind: 'metric',
          title: 'Utilization',
          // Scopes without a known capacity (unlimited Harbor quota) carry no used.pct.
          query: 'oci_registry.storage.used.pct : *',
          layer: {
            dataView: st,
            columns: [
              storageScope,
              {
                op: 'last_value',
                field: 'oci_registry.storage.used.pct',
                sortField: '@timestamp',
                label: 'Used %',
                format: { id: 'percent' },
              },
            ],
          },
        },
      },
    ],
    [
      {
        kind: 'lens',
        w: 48,
        h: 14,
        lens: {
          kind: 'xy',
          title: 'Storage used vs capacity, with forecast and interval',
          legend: 'bottom',
          layers: [
            {
              dataView: st,
              seriesType: 'line',
              x: 0,
              split: 1,
              columns: [
                { op: 'date_histogram', field: '@timestamp', interval: '1d', label: 'Day' },
                { ...storageScope, orderBy: 2 },
                { op: 'max', field: 'oci_registry.storage.used.bytes', label: 'Used', format: { id: 'bytes' } },
                {
                  op: 'max',
                  field: 'oci_registry.storage.capacity.bytes',
                  label: 'Capacity',
                  format: { id: 'bytes' },
                },
              ],
            },
            {
              dataView: fc,
              seriesType: 'line',
              x: 0,
              split: 1,
              columns: [
                { op: 'date_histogram', field: '@timestamp', interval: '1d', label: 'Day' },
                { ...forecastScope, orderBy: 2 },
                { op: 'max', field: 'oci_registry.forecast.used.bytes', label: 'Forecast', format: { id: 'bytes' } },
                {
                  op: 'max',
                  field: 'oci_registry.forecast.used.lower.bytes',
                  label: 'Forecast lower bound',
                  format: { id: 'bytes' },
                },
                {
                  op: 'max',
                  field: 'oci_registry.forecast.used.upper.bytes',
                  label: 'Forecast upper bound',
                  format: { id: 'bytes' },
                },
              ],
            },
          ],
        },
      },
    ],
    [
      {
        kind: 'lens',
        w: 24,
        h: 12,
        lens: {
          kind: 'xy',
          title: 'Growth by namespace (bytes pushed per day)',
          query: PUSHES,
          layers: [
            {
              dataView: ev,
              seriesType: 'bar_stacked',
              x: 0,
              split: 1,
              columns: [
                { op: 'date_histogram', field: '@timestamp', interval: '1d', label: 'Day' },
                {
                  op: 'terms',
                  field: 'oci_registry.namespace',
                  size: 10,
                  label: 'Namespace',
                  orderBy: 2,
                  otherBucket: true,
                },
                { op: 'sum', field: 'oci_registry.size', label: 'Bytes pushed', format: { id: 'bytes' } },
              ],
            },
          ],
        },
      },
      {
        kind: 'lens',
        w: 24,
        h: 12,
        lens: {
          kind: 'xy',
          title: 'Storage used by Harbor project (quota)',
          query: HARBOR_PROJECTS,
          layers: [
            {
              dataView: st,
              seriesType: 'line',
              x: 0,
              split: 1,
              columns: [
                { op: 'date_histogram', field: '@timestamp', interval: '1d', label: 'Day' },
                { ...storageScope, label: 'Project (harbor:<project>)', orderBy: 2 },
                { op: 'max', field: 'oci_registry.storage.used.bytes', label: 'Used', format: { id: 'bytes' } },
              ],
            },
          ],
        },
      },
    ],
    [
      {
        kind: 'lens',
        w: 24,
        h: 12,
        lens: {
          kind: 'datatable',
          title: 'Growth by repository (bytes pushed)',
          query: PUSHES,
          sortBy: { column: 1, direction: 'desc' },
          layer: {
            dataView: ev,
            columns: [
              { op: 'terms', field: 'oci_registry.repository', size: 25, label: 'Repository', orderBy: 1 },
              { op: 'sum', field: 'oci_registry.size', label: 'Bytes pushed', format: { id: 'bytes' } },
              { op: 'count', label: 'Manifest pushes', filter: countedOnce('event.action : "manifest-push"') },
              { op: 'max', field: '@timestamp', label: 'Last push' },
            ],
          },
        },
      },
      {
        kind: 'lens',
        w: 24,
        h: 12,
        lens: {
          kind: 'xy',
          title: 'Push and delete volume',
          query: countedOnce(PUSH_DELETE),
          layers: [
            {
              dataView: ev,
              seriesType: 'bar_stacked',
              x: 0,
              split: 1,
              columns: [
                { op: 'date_histogram', field: '@timestamp', interval: '1d', label: 'Day' },
                { op: 'terms', field: 'event.action', size: 5, label: 'Action', orderBy: 2 },
                { op: 'count', label: 'Operations' },
              ],
            },
          ],
        },
      },
    ],
    [
      {
        kind: 'lens',
        w: 48,
        h: 10,
        lens: {
          kind: 'xy',
          title: 'Garbage-collection drops',
          query: 'oci_registry.storage.gc.freed.bytes : *',
          layers: [
            {
              dataView: st,
              seriesType: 'bar_stacked',
              x: 0,
              split: 1,
              columns: [
                { op: 'date_histogram', field: '@timestamp', interval: '1d', label: 'Day' },
                { ...storageScope, orderBy: 2 },
                {
                  op: 'sum',
                  field: 'oci_registry.storage.gc.freed.bytes',
                  label: 'Freed by GC',
                  format: { id: 'bytes' },
                },
              ],
            },
          ],
        },
      },
    ],
  ],
};
