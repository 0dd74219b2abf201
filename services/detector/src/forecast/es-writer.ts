/**
 * Indexes storage forecasts into `regwatch-forecasts` (shared/src/es/names.ts FORECASTS_INDEX,
 * mapping FORECAST_MAPPINGS in shared/src/es/mappings.ts), the data of the Capacity dashboard's
 * "Storage used vs capacity, with forecast and interval" and "Days to 85 % / 100 %" panels.
 *
 * One document per scope and UTC day ahead: the forecast path (daily points from the last sample,
 * forecastStorage) is resampled onto UTC midnights by linear interpolation, so every run writes
 * the same target times and `_id` = sha256(scope, target time) overwrites the previous run's
 * point. Points an earlier run wrote that this run no longer covers (a shorter path, or a copy
 * left in an older backing index after an ILM rollover) are deleted afterwards
 * (`generated_at` older than this run, same scope).
 */
import { createHash } from 'node:crypto';
import type { Client } from '@elastic/elasticsearch';
import { AppError } from '../../../../shared/src/errors.ts';
import { toEsAppError } from '../../../../shared/src/es/client.ts';
import type { Logger } from '../../../../shared/src/logger.ts';
import type { ForecastResult } from './model.ts';

const DAY_MS = 86_400_000;

/** One forecast document with its `_id`. */
export interface ForecastDoc {
  readonly id: string;
  readonly doc: Record<string, unknown>;
}

/** `_id` of a forecast point: sha256 of scope and target time (ms since epoch). */
export const forecastPointId = (scope: string, targetMs: number): string =>
  createHash('sha256').update(`${scope}\u0000${targetMs}`).digest('hex').slice(0, 40);

/**
 * The forecast as documents shaped as FORECAST_MAPPINGS: `@timestamp` = the UTC midnight the
 * point is for, `oci_registry.forecast.{scope, generated_at, method, used.bytes (expected),
 * used.lower.bytes / used.upper.bytes (80 % interval, lower clamped at 0), capacity.bytes,
 * days_to_85, days_to_100}`. Bytes are rounded to whole bytes. `days_to_*` count days from the
 * last sample and are absent when the level is not reached within the horizon; `days_to_85` is
 * the forecast's warning level only when that level is 85 % (`warn_ratio` 0.85, the default),
 * else absent.
 * @param o.generatedAt when this forecast was computed (processing time).
 * @returns [] when the path has fewer than two points (nothing to interpolate between).
 */
export function forecastDocuments(
  scope: string,
  result: ForecastResult,
  o: { readonly generatedAt: Date; readonly instanceId?: string },
): ForecastDoc[] {
  const path = result.path
    .map((p) => ({ t: Date.parse(p.timestamp), e: p.expected, l: p.lower, u: p.upper }))
    .filter((p) => Number.isFinite(p.t) && Number.isFinite(p.e))
    .sort((a, b) => a.t - b.t);
  const first = path[0];
  const last = path[path.length - 1];
  if (!first || !last || path.length < 2) return [];
  const generatedAt = o.generatedAt.toISOString();
  const common: Record<string, unknown> = {
    scope,
    generated_at: generatedAt,
    method: result.method,
    capacity: { bytes: Math.round(result.capacity_bytes) },
    ...(Math.abs(result.warn_ratio - 0.85) < 1e-9 && result.days_to_warn !== null
      ? { days_to_85: result.days_to_warn }
      : {}),
    ...(result.days_to_full !== null ? { days_to_100: result.days_to_full } : {}),
  };
  const out: ForecastDoc[] = [];
  let i = 0;
  for (let t = Math.ceil(first.t / DAY_MS) * DAY_MS; t <= last.t; t += DAY_MS) {
    while (i < path.length - 2 && (path[i + 1] as { t: number }).t <= t) i++;
    const a = path[i] as (typeof path)[number];
    const b = path[i + 1] as (typeof path)[number];
    const f = b.t === a.t ? 0 : Math.min(1, Math.max(0, (t - a.t) / (b.t - a.t)));
    const lerp = (x: number, y: number): number => x + (y - x) * f;
    out.push({
      id: forecastPointId(scope, t),
      doc: {
        '@timestamp': new Date(t).toISOString(),
        oci_registry: {
          ...(o.instanceId !== undefined ? { instance_id: o.instanceId } : {}),
          forecast: {
            ...common,
            used: {
              bytes: Math.round(lerp(a.e, b.e)),
              lower: { bytes: Math.max(0, Math.round(lerp(a.l, b.l))) },
              upper: { bytes: Math.max(0, Math.round(lerp(a.u, b.u))) },
            },
          },
        },
      },
    });
  }
  return out;
}

/** What one write did. */
export interface ForecastWriteReport {
  readonly written: number;
  /** Stale points of earlier runs removed. */
  readonly deleted: number;
}

/** Where forecasts go (port): the detector jobs and the embedded stage call it after each forecast. */
export interface ForecastWriter {
  /**
   * Stores one scope's forecast, replacing the previous run's.
   * @throws AppError ES_BULK_ITEM_FAILED (retriable when an item got 429/5xx), ES_UNAVAILABLE,
   *   ES_AUTH_FAILED.
   */
  write(scope: string, result: ForecastResult, generatedAt: Date): Promise<ForecastWriteReport>;
}

/**
 * Forecast writer over Elasticsearch: `_bulk` `index` with the point ids, then a `_bulk` delete
 * of the scope's points with an older `generated_at` (found with a search, not
 * `_delete_by_query`, which needs the `reindex` module that minimal distributions lack).
 * @param o.index index or alias (FORECASTS_INDEX); `o.refresh` makes the points searchable before
 *   returning (tests; default false).
 */
export function esForecastWriter(
  client: Client,
  o: { readonly index: string; readonly refresh?: boolean; readonly instanceId?: string },
): ForecastWriter {
  return {
    async write(scope, result, generatedAt) {
      const docs = forecastDocuments(scope, result, {
        generatedAt,
        ...(o.instanceId !== undefined ? { instanceId: o.instanceId } : {}),
      });
      if (docs.length === 0) return { written: 0, deleted: 0 };
      const operations: object[] = [];
      for (const d of docs) operations.push({ index: { _index: o.index, _id: d.id } }, d.doc);
      let res;
      try {
        res = await client.bulk({ operations, refresh: o.refresh === true ? 'wait_for' : false });
      } catch (err) {
        throw toEsAppError(err, `forecast write to ${o.index}`);
      }
      const failed: { status: number; reason: string }[] = [];
      for (const item of res.items) {
        const r = Object.values(item)[0];
        if (r && r.status >= 300)
          failed.push({ status: r.status, reason: `${r.error?.type ?? ''}: ${r.error?.reason ?? ''}` });
      }
      if (failed.length > 0) {
        throw new AppError(
          'ES_BULK_ITEM_FAILED',
          `${failed.length} of ${docs.length} forecast points for ${scope} rejected (first: ${failed[0]?.status} ${failed[0]?.reason})`,
          { retriable: failed.every((f) => f.status === 429 || f.status >= 500), context: { scope } },
        );
      }
      // Where each point landed (the alias' write index): a hit with the same id elsewhere is a
      // copy left in an older backing index, and one not written now is a stale point.
      const landed = new Map<string, string>();
      for (const item of res.items) {
        const r = Object.values(item)[0];
        if (r?._id) landed.set(r._id, r._index);
      }
      const deleted = await deleteStale(client, o.index, scope, generatedAt, landed).catch((err: unknown) => {
        throw toEsAppError(err, `removing stale forecast points of ${scope} from ${o.index}`);
      });
      return { written: docs.length, deleted };
    },
  };
}

/**
 * Deletes the scope's points written before `generatedAt`, except the copies just written
 * (`landed`: id → index). The search may still see the previous version of a point overwritten a
 * moment ago (before a refresh); such a hit has the same id and index as the new write and is kept.
 * @returns how many documents were deleted.
 */
async function deleteStale(
  client: Client,
  index: string,
  scope: string,
  generatedAt: Date,
  landed: ReadonlyMap<string, string>,
): Promise<number> {
  let deleted = 0;
  const seen = new Set<string>();
  for (;;) {
    const res = await client.search({
      index,
      size: 1000,
      _source: false,
      query: {
        bool: {
          filter: [
            { term: { 'oci_registry.forecast.scope': scope } },
            { range: { 'oci_registry.forecast.generated_at': { lt: generatedAt.toISOString() } } },
          ],
        },
      },
    });
    const stale = res.hits.hits.filter(
      (h) => h._id !== undefined && landed.get(h._id) !== h._index && !seen.has(`${h._index}/${h._id}`),
    );
    if (stale.length === 0) return deleted;
    for (const h of stale) seen.add(`${h._index}/${h._id}`);
    const del = await client.bulk({
      operations: stale.map((h) => ({ delete: { _index: h._index, _id: h._id } })),
      refresh: 'wait_for',
    });
    for (const item of del.items) if (item.delete && item.delete.status < 300) deleted++;
    if (res.hits.hits.length < 1000) return deleted;
  }
}

/**
 * Stores one forecast through `writer`; failures are logged (warning, with code and whether
 * retriable — the next scheduled run writes again) and swallowed.
 */
export async function storeForecast(
  writer: ForecastWriter,
  scope: string,
  result: ForecastResult,
  generatedAt: Date,
  logger: Logger | undefined,
): Promise<void> {
  try {
    const r = await writer.write(scope, result, generatedAt);
    logger?.debug({ scope, ...r }, 'storage forecast stored');
  } catch (err) {
    const e = err as { code?: string; retriable?: boolean; message?: string };
    logger?.warn(
      { scope, code: e.code, retriable: e.retriable, err: { message: e.message } },
      'storage forecast not stored',
    );
  }
}
