import { DATA_VIEWS } from '../data-views.ts';
import type { DashboardSpec } from '../dashboard.ts';
import { countedOnce } from '../kql.ts';

const ev = DATA_VIEWS.events;
const pl = DATA_VIEWS.pipeline;
const dl = DATA_VIEWS.deliveries;

/** 500 ms in nanoseconds (`event.duration` unit). */
const LATENCY_SLO_NS = 500_000_000;

/** Issue 8, dashboard 4: registry health and pipeline (last 24 h). */
export const health: DashboardSpec = {
  id: 'regwatch-health',
  title: '[regwatch] Registry health and pipeline',
  description:
    'Pull success vs the 99.9 % SLO, latency percentiles vs 500 ms, 4xx/5xx by code, ingest rate, DLQ by reason, consumer lag, alert deliveries.',
  timeFrom: 'now-24h',
  timeTo: 'now',
  rows: [
    [
      {
        kind: 'lens',
        w: 24,
        h: 12,
        lens: {
          kind: 'xy',
          title: 'Manifest pull outcome share (SLO: success ≥ 99.9 %)',
          query: countedOnce('event.action : "manifest-pull"'),
          referenceLines: [{ value: 0.999, label: 'SLO 99.9 %', format: { id: 'percent' } }],
          layers: [
            {
              dataView: ev,
              seriesType: 'bar_percentage_stacked',
              x: 0,
              split: 1,
              columns: [
                { op: 'date_histogram', field: '@timestamp' },
                { op: 'terms', field: 'event.outcome', size: 3, label: 'Outcome', orderBy: 2 },
                { op: 'count', label: 'Manifest pulls' },
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
          title: 'Request latency percentiles (SLO: 500 ms)',
          // Only the app log carries event.duration (one copy per request), and that copy can be
          // marked duplicate when its access line came first: no duplicate filter here.
          query: 'event.duration : *',
          referenceLines: [{ value: LATENCY_SLO_NS, label: 'SLO 500 ms', format: { id: 'duration_ns' } }],
          layers: [
            {
              dataView: ev,
              seriesType: 'line',
              x: 0,
              columns: [
                { op: 'date_histogram', field: '@timestamp' },
                {
                  op: 'percentile',
                  field: 'event.duration',
                  percentile: 50,
                  label: 'P50',
                  format: { id: 'duration_ns' },
                },
                {
                  op: 'percentile',
                  field: 'event.duration',
                  percentile: 95,
                  label: 'P95',
                  format: { id: 'duration_ns' },
                },
                {
                  op: 'percentile',
                  field: 'event.duration',
                  percentile: 99,
                  label: 'P99',
                  format: { id: 'duration_ns' },
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
          title: '4xx and 5xx responses by status code',
          // A blob HEAD answered 404 is a client asking "do you have it?" before an upload (shared
          // CASES C11), not an error: left out.
          query: countedOnce(
            'http.response.status_code >= 400 and not (event.action : "blob-head" and http.response.status_code : 404)',
          ),
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
                  field: 'http.response.status_code',
                  size: 10,
                  label: 'Status code',
                  orderBy: 2,
                  otherBucket: true,
                },
                { op: 'count', label: 'Responses' },
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
          title: 'Ingest rate by dataset',
          // Documents ingested per dataset (a pipeline measure): copies of a request included.
          layers: [
            {
              dataView: ev,
              seriesType: 'area_stacked',
              x: 0,
              split: 1,
              columns: [
                { op: 'date_histogram', field: '@timestamp' },
                { op: 'terms', field: 'event.dataset', size: 10, label: 'Dataset', orderBy: 2 },
                { op: 'count', label: 'Events' },
              ],
            },
          ],
        },
      },
    ],
    [
      {
        kind: 'lens',
        w: 16,
        h: 12,
        lens: {
          kind: 'xy',
          title: 'Dead-letter queue by reason',
          query: 'oci_registry.pipeline.dlq.count : *',
          layers: [
            {
              dataView: pl,
              seriesType: 'bar_stacked',
              x: 0,
              split: 1,
              columns: [
                { op: 'date_histogram', field: '@timestamp' },
                {
                  op: 'terms',
                  field: 'oci_registry.pipeline.dlq.reason',
                  size: 10,
                  label: 'Reason',
                  orderBy: 2,
                  otherBucket: true,
                },
                { op: 'sum', field: 'oci_registry.pipeline.dlq.count', label: 'Dead-lettered' },
              ],
            },
          ],
        },
      },
      {
        kind: 'lens',
        w: 16,
        h: 12,
        lens: {
          kind: 'xy',
          title: 'Consumer lag by group',
          query: 'oci_registry.pipeline.consumer_lag : *',
          layers: [
            {
              dataView: pl,
              seriesType: 'line',
              x: 0,
              split: 1,
              columns: [
                { op: 'date_histogram', field: '@timestamp' },
                {
                  op: 'terms',
                  field: 'oci_registry.pipeline.consumer_group',
                  size: 10,
                  label: 'Consumer group',
                  orderBy: 2,
                },
                { op: 'max', field: 'oci_registry.pipeline.consumer_lag', label: 'Lag (messages)' },
              ],
            },
          ],
        },
      },
      {
        kind: 'lens',
        w: 16,
        h: 12,
        lens: {
          kind: 'xy',
          title: 'Alert deliveries by channel and outcome',
          layers: [
            {
              dataView: dl,
              seriesType: 'bar_stacked',
              x: 0,
              split: 1,
              columns: [
                { op: 'terms', field: 'oci_registry.alert.channel', size: 15, label: 'Channel', orderBy: 2 },
                { op: 'terms', field: 'oci_registry.alert.result', size: 3, label: 'Result', orderBy: 2 },
                { op: 'count', label: 'Attempts' },
              ],
            },
          ],
        },
      },
    ],
  ],
};
