import { DATA_VIEWS } from '../data-views.ts';
import type { DashboardSpec } from '../dashboard.ts';
import { BYTES_ONCE, NOT_DUPLICATE, countedOnce } from '../kql.ts';
import { IDENTITY_DASHBOARD_ID } from './identity.ts';

const ev = DATA_VIEWS.events;
const fi = DATA_VIEWS.findings;

export const SECURITY_DASHBOARD_ID = 'regwatch-security-overview';

/** Issue 8, dashboard 1: security overview (last 24 h). */
export const securityOverview: DashboardSpec = {
  id: SECURITY_DASHBOARD_ID,
  title: '[regwatch] Security overview',
  description:
    'Failed logins, findings, top pullers, new identity→repository pairs, anonymous activity, deletes and tag re-points. Click an identity in the findings table to open the identity drilldown.',
  timeFrom: 'now-24h',
  timeTo: 'now',
  rows: [
    [
      {
        kind: 'lens',
        w: 12,
        h: 6,
        lens: {
          kind: 'metric',
          title: 'Failed logins',
          query: countedOnce('event.action : "login-failure"'),
          layer: { dataView: ev, columns: [{ op: 'count', label: 'Failed logins' }] },
        },
      },
      {
        kind: 'lens',
        w: 12,
        h: 6,
        lens: {
          kind: 'metric',
          title: 'Image pulls',
          // True on exactly one stored copy of a pull (ingest, request-copies.ts): no duplicate filter.
          query: 'oci_registry.image_pull : true',
          layer: { dataView: ev, columns: [{ op: 'count', label: 'Image pulls' }] },
        },
      },
      {
        kind: 'lens',
        w: 12,
        h: 6,
        lens: {
          kind: 'metric',
          title: 'Anonymous requests',
          query: countedOnce('oci_registry.actor.anonymous : true'),
          layer: { dataView: ev, columns: [{ op: 'count', label: 'Anonymous requests' }] },
        },
      },
      {
        kind: 'lens',
        w: 12,
        h: 6,
        lens: {
          kind: 'metric',
          title: 'Firing findings',
          query: 'status : "firing"',
          layer: { dataView: fi, columns: [{ op: 'count', label: 'Firing findings' }] },
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
          title: 'Failed logins over time by source IP',
          query: countedOnce('event.action : "login-failure"'),
          layers: [
            {
              dataView: ev,
              seriesType: 'bar_stacked',
              x: 0,
              split: 1,
              columns: [
                { op: 'date_histogram', field: '@timestamp' },
                { op: 'terms', field: 'source.ip', size: 10, label: 'Source IP', orderBy: 2, otherBucket: true },
                { op: 'count', label: 'Failed logins' },
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
          title: 'Failed logins over time by user',
          query: countedOnce('event.action : "login-failure"'),
          layers: [
            {
              dataView: ev,
              seriesType: 'bar_stacked',
              x: 0,
              split: 1,
              columns: [
                { op: 'date_histogram', field: '@timestamp' },
                {
                  op: 'terms',
                  field: 'oci_registry.attempted_user',
                  size: 10,
                  label: 'Attempted user',
                  orderBy: 2,
                  otherBucket: true,
                  missingBucket: true,
                },
                { op: 'count', label: 'Failed logins' },
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
          title: 'Findings timeline by rule',
          layers: [
            {
              dataView: fi,
              seriesType: 'bar_stacked',
              x: 0,
              split: 1,
              columns: [
                { op: 'date_histogram', field: 'window.start' },
                { op: 'terms', field: 'rule', size: 10, label: 'Rule', orderBy: 2, otherBucket: true },
                { op: 'count', label: 'Findings' },
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
          title: 'Findings timeline by severity',
          layers: [
            {
              dataView: fi,
              seriesType: 'bar_stacked',
              x: 0,
              split: 1,
              columns: [
                { op: 'date_histogram', field: 'window.start' },
                { op: 'terms', field: 'severity', size: 5, label: 'Severity', orderBy: 2 },
                { op: 'count', label: 'Findings' },
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
        h: 14,
        lens: {
          kind: 'datatable',
          title: 'Top pullers (image pulls and bytes)',
          query: 'event.action : ("manifest-pull" or "blob-pull")',
          sortBy: { column: 1, direction: 'desc' },
          layer: {
            dataView: ev,
            columns: [
              { op: 'terms', field: 'user.name', size: 20, label: 'User', orderBy: 1, missingBucket: true },
              { op: 'count', label: 'Image pulls', filter: 'oci_registry.image_pull : true' },
              {
                op: 'sum',
                field: 'http.response.body.bytes',
                label: 'Bytes pulled',
                filter: BYTES_ONCE,
                format: { id: 'bytes' },
              },
              { op: 'unique_count', field: 'oci_registry.repository', label: 'Repositories' },
              { op: 'unique_count', field: 'source.ip', label: 'Source IPs' },
            ],
          },
        },
      },
      {
        kind: 'lens',
        w: 24,
        h: 14,
        timeRange: { from: 'now-30d', to: 'now' },
        lens: {
          kind: 'datatable',
          title: 'New identity → repository pairs (first seen, last 30 days)',
          query: `oci_registry.image_pull : true or (event.action : "manifest-push" and ${NOT_DUPLICATE})`,
          sortBy: { column: 2, direction: 'desc' },
          layer: {
            dataView: ev,
            columns: [
              { op: 'terms', field: 'user.name', size: 50, label: 'User', orderBy: 2, missingBucket: true },
              { op: 'terms', field: 'oci_registry.repository', size: 20, label: 'Repository', orderBy: 2 },
              { op: 'min', field: '@timestamp', label: 'First seen' },
              { op: 'count', label: 'Operations' },
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
          title: 'Anonymous activity by action',
          query: countedOnce('oci_registry.actor.anonymous : true'),
          layers: [
            {
              dataView: ev,
              seriesType: 'bar_stacked',
              x: 0,
              split: 1,
              columns: [
                { op: 'date_histogram', field: '@timestamp' },
                { op: 'terms', field: 'event.action', size: 10, label: 'Action', orderBy: 2, otherBucket: true },
                { op: 'count', label: 'Requests' },
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
          title: 'Deletes and tag re-points (distinct digests per tag > 1 = re-pointed)',
          query: countedOnce('event.action : ("manifest-delete" or "tag-delete" or "blob-delete" or "manifest-push")'),
          sortBy: { column: 3, direction: 'desc' },
          layer: {
            dataView: ev,
            columns: [
              { op: 'terms', field: 'oci_registry.repository', size: 20, label: 'Repository', orderBy: 3 },
              { op: 'terms', field: 'event.action', size: 5, label: 'Action', orderBy: 3 },
              { op: 'terms', field: 'oci_registry.tag', size: 10, label: 'Tag', orderBy: 3, missingBucket: true },
              { op: 'count', label: 'Events' },
              { op: 'unique_count', field: 'oci_registry.digest', label: 'Distinct digests' },
              { op: 'max', field: '@timestamp', label: 'Last seen' },
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
        drilldownTo: IDENTITY_DASHBOARD_ID,
        lens: {
          kind: 'datatable',
          title: 'Findings (click an identity to drill down)',
          sortBy: { column: 4, direction: 'desc' },
          layer: {
            dataView: fi,
            columns: [
              { op: 'terms', field: 'user.name', size: 50, label: 'Identity (user.name / source.ip)', orderBy: 4 },
              { op: 'terms', field: 'rule', size: 10, label: 'Rule', orderBy: 4 },
              { op: 'terms', field: 'severity', size: 5, label: 'Severity', orderBy: 4 },
              { op: 'max', field: 'score', label: 'Max score', format: { id: 'number', decimals: 0 } },
              { op: 'max', field: 'window.start', label: 'Latest window' },
              { op: 'count', label: 'Findings' },
            ],
          },
        },
      },
    ],
  ],
};
