import type { Client } from '@elastic/elasticsearch';
import type { Finding } from '../../../../shared/src/model/finding.ts';
import { activeRules, type DetectionConfig } from '../config.ts';
import { DetectorEngine } from '../engine.ts';
import { buildFinding, type Detection } from '../findings.ts';
import { judgeLatency, type SloLatencyParams } from '../rules/slo-latency.ts';
import { judgePullSuccess, type SloSuccessParams } from '../rules/slo-pull-success.ts';
import type { DetectionSettings } from '../state/view.ts';
import { hourlyIdentityAggregates, sloAggregates, storageSeries } from './es-queries.ts';
import { forecastStorage } from '../forecast/model.ts';
import { judgeStorageScope, recordStorageStatuses, warnStale } from '../forecast/stale-findings.ts';
import { storeForecast, type ForecastWriter } from '../forecast/es-writer.ts';
import type { Logger } from '../../../../shared/src/logger.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const toFindings = (ds: readonly Detection[], s: DetectionSettings, now: number): Finding[] =>
  ds.map((d) => buildFinding(d, { kibanaUrl: s.kibanaUrl, dataView: s.dataView, detectedAt: now }));

/**
 * Hourly baseline evaluation over Elasticsearch (stateless over the index, so overlapping or
 * repeated runs never double count — C24): backfills every identity's baselines from
 * `historyDays` of hourly aggregates, then judges the last closed hour with every hourly rule
 * (volume, bytes, distinct repositories, unusual hours, anonymous surge). One composite
 * aggregation (paged) covers all identities and hours.
 * @param now processing time (ms); the judged hour is the last one that ended before it.
 */
export async function runHourlyBaselineJob(
  client: Client,
  o: { index: string; config: DetectionConfig; now: number; historyDays?: number },
): Promise<Finding[]> {
  const settings = o.config.settings as DetectionSettings;
  const engine = new DetectorEngine(settings, activeRules(o.config));
  const judged = Math.floor(o.now / HOUR) - 1;
  const from = (judged - (o.historyDays ?? 28) * 24) * HOUR;
  const out: Detection[] = [];
  for await (const { hour, rows } of hourlyIdentityAggregates(client, {
    index: o.index,
    fromMs: from,
    toMs: (judged + 1) * HOUR,
  })) {
    out.push(...engine.ingestHour(hour, rows, hour === judged));
  }
  return toFindings(out, settings, o.now);
}

/** SLO checks of the last closed hour: one aggregation, judged by the SLO rules' own logic. */
export async function runSloJob(
  client: Client,
  o: { index: string; config: DetectionConfig; now: number },
): Promise<Finding[]> {
  const hour = Math.floor(o.now / HOUR) - 1;
  const s = await sloAggregates(client, { index: o.index, fromMs: hour * HOUR, toMs: (hour + 1) * HOUR });
  const params = o.config.rules.params as Record<string, unknown>;
  const out: Detection[] = [];
  if (!o.config.rules.disabled.includes('slo.pull_success_rate'))
    out.push(
      ...judgePullSuccess(hour, s.requests, s.failures, [], params['slo.pull_success_rate'] as SloSuccessParams),
    );
  if (!o.config.rules.disabled.includes('slo.latency_p99')) {
    const p = params['slo.latency_p99'] as SloLatencyParams;
    if (s.pullP99Ms !== null) out.push(...judgeLatency(hour, 'pull', s.pullP99Ms, s.pullTimed, p));
    if (s.authP99Ms !== null) out.push(...judgeLatency(hour, 'auth', s.authP99Ms, s.authTimed, p));
  }
  return toFindings(out, o.config.settings as DetectionSettings, o.now);
}

/**
 * `storage.exhaustion` (+ `storage.data_stale`): forecasts every storage scope from its samples
 * (forecastStorage), judges how old each scope's newest sample is at `now` and emits the findings
 * of judgeStorageScope (forecast/stale-findings.ts): fresh → storageFindings as before (and one
 * resolved `storage.data_stale` notice if it was firing); stale (older than `staleAfterSeconds`,
 * default max(1 day, 2 × the sampling interval)) → only a `storage.data_stale` finding, a warning
 * on `o.logger` (scope, last sample, age and threshold in seconds), and no capacity finding nor
 * forecast document for that scope. `previous` carries each scope's statuses between runs
 * (firing → resolved notices; keys: the scope, and staleStatusKey(scope)). With `o.forecasts`,
 * every forecast from fresh data is also stored (regwatch-forecasts, Capacity dashboard); a failed
 * store is logged as a warning on `o.logger` and never stops the findings.
 * @param o.now processing time, epoch ms. @param o.historyDays sample window, days (default 90).
 * @throws AppError FORECAST_INPUT_INVALID when `staleAfterSeconds` is not > 0; ES errors of the query.
 */
export async function runStorageJob(
  client: Client,
  o: {
    index: string;
    now: number;
    historyDays?: number;
    previous: Map<string, 'firing' | 'resolved'>;
    forecasts?: ForecastWriter;
    logger?: Logger;
    staleAfterSeconds?: number | undefined;
  },
): Promise<Finding[]> {
  const series = await storageSeries(client, {
    index: o.index,
    fromMs: o.now - (o.historyDays ?? 90) * DAY,
    toMs: o.now,
  });
  const out: Finding[] = [];
  for (const [scope, samples] of series) {
    if (samples.length < 3) continue;
    let result;
    try {
      result = forecastStorage(samples);
    } catch {
      continue; // too short or degenerate for a forecast; the next run retries with more samples
    }
    const d = judgeStorageScope(scope, result, o.previous, new Date(o.now), { staleAfterSeconds: o.staleAfterSeconds });
    if (d.staleness.stale) warnStale(o.logger, scope, d.staleness);
    else if (o.forecasts) await storeForecast(o.forecasts, scope, result, new Date(o.now), o.logger);
    recordStorageStatuses(o.previous, scope, d.findings);
    out.push(...d.findings);
  }
  return out;
}

/**
 * Backfills a fresh engine's baselines from `days` of Elasticsearch history (hourly aggregates of
 * every identity, one paged composite aggregation), without judging: used at first start so a
 * new detector does not begin blind (or flood).
 */
export async function backfillFromElasticsearch(
  client: Client,
  engine: DetectorEngine,
  o: { index: string; now: number; days?: number },
): Promise<void> {
  const to = Math.floor(o.now / HOUR) * HOUR;
  for await (const { hour, rows } of hourlyIdentityAggregates(client, {
    index: o.index,
    fromMs: to - (o.days ?? 28) * DAY,
    toMs: to,
  }))
    engine.ingestHour(hour, rows, false);
}
