import { DATA_VIEWS } from '../data-views.ts';
import type { DashboardSpec } from '../dashboard.ts';

const ev = DATA_VIEWS.events;
const st = DATA_VIEWS.storage;
const fc = DATA_VIEWS.forecasts;

const PUSH_DELETE =
  'event.action : ("manifest-push" or "blob-push" or "manifest-delete" or "blob-delete" or "tag-delete")';

/** Issue 8, dashboard 3: capacity (90 days back, 90 days of forecast ahead). */
export const capacity: DashboardSpec = {
  id: 'regwatch-capacity',
  title: '[regwatch] Capacity',
  description:
    'Storage used vs capacity with the forecast and its interval, days to 85 % / 100 %, growth, push/delete volume and garbage-collection drops.',
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
          query: 'oci_registry.storage.scope : "registry"',
          layer: {
            dataView: st,
            columns: [
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
          query: 'oci_registry.storage.scope : "registry"',
          layer: {
            dataView: st,
            columns: [
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
              columns: [
                { op: 'date_histogram', field: '@timestamp', interval: '1d', label: 'Day' },
                {
                  op: 'max',
                  field: 'oci_registry.storage.used.bytes',
                  label: 'Used',
                  format: { id: 'bytes' },
                  filter: 'oci_registry.storage.scope : "registry"',
                },
                {
                  op: 'max',
                  field: 'oci_registry.storage.capacity.bytes',
                  label: 'Capacity',
                  format: { id: 'bytes' },
                  filter: 'oci_registry.storage.scope : "registry"',
                },
              ],
            },
            {
              dataView: fc,
              seriesType: 'line',
              x: 0,
              columns: [
                { op: 'date_histogram', field: '@timestamp', interval: '1d', label: 'Day' },
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
          title: 'Growth by namespace',
          query: 'oci_registry.storage.scope : "namespace"',
          layers: [
            {
              dataView: st,
              seriesType: 'line',
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
                { op: 'max', field: 'oci_registry.storage.used.bytes', label: 'Used', format: { id: 'bytes' } },
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
          kind: 'datatable',
          title: 'Growth by repository (bytes pushed)',
          query: 'event.action : ("manifest-push" or "blob-push")',
          sortBy: { column: 1, direction: 'desc' },
          layer: {
            dataView: ev,
            columns: [
              { op: 'terms', field: 'oci_registry.repository', size: 25, label: 'Repository', orderBy: 1 },
              { op: 'sum', field: 'oci_registry.size', label: 'Bytes pushed', format: { id: 'bytes' } },
              { op: 'count', label: 'Manifest pushes', filter: 'event.action : "manifest-push"' },
              { op: 'max', field: '@timestamp', label: 'Last push' },
            ],
          },
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
          title: 'Push and delete volume',
          query: PUSH_DELETE,
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
      {
        kind: 'lens',
        w: 24,
        h: 12,
        lens: {
          kind: 'xy',
          title: 'Garbage-collection drops',
          query: 'oci_registry.storage.gc.freed.bytes : *',
          layers: [
            {
              dataView: st,
              seriesType: 'bar',
              x: 0,
              columns: [
                { op: 'date_histogram', field: '@timestamp', interval: '1d', label: 'Day' },
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
