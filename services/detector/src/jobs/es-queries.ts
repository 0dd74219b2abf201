import type { Client } from '@elastic/elasticsearch';
import { toEsAppError } from '../../../../shared/src/es/client.ts';
import type { RegistryEvent } from '../../../../shared/src/model/registry-event.ts';
import type { HourAggregate } from '../engine.ts';

const HOUR = 3_600_000;

const NOISE = ['ping', 'auth-challenge'];

interface CompositeBucket {
  key: { hour: number; user: string | null; ip: string | null };
  doc_count: number;
  pulls: { doc_count: number };
  blobs: { doc_count: number; bytes: { value: number | null } };
  repos: { doc_count: number; n: { value: number } };
}

/**
 * Per identity and hour activity over [fromMs, toMs) with ONE composite aggregation for all
 * identities (paged with `after_key`, `pageSize` buckets per request): image pulls, blob bytes,
 * distinct repositories pulled from (cardinality, approximate above 3 000; for a user seen from
 * several IPs in one hour the largest per-IP figure, a lower bound), all events (ping and
 * 401 challenges excluded). Yields hours in ascending order, each with every active identity.
 * @throws AppError ES_UNAVAILABLE (retriable) / ES_AUTH_FAILED from Elasticsearch.
 */
export async function* hourlyIdentityAggregates(
  client: Client,
  o: { index: string; fromMs: number; toMs: number; pageSize?: number },
): AsyncGenerator<{ hour: number; rows: HourAggregate[] }> {
  let after: Record<string, string | number | boolean | null> | undefined;
  let hour = -1;
  let rows = new Map<string, HourAggregate>();
  for (;;) {
    let res;
    try {
      res = await client.search({
        index: o.index,
        size: 0,
        query: {
          bool: {
            filter: [{ range: { '@timestamp': { gte: o.fromMs, lt: o.toMs, format: 'epoch_millis' } } }],
            must_not: [{ terms: { 'event.action': NOISE } }],
          },
        },
        aggs: {
          by: {
            composite: {
              size: o.pageSize ?? 1000,
              // identityOf(): user.name, else ip:<source.ip>. Composite sources cannot express the
              // fallback (and scripted sources need painless), so user and IP are both sources and
              // the identity's rows of one hour are merged here.
              sources: [
                { hour: { date_histogram: { field: '@timestamp', fixed_interval: '1h' } } },
                { user: { terms: { field: 'user.name', missing_bucket: true } } },
                { ip: { terms: { field: 'source.ip', missing_bucket: true } } },
              ],
              ...(after ? { after } : {}),
            },
            aggs: {
              pulls: { filter: { term: { 'oci_registry.image_pull': true } } },
              blobs: {
                // A request's bytes once: ingest marks a later copy whose bytes an earlier copy
                // already carries (access line after its app-log line) `duplicate_bytes`.
                filter: {
                  bool: {
                    filter: [{ term: { 'event.action': 'blob-pull' } }],
                    must_not: [{ term: { 'oci_registry.duplicate_bytes': true } }],
                  },
                },
                aggs: { bytes: { sum: { field: 'http.response.body.bytes' } } },
              },
              repos: {
                filter: { terms: { 'event.action': ['manifest-pull', 'blob-pull'] } },
                aggs: { n: { cardinality: { field: 'oci_registry.repository' } } },
              },
            },
          },
        },
      });
    } catch (err) {
      throw toEsAppError(err, `hourly identity aggregation on ${o.index}`);
    }
    const agg = (
      res.aggregations as
        | { by?: { buckets: CompositeBucket[]; after_key?: Record<string, string | number | boolean | null> } }
        | undefined
    )?.by;
    const buckets = agg?.buckets ?? [];
    for (const b of buckets) {
      const h = Math.floor(b.key.hour / HOUR);
      if (h !== hour) {
        if (rows.size) yield { hour, rows: [...rows.values()] };
        hour = h;
        rows = new Map();
      }
      const identity = b.key.user ?? `ip:${b.key.ip ?? 'unknown'}`;
      const r = rows.get(identity);
      if (!r)
        rows.set(identity, {
          identity,
          pulls: b.pulls.doc_count,
          bytes: b.blobs.bytes.value ?? 0,
          repos: b.repos.n.value,
          events: b.doc_count,
        });
      else {
        r.pulls += b.pulls.doc_count;
        r.bytes += b.blobs.bytes.value ?? 0;
        r.events += b.doc_count;
        // Distinct repositories across a user's IPs: the largest per-IP count is a lower bound.
        r.repos = Math.max(r.repos, b.repos.n.value);
      }
    }
    if (buckets.length === 0 || !agg?.after_key) break;
    after = agg.after_key;
  }
  if (rows.size) yield { hour, rows: [...rows.values()] };
}

/** Registry-wide SLO figures of one hour from logs: manifest GETs, failures (5xx, 429), P99 latencies (ms). */
export interface SloHour {
  requests: number;
  failures: number;
  pullP99Ms: number | null;
  pullTimed: number;
  authP99Ms: number | null;
  authTimed: number;
}

/** ONE aggregation for the SLO checks of [fromMs, toMs). @throws AppError ES_UNAVAILABLE / ES_AUTH_FAILED. */
export async function sloAggregates(
  client: Client,
  o: { index: string; fromMs: number; toMs: number },
): Promise<SloHour> {
  try {
    const res = await client.search({
      index: o.index,
      size: 0,
      query: {
        bool: {
          filter: [
            { range: { '@timestamp': { gte: o.fromMs, lt: o.toMs, format: 'epoch_millis' } } },
            { exists: { field: 'http.response.status_code' } },
          ],
        },
      },
      aggs: {
        pulls: {
          filter: { term: { 'event.action': 'manifest-pull' } },
          aggs: {
            failed: {
              filter: {
                bool: {
                  should: [
                    { range: { 'http.response.status_code': { gte: 500 } } },
                    { term: { 'http.response.status_code': 429 } },
                  ],
                },
              },
            },
            timed: { value_count: { field: 'event.duration' } },
            p99: { percentiles: { field: 'event.duration', percents: [99] } },
          },
        },
        auth: {
          filter: { terms: { 'event.action': ['login-failure', 'login-success', 'auth-challenge'] } },
          aggs: {
            timed: { value_count: { field: 'event.duration' } },
            p99: { percentiles: { field: 'event.duration', percents: [99] } },
          },
        },
      },
    });
    type A = {
      doc_count: number;
      failed?: { doc_count: number };
      timed: { value: number };
      p99: { values: Record<string, number | null> };
    };
    const a = res.aggregations as { pulls: A; auth: A };
    const p99 = (x: A): number | null => {
      const v = Object.values(x.p99.values)[0];
      return v === null || v === undefined ? null : v / 1e6;
    };
    return {
      requests: a.pulls.doc_count,
      failures: a.pulls.failed?.doc_count ?? 0,
      pullP99Ms: p99(a.pulls),
      pullTimed: a.pulls.timed.value,
      authP99Ms: p99(a.auth),
      authTimed: a.auth.timed.value,
    };
  } catch (err) {
    throw toEsAppError(err, `SLO aggregation on ${o.index}`);
  }
}

/**
 * Every event in [fromMs, toMs) in `@timestamp` order, paged with a point in time and
 * `search_after` (memory: one page). @throws AppError ES_UNAVAILABLE / ES_AUTH_FAILED.
 */
export async function* eventsInOrder(
  client: Client,
  o: { index: string; fromMs: number; toMs: number; pageSize?: number },
): AsyncGenerator<RegistryEvent> {
  let pit: string;
  try {
    pit = (await client.openPointInTime({ index: o.index, keep_alive: '2m', ignore_unavailable: true })).id;
  } catch (err) {
    throw toEsAppError(err, `open point in time on ${o.index}`);
  }
  let after: unknown[] | undefined;
  try {
    for (;;) {
      let res;
      try {
        res = await client.search<RegistryEvent>({
          size: o.pageSize ?? 5000,
          pit: { id: pit, keep_alive: '2m' },
          query: { range: { '@timestamp': { gte: o.fromMs, lt: o.toMs, format: 'epoch_millis' } } },
          sort: [{ '@timestamp': { order: 'asc', format: 'strict_date_optional_time_nanos' } }, { _shard_doc: 'asc' }],
          ...(after ? { search_after: after as never } : {}),
        });
      } catch (err) {
        throw toEsAppError(err, `read events from ${o.index}`);
      }
      if (res.pit_id) pit = res.pit_id;
      const hits = res.hits.hits;
      for (const h of hits) if (h._source) yield h._source;
      if (hits.length === 0) break;
      after = hits[hits.length - 1]!.sort as unknown[];
    }
  } finally {
    await client.closePointInTime({ id: pit }).catch(() => undefined);
  }
}

/** Storage usage per scope, hourly maxima over [fromMs, toMs) (one composite aggregation, paged). */
export async function storageSeries(
  client: Client,
  o: { index: string; fromMs: number; toMs: number },
): Promise<Map<string, { timestamp: string; used_bytes: number; capacity_bytes: number }[]>> {
  const out = new Map<string, { timestamp: string; used_bytes: number; capacity_bytes: number }[]>();
  let after: Record<string, string | number | boolean | null> | undefined;
  for (;;) {
    let res;
    try {
      res = await client.search({
        index: o.index,
        size: 0,
        query: { range: { '@timestamp': { gte: o.fromMs, lt: o.toMs, format: 'epoch_millis' } } },
        aggs: {
          by: {
            composite: {
              size: 1000,
              sources: [
                { scope: { terms: { field: 'oci_registry.storage.scope' } } },
                { hour: { date_histogram: { field: '@timestamp', fixed_interval: '1h' } } },
              ],
              ...(after ? { after } : {}),
            },
            aggs: {
              used: { max: { field: 'oci_registry.storage.used.bytes' } },
              cap: { max: { field: 'oci_registry.storage.capacity.bytes' } },
            },
          },
        },
      });
    } catch (err) {
      throw toEsAppError(err, `storage aggregation on ${o.index}`);
    }
    type B = { key: { scope: string; hour: number }; used: { value: number | null }; cap: { value: number | null } };
    const agg = (
      res.aggregations as
        { by?: { buckets: B[]; after_key?: Record<string, string | number | boolean | null> } } | undefined
    )?.by;
    for (const b of agg?.buckets ?? []) {
      if (b.used.value === null) continue;
      const list = out.get(b.key.scope) ?? [];
      list.push({
        timestamp: new Date(b.key.hour).toISOString(),
        used_bytes: b.used.value,
        capacity_bytes: b.cap.value ?? 0,
      });
      out.set(b.key.scope, list);
    }
    if (!agg?.buckets.length || !agg.after_key) break;
    after = agg.after_key;
  }
  return out;
}
