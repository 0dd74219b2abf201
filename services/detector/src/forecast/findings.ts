/**
 * Rule `storage.exhaustion`: turns a storage forecast into findings (contract:
 * shared/src/model/finding.ts). Pure: the scheduler passes the forecast, the scope's previous
 * status and `now`.
 *
 * Severity rises as the days to full shrink (point estimate): ≤ 7 d critical, ≤ 30 d high,
 * ≤ 90 d medium (or the warning level within 14 d), ≤ 180 d low (or the warning level within
 * 60 d); beyond that the outlook is healthy and nothing fires. `observed` = days to full with the
 * 80 % interval as lower/upper (`horizon_days` stands for "not within the horizon"); `expected` =
 * the net growth in bytes per day.
 *
 * Id: the forecast is a standing condition of one scope, not a count over a window, so the id is
 * the stable hash of rule + entity with a fixed window anchor (the Unix epoch): every run for the
 * scope updates the same finding and the resolved notice carries the same id.
 */
import type { Finding, Severity } from '../../../../shared/src/model/finding.ts';
import { buildFinding, findingId } from '../findings.ts';
import { formatBytesPerDay } from './units.ts';
import type { ForecastResult } from './model.ts';

export const STORAGE_RULE = 'storage.exhaustion';

export interface StorageFindingOptions {
  /** Kibana base URL for the Discover link (optional). */
  readonly kibanaUrl?: string;
}

/** Severity for a forecast, or null when the outlook is healthy (nothing should fire). */
export function storageSeverity(r: ForecastResult): Severity | null {
  const d = r.days_to_full;
  const w = r.days_to_warn;
  if (d !== null && d <= 7) return 'critical';
  if (d !== null && d <= 30) return 'high';
  if ((d !== null && d <= 90) || (w !== null && w <= 14)) return 'medium';
  if ((d !== null && d <= 180) || (w !== null && w <= 60)) return 'low';
  return null;
}

const days = (x: number | null, horizon: number): string =>
  x === null ? `more than ${horizon} days` : `${x.toFixed(1)} days`;

/**
 * Findings for one storage scope after a forecast run.
 * @param scope storage scope id (e.g. `fs:/var/lib/registry`, `harbor:library`).
 * @param result the forecast (see forecastStorage).
 * @param previous the scope's last emitted status, or undefined if nothing was emitted before.
 * @param now processing time, becomes `detected_at`.
 * @returns [] when healthy and nothing was firing; [firing] while the outlook is bad (every run,
 *   same id, severity may change); [resolved] once, when it recovers after firing.
 */
export function storageFindings(
  scope: string,
  result: ForecastResult,
  previous: 'firing' | 'resolved' | undefined,
  now: Date,
  opts: StorageFindingOptions = {},
): Finding[] {
  const severity = storageSeverity(result);
  if (severity === null && previous !== 'firing') return [];
  const entity = { type: 'storage' as const, id: scope };
  const end = Date.parse(result.last_timestamp);
  const start = result.path.length > 0 ? end - 28 * 86_400_000 : end;
  const h = result.horizon_days;
  const dFull = result.days_to_full;
  const score = dFull === null ? 0 : Math.max(0, Math.min(100, 100 * (1 - dFull / 180)));
  const observed = {
    value: dFull ?? h,
    unit: 'days',
    lower: result.days_to_full_lower ?? h,
    upper: result.days_to_full_upper ?? h,
  };
  // A level already reached reads "already at/over … since …", as the CLI and the report say it
  // (not "in 0.0 days").
  const since = (at: string | null | undefined): string =>
    at ? ` since ${at.slice(0, 16).replace('T', ' ')} UTC` : '';
  const pct = `${Math.round(result.warn_ratio * 100)} %`;
  const full = result.full_reached
    ? `is full (at/over capacity${since(result.full_reached_since)})`
    : `fills up in ${days(dFull, h)} (80 % interval ${days(result.days_to_full_lower, h)} – ${days(result.days_to_full_upper, h)})`;
  const warn = result.warn_reached
    ? `already at/over ${pct}${since(result.warn_reached_since)}`
    : `${pct} in ${days(result.days_to_warn, h)}`;
  const message =
    severity === null
      ? `Storage ${scope} recovered: full in ${days(dFull, h)} (80 % interval ${days(result.days_to_full_lower, h)} – ${days(result.days_to_full_upper, h)}).`
      : `Storage ${scope} ${full}; ${warn}, growing ${formatBytesPerDay(Math.max(0, result.growth_bytes_per_day))}.`;
  const f = buildFinding(
    {
      rule: STORAGE_RULE,
      severity: severity ?? 'info',
      score: severity === null ? 0 : score,
      entity,
      windowStart: start,
      windowEnd: end,
      observed,
      expected: { value: result.growth_bytes_per_day, unit: 'bytes_per_day' },
      evidence: {
        extra: {
          days_to_warn: result.days_to_warn,
          days_to_warn_lower: result.days_to_warn_lower,
          days_to_warn_upper: result.days_to_warn_upper,
          level_bytes: result.level_bytes,
          capacity_bytes: result.capacity_bytes,
          warn_ratio: result.warn_ratio,
          last_gc: result.last_gc,
          method: result.method,
        },
      },
      message,
      labels: { scope },
    },
    {
      detectedAt: now.getTime(),
      status: severity === null ? 'resolved' : 'firing',
      ...(opts.kibanaUrl ? { kibanaUrl: opts.kibanaUrl } : {}),
    },
  );
  return [{ ...f, id: findingId(STORAGE_RULE, entity, 0) }];
}
