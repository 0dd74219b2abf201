import { DATA_VIEWS } from '../data-views.ts';
import type { DashboardSpec } from '../dashboard.ts';
import { BYTES_ONCE, NOT_DUPLICATE, countedOnce } from '../kql.ts';

const ev = DATA_VIEWS.events;
const fi = DATA_VIEWS.findings;

export const IDENTITY_DASHBOARD_ID = 'regwatch-identity-drilldown';

/** Issue 8, dashboard 2: one identity (filter by `user.name` or `source.ip`), last 7 days. */
export const identityDrilldown: DashboardSpec = {
  id: IDENTITY_DASHBOARD_ID,
  title: '[regwatch] Identity drilldown',
  description:
    'Everything one identity did. Add a filter user.name : "<name>" or source.ip : "<ip>" (the findings table on the security overview adds it for you).',
  timeFrom: 'now-7d',
  timeTo: 'now',
  rows: [
    [
      {
        kind: 'markdown',
        w: 48,
        h: 4,
        title: 'How to use',
        markdown:
          "Filter by **user.name** (a person or robot) or **source.ip** (anonymous or failed logins). The same filter selects the identity's findings: in the findings index `user.name` and `source.ip` are aliases of `entity.id`. The default range (7 days) is one hour-of-week cycle.",
      },
    ],
    [
      {
        kind: 'lens',
        w: 48,
        h: 12,
        lens: {
          kind: 'xy',
          title: 'Activity by hour vs detector baseline',
          layers: [
            {
              dataView: ev,
              seriesType: 'bar',
              x: 0,
              columns: [
                { op: 'date_histogram', field: '@timestamp', interval: '1h', label: 'Hour' },
                { op: 'count', label: 'Events per hour', filter: NOT_DUPLICATE },
              ],
            },
            {
              dataView: fi,
              seriesType: 'line',
              x: 0,
              columns: [
                { op: 'date_histogram', field: 'window.start', interval: '1h', label: 'Hour' },
                { op: 'max', field: 'expected.value', label: 'Baseline (expected)' },
                { op: 'max', field: 'expected.upper', label: 'Baseline upper bound' },
                { op: 'max', field: 'observed.value', label: 'Observed (finding)' },
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
          title: 'Actions over time',
          query: countedOnce(),
          layers: [
            {
              dataView: ev,
              seriesType: 'bar_stacked',
              x: 0,
              split: 1,
              columns: [
                { op: 'date_histogram', field: '@timestamp' },
                { op: 'terms', field: 'event.action', size: 10, label: 'Action', orderBy: 2, otherBucket: true },
                { op: 'count', label: 'Events' },
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
          title: 'Repositories',
          sortBy: { column: 1, direction: 'desc' },
          layer: {
            dataView: ev,
            columns: [
              { op: 'terms', field: 'oci_registry.repository', size: 50, label: 'Repository', orderBy: 1 },
              { op: 'count', label: 'Events', filter: NOT_DUPLICATE },
              { op: 'count', label: 'Image pulls', filter: 'oci_registry.image_pull : true' },
              {
                op: 'sum',
                field: 'http.response.body.bytes',
                label: 'Bytes sent',
                filter: BYTES_ONCE,
                format: { id: 'bytes' },
              },
              { op: 'max', field: '@timestamp', label: 'Last seen' },
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
          kind: 'datatable',
          title: 'Source IPs and user agents',
          sortBy: { column: 2, direction: 'desc' },
          layer: {
            dataView: ev,
            columns: [
              { op: 'terms', field: 'source.ip', size: 20, label: 'Source IP', orderBy: 2 },
              {
                op: 'terms',
                field: 'user_agent.original',
                size: 10,
                label: 'User agent',
                orderBy: 2,
                missingBucket: true,
              },
              { op: 'count', label: 'Events', filter: NOT_DUPLICATE },
              { op: 'min', field: '@timestamp', label: 'First seen' },
              { op: 'max', field: '@timestamp', label: 'Last seen' },
            ],
          },
        },
      },
      {
        kind: 'lens',
        w: 24,
        h: 12,
        lens: {
          kind: 'datatable',
          title: 'Findings for this identity',
          sortBy: { column: 3, direction: 'desc' },
          layer: {
            dataView: fi,
            columns: [
              { op: 'terms', field: 'rule', size: 20, label: 'Rule', orderBy: 3 },
              { op: 'terms', field: 'severity', size: 5, label: 'Severity', orderBy: 3 },
              { op: 'terms', field: 'message', size: 5, label: 'Message', orderBy: 3 },
              { op: 'max', field: 'window.start', label: 'Latest window' },
              { op: 'max', field: 'score', label: 'Max score', format: { id: 'number', decimals: 0 } },
            ],
          },
        },
      },
    ],
    [
      {
        kind: 'search',
        w: 48,
        h: 16,
        search: {
          id: 'regwatch-identity-raw-events',
          title: '[regwatch] Raw registry events',
          dataView: ev,
          columns: [
            'event.action',
            'event.outcome',
            'user.name',
            'source.ip',
            'oci_registry.repository',
            'oci_registry.tag',
            'oci_registry.digest',
            'http.response.status_code',
            'user_agent.original',
          ],
        },
      },
    ],
  ],
};
