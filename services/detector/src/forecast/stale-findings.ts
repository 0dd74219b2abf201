/**
 * Rule `storage.data_stale`, and the per-scope decision both storage jobs make (the detector's
 * runStorageJob over Elasticsearch, the embedded runLocalStorageForecast over the data directory).
 *
 * A forecast counts days from the scope's last sample. When the collector of a scope stops, the
 * last sample ages while every run keeps forecasting from it; a stale forecast is not evidence, so
 * for a stale scope (staleness.ts assessStaleness against the job's `now`, the same judgement
 * `regwatch forecast --stale-after` makes) the `storage.exhaustion` finding is neither raised,
 * refreshed nor resolved (its status stays as it was), and one `storage.data_stale` finding says
 * how old the data is. When fresh samples return, the stale finding is resolved once and the
 * forecast findings resume (storageFindings with the status the scope had before it went stale).
 *
 * Id: like storage.exhaustion, a standing condition of one scope: the stable hash of rule +
 * entity with the Unix epoch as the window anchor, so every run while stale updates one finding
 * and the resolved notice carries the same id. Pure (except warnStale, which only logs): the
 * caller passes statuses and `now`.
 */
import type { Logger } from '../../../../shared/src/logger.ts';
import type { Finding } from '../../../../shared/src/model/finding.ts';
import { buildFinding, findingId } from '../findings.ts';
import { storageFindings, type StorageFindingOptions, STORAGE_RULE } from './findings.ts';
import type { ForecastResult } from './model.ts';
import { assessStaleness, type Staleness } from './staleness.ts';

export const STORAGE_STALE_RULE = 'storage.data_stale';

/** Last emitted status per key of the storage jobs (`previous` between runs). */
export type StorageStatuses = Map<string, 'firing' | 'resolved'>;

/**
 * Key of a scope's `storage.data_stale` status in the storage jobs' `previous` map (the
 * `storage.exhaustion` status stays under the bare scope, as before). Rule ids have no spaces.
 */
export const staleStatusKey = (scope: string): string => `${STORAGE_STALE_RULE} ${scope}`;

const hours = (seconds: number): string => (seconds / 3600).toFixed(1);

/**
 * Findings of `storage.data_stale` for one scope.
 * @param st the scope's staleness at `now` (assessStaleness; seconds).
 * @param previous the scope's last emitted stale status, undefined if none.
 * @returns [firing] (severity medium) on every run while stale; [resolved] once when the data is
 *   fresh again after firing; [] otherwise. `observed` = age of the last sample, seconds;
 *   `expected` = 0 … threshold seconds; window = last sample → now.
 */
export function staleStorageFindings(
  scope: string,
  st: Staleness,
  previous: 'firing' | 'resolved' | undefined,
  now: Date,
  opts: StorageFindingOptions = {},
): Finding[] {
  if (!st.stale && previous !== 'firing') return [];
  const entity = { type: 'storage' as const, id: scope };
  const last = Date.parse(st.last_timestamp);
  const message = st.stale
    ? `No storage samples for ${scope} since ${st.last_timestamp} (${hours(st.age_seconds)} h, threshold ${hours(st.threshold_seconds)} h): is its collector running? Capacity forecasts for ${scope} are paused until samples arrive.`
    : `Storage samples for ${scope} are current again: last sample ${st.last_timestamp} (${hours(st.age_seconds)} h old, threshold ${hours(st.threshold_seconds)} h).`;
  const f = buildFinding(
    {
      rule: STORAGE_STALE_RULE,
      severity: st.stale ? 'medium' : 'info',
      // 50 at the threshold, 100 at twice the threshold or older.
      score: st.stale ? Math.min(100, (50 * st.age_seconds) / st.threshold_seconds) : 0,
      entity,
      windowStart: Math.min(last, now.getTime()),
      windowEnd: now.getTime(),
      observed: { value: st.age_seconds, unit: 'seconds' },
      expected: { value: 0, unit: 'seconds', lower: 0, upper: st.threshold_seconds },
      evidence: {
        extra: {
          last_timestamp: st.last_timestamp,
          age_seconds: st.age_seconds,
          threshold_seconds: st.threshold_seconds,
        },
      },
      message,
      labels: { scope },
    },
    {
      detectedAt: now.getTime(),
      status: st.stale ? 'firing' : 'resolved',
      ...(opts.kibanaUrl ? { kibanaUrl: opts.kibanaUrl } : {}),
    },
  );
  return [{ ...f, id: findingId(STORAGE_STALE_RULE, entity, 0) }];
}

/** What a storage job does for one scope after its forecast. */
export interface StorageScopeDecision {
  /** Staleness of the scope's samples at `now`. */
  readonly staleness: Staleness;
  /** Findings to publish: stale → only `storage.data_stale`; fresh → a resolved stale notice (if it was firing) and storageFindings. */
  readonly findings: Finding[];
}

/**
 * The per-scope decision of the storage jobs: judge staleness first, then either the stale
 * finding only or the forecast findings (see the file comment).
 * @param previous statuses of earlier runs (read only here; record the result with
 *   recordStorageStatuses).
 * @param o.staleAfterSeconds threshold, seconds; default: assessStaleness's (max(1 day, 2 × the
 *   sampling interval)).
 * @throws AppError FORECAST_INPUT_INVALID when `staleAfterSeconds` is not > 0 or the forecast's
 *   last_timestamp is not a time.
 */
export function judgeStorageScope(
  scope: string,
  result: ForecastResult,
  previous: ReadonlyMap<string, 'firing' | 'resolved'>,
  now: Date,
  o: StorageFindingOptions & { readonly staleAfterSeconds?: number | undefined } = {},
): StorageScopeDecision {
  const staleness = assessStaleness(
    result,
    now,
    o.staleAfterSeconds === undefined ? {} : { staleAfterSeconds: o.staleAfterSeconds },
  );
  const opts: StorageFindingOptions = o.kibanaUrl ? { kibanaUrl: o.kibanaUrl } : {};
  const stale = staleStorageFindings(scope, staleness, previous.get(staleStatusKey(scope)), now, opts);
  if (staleness.stale) return { staleness, findings: stale };
  return { staleness, findings: [...stale, ...storageFindings(scope, result, previous.get(scope), now, opts)] };
}

/** Records the statuses of a scope's emitted findings in `previous` (mutates it). */
export function recordStorageStatuses(previous: StorageStatuses, scope: string, findings: readonly Finding[]): void {
  for (const f of findings) {
    if (f.rule === STORAGE_STALE_RULE) previous.set(staleStatusKey(scope), f.status);
    else if (f.rule === STORAGE_RULE) previous.set(scope, f.status);
  }
}

/**
 * The warning both storage jobs log for a stale scope: `scope`, `last_sample` (ISO 8601),
 * `age_seconds`, `threshold_seconds`.
 */
export function warnStale(logger: Logger | undefined, scope: string, st: Staleness): void {
  logger?.warn(
    {
      scope,
      last_sample: st.last_timestamp,
      age_seconds: Math.round(st.age_seconds),
      threshold_seconds: st.threshold_seconds,
    },
    'storage samples are stale: capacity forecast findings paused for this scope',
  );
}
