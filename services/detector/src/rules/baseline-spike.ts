import { z } from 'zod';
import type { Expectation, Metric } from '../baseline/identity-profile.ts';
import type { Detection } from '../findings.ts';
import { fmt, fmtBytes, identityEntity, scoreFromRatio } from '../findings.ts';
import type { Severity } from '../../../../shared/src/model/finding.ts';
import { hourOfWeek } from '../time.ts';
import { earlyMark, openBucket, setEarlyMark, type HourBucket, type IdentityState } from '../state/types.ts';
import type { EngineView } from '../state/view.ts';
import { NONE, type DetectionRule } from './types.ts';
import { bucketEvidence, hourLabel, topList, who } from './evidence.ts';

const HOUR = 3_600_000;

export const spikeParams = z.object({
  /** Band width in robust scales above the hour-of-week expectation. */
  k: z.number().positive().default(4),
  /** Never fire below this many (count or bytes) per hour. */
  minValue: z.number().nonnegative(),
  /** Observed must also be at least this multiple of the expectation. */
  minRatio: z.number().positive().default(3),
  /** Identities without history: fire above population p99 × this factor. */
  populationFactor: z.number().positive().default(3),
  /** Fire before the hour closes once observed ≥ threshold × this factor. */
  earlyFactor: z.number().positive().default(3),
  /** Population surge (release day): at least this many identities over their threshold … */
  surgeMinIdentities: z.number().int().positive().default(5),
  /** … and at least this fraction of active warm identities. */
  surgeFraction: z.number().min(0).max(1).default(0.2),
  /** During a surge, identities over the median surge ratio × this factor still fire normally. */
  surgeOutlierFactor: z.number().positive().default(4),
});
export type SpikeParams = z.infer<typeof spikeParams>;

interface Threshold {
  threshold: number;
  expected: number;
  upper: number;
  basis: 'own' | 'population';
}

/** Scratch objects of the per-event path (filled and read synchronously, never kept). */
const scratchExpectation: Expectation = { expected: 0, scale: 0, seasonal: false };
const scratchThreshold: Threshold = { threshold: 0, expected: 0, upper: 0, basis: 'own' };

/**
 * The identity's alert threshold for `metric` in the bucket's hour: its own hour-of-week band once
 * warm, else the population p99 × factor. Writes it into `out` (no allocation); false when there
 * is neither (cold identity, empty population).
 */
function computeThreshold(
  metric: Metric,
  bucket: HourBucket,
  st: IdentityState,
  view: EngineView,
  p: SpikeParams,
  now: number,
  out: Threshold,
): boolean {
  const ex = scratchExpectation;
  if (view.isWarm(st, now) && st.profile.expectInto(metric, hourOfWeek(bucket.hour * HOUR, st.zone), ex)) {
    const upper = ex.expected + p.k * ex.scale;
    out.threshold = Math.max(upper, p.minValue, p.minRatio * ex.expected);
    out.expected = ex.expected;
    out.upper = upper;
    out.basis = 'own';
    return true;
  }
  const p99 = view.populationP99(metric === 'pulls' ? 'pulls' : 'bytes');
  if (p99 === undefined) return false;
  const upper = p99 * p.populationFactor;
  out.threshold = Math.max(upper, p.minValue * 2);
  out.expected = p99;
  out.upper = upper;
  out.basis = 'population';
  return true;
}

/** computeThreshold as a new object (kept in detections), undefined when there is none. */
function thresholdOf(
  metric: Metric,
  bucket: HourBucket,
  st: IdentityState,
  view: EngineView,
  p: SpikeParams,
  now: number,
): Threshold | undefined {
  const t: Threshold = { threshold: 0, expected: 0, upper: 0, basis: 'own' };
  return computeThreshold(metric, bucket, st, view, p, now, t) ? t : undefined;
}

function severityOf(r: number): Severity {
  if (r >= 10) return 'critical';
  if (r >= 3) return 'high';
  if (r >= 1.5) return 'medium';
  return 'low';
}

/**
 * Builds a per-identity volume rule (image pulls or blob bytes per hour) judged against the
 * identity's hour-of-week baseline, with the population fallback for identities without history,
 * early firing for blatant spikes, and population-surge damping (a release day is one info
 * finding, not twenty alerts).
 */
export function baselineSpikeRule(opts: {
  id: string;
  metric: Metric;
  unit: string;
  description: string;
  minValue: number;
  verb: (v: number) => string;
}): DetectionRule<SpikeParams> {
  const { id, metric, unit } = opts;
  const value = (b: HourBucket): number => (metric === 'pulls' ? b.pulls : b.bytes);
  const show = (v: number): string => (unit === 'bytes' ? fmtBytes(v) : fmt(Math.round(v)));
  const detection = (
    b: HourBucket,
    st: IdentityState,
    t: Threshold,
    r: number,
    severity: Severity,
    labels: Record<string, string> = {},
  ): Detection => {
    const obs = value(b);
    const ev = bucketEvidence(b);
    const basis =
      t.basis === 'own'
        ? `${(obs / Math.max(t.expected, 1)).toFixed(1)}× its typical ${show(t.expected)} for this hour of the week (alert above ${show(t.threshold)})`
        : `with no history of its own, ${(obs / Math.max(t.expected, 1)).toFixed(1)}× the busiest 1 % of identities (${show(t.expected)}; alert above ${show(t.threshold)})`;
    return {
      rule: id,
      severity,
      score: scoreFromRatio(r),
      entity: identityEntity(st.id),
      windowStart: b.hour * HOUR,
      windowEnd: (b.hour + 1) * HOUR,
      observed: { value: obs, unit },
      expected: { value: Math.round(t.expected * 100) / 100, unit, upper: Math.round(t.threshold * 100) / 100 },
      evidence: { ...ev, extra: { basis: t.basis, ratio: Math.round(r * 100) / 100, late: b.late } },
      message: `${who(st.id, st.kind)} ${opts.verb(obs)} ${hourLabel(b.hour)}, ${basis}${ev.repositories?.length ? `; top repositories ${topList(ev.repositories)}` : ''}.`,
      labels: { basis: t.basis, ...labels },
    };
  };

  return {
    id,
    description: opts.description,
    actions: metric === 'pulls' ? ['manifest-pull'] : ['blob-pull'],
    paramsSchema: spikeParams.extend({
      minValue: z.number().nonnegative().default(opts.minValue),
    }) as unknown as z.ZodType<SpikeParams>,
    observe(ev, st, view, p, now) {
      if (metric === 'pulls' ? !ev.imagePull : ev.action !== 'blob-pull' || ev.bytes === 0) return NONE;
      const b = openBucket(st, Math.floor(ev.ts / HOUR));
      if (!b || b.late) return NONE;
      // The mark is this bucket's early threshold, or Infinity once the early finding fired. With
      // no threshold yet (cold identity, empty population) nothing is cached: Infinity would read
      // as "fired early" at hour close and report a bucket far below its threshold.
      let thr = earlyMark(b, id);
      if (thr === undefined) {
        const t = scratchThreshold;
        if (!computeThreshold(metric, b, st, view, p, now, t)) return NONE;
        thr = t.threshold * p.earlyFactor;
        setEarlyMark(b, id, thr);
      }
      if (value(b) < thr) return NONE;
      setEarlyMark(b, id, Infinity);
      const t = thresholdOf(metric, b, st, view, p, now);
      if (!t) return NONE;
      const r = value(b) / t.threshold;
      return [detection(b, st, t, r, severityOf(r), { phase: 'early' })];
    },
    closeHour(items, view, p, now) {
      const hits: { b: HourBucket; st: IdentityState; t: Threshold; r: number }[] = [];
      let activeWarm = 0;
      // Indexed: a for…of here runs cold (once per hour) and allocates an iterator result per bucket.
      for (let i = 0; i < items.length; i++) {
        const { bucket, identity } = items[i]!;
        if (
          metric === 'pulls' &&
          identity.kind === 'anonymous' &&
          value(bucket) < p.minValue &&
          identity.id.startsWith('ip:')
        )
          continue;
        const warm = view.isWarm(identity, now);
        if (warm && value(bucket) > 0) activeWarm++;
        if (value(bucket) === 0) continue;
        const t = thresholdOf(metric, bucket, identity, view, p, now);
        if (!t) continue;
        const r = value(bucket) / t.threshold;
        if (r >= 1 || earlyMark(bucket, id) === Infinity) hits.push({ b: bucket, st: identity, t, r });
      }
      if (!hits.length) return NONE;
      const warmHits = hits.filter((h) => h.t.basis === 'own');
      const surge = warmHits.length >= p.surgeMinIdentities && warmHits.length >= p.surgeFraction * activeWarm;
      const out: Detection[] = [];
      let medianR = 0;
      if (surge) {
        const rs = warmHits.map((h) => h.r).sort((a, b) => a - b);
        medianR = rs[rs.length >> 1]!;
        const hour = hits[0]!.b.hour;
        const total = hits.reduce((s, h) => s + value(h.b), 0);
        out.push({
          rule: `pull.population_surge_${metric}`,
          severity: 'info',
          score: 20,
          entity: { type: 'registry', id: 'registry' },
          windowStart: hour * HOUR,
          windowEnd: (hour + 1) * HOUR,
          observed: { value: warmHits.length, unit: 'identities' },
          expected: { value: Math.round(p.surgeFraction * activeWarm * 100) / 100, unit: 'identities' },
          evidence: {
            extra: { metric, total, active_identities: activeWarm, median_ratio: Math.round(medianR * 100) / 100 },
          },
          message: `${warmHits.length} of ${activeWarm} active identities exceeded their usual ${metric} at once ${hourLabel(hour)} (median ${medianR.toFixed(1)}× their threshold), treated as a population-wide surge such as a release.`,
          labels: { metric },
        });
      }
      for (const h of hits) {
        const damped = surge && h.t.basis === 'own' && h.r < medianR * p.surgeOutlierFactor;
        const sev = damped ? 'low' : h.r >= 1 ? severityOf(h.r) : 'low';
        out.push(detection(h.b, h.st, h.t, h.r, sev, damped ? { population_surge: 'true' } : {}));
      }
      return out;
    },
  };
}
