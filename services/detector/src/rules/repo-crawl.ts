import { z } from 'zod';
import { identityEntity, scoreFromRatio } from '../findings.ts';
import type { Severity } from '../../../../shared/src/model/finding.ts';
import { earlyMark, openBucket, setEarlyMark, type HourBucket, type IdentityState } from '../state/types.ts';
import type { EngineView } from '../state/view.ts';
import type { Detection } from '../findings.ts';
import { NONE, type DetectionRule } from './types.ts';
import { bucketEvidence, hourLabel, topList, who } from './evidence.ts';

const HOUR = 3_600_000;
const params = z.object({
  /** Never fire below this many distinct repositories in an hour. */
  minRepositories: z.number().int().positive().default(25),
  /** Fire above the identity's largest hourly distinct count so far × this factor. */
  ownFactor: z.number().positive().default(3),
  /**
   * Identities without history: fire above population p99 × this factor (with fewer than 20 closed
   * identity-hours to take a p99 from, at `minRepositories`).
   */
  populationFactor: z.number().positive().default(3),
});
type P = z.infer<typeof params>;

function threshold(
  st: IdentityState,
  view: EngineView,
  p: P,
  now: number,
): { t: number; typical: number; basis: string } {
  if (view.isWarm(st, now) && st.reposMax > 0)
    return { t: Math.max(p.minRepositories, st.reposMax * p.ownFactor), typical: st.reposLevel, basis: 'own' };
  const p99 = view.populationP99('repos');
  // No population yet (fewer than 20 closed identity-hours: a fresh install): the floor alone.
  // (It used to be the floor × populationFactor, so a new install needed 75 repositories an hour.)
  if (p99 === undefined) return { t: p.minRepositories, typical: p.minRepositories, basis: 'minimum' };
  return { t: Math.max(p.minRepositories, p99 * p.populationFactor), typical: p99, basis: 'population' };
}

function detect(
  b: HourBucket,
  st: IdentityState,
  t: { t: number; typical: number; basis: string },
  phase: string,
): Detection {
  const r = b.repos / t.t;
  const severity: Severity = r >= 4 ? 'critical' : r >= 2 ? 'high' : 'medium';
  const ev = bucketEvidence(b);
  return {
    rule: 'repo.crawl',
    severity,
    score: scoreFromRatio(r),
    entity: identityEntity(st.id),
    windowStart: b.hour * HOUR,
    windowEnd: (b.hour + 1) * HOUR,
    observed: { value: b.repos, unit: 'repositories' },
    expected: { value: Math.round(t.typical * 10) / 10, unit: 'repositories', upper: Math.round(t.t) },
    evidence: { ...ev, extra: { basis: t.basis, largest_hour_before: st.reposMax } },
    message: `${who(st.id, st.kind)} pulled from ${b.repos.toLocaleString('en-US')} distinct repositories ${hourLabel(b.hour)}, ${
      t.basis === 'own'
        ? `typical ${t.typical.toFixed(1)} and at most ${st.reposMax} per hour before`
        : t.basis === 'population'
          ? `population p99 ${t.typical.toFixed(1)} per identity-hour`
          : 'no history yet'
    } (alert at ${Math.ceil(t.t)} or more); first repositories ${topList(ev.repositories ?? [])}.`,
    labels: { basis: t.basis, phase },
  };
}

/** Distinct repositories pulled per identity per hour far above its own maximum (crawling). */
export const repoCrawl: DetectionRule<P> = {
  id: 'repo.crawl',
  description:
    'Distinct repositories pulled by one identity in an hour far above its own largest hour (or the population’s p99 without history; the minimum while there is no population yet).',
  actions: ['manifest-pull', 'blob-pull'],
  paramsSchema: params,
  observe(ev, st, view, p, now) {
    if (ev.action !== 'manifest-pull' && ev.action !== 'blob-pull') return NONE;
    const b = openBucket(st, Math.floor(ev.ts / HOUR));
    if (!b || b.repos < p.minRepositories) return NONE;
    if (earlyMark(b, this.id) === Infinity) return NONE;
    const t = threshold(st, view, p, now);
    if (b.repos < t.t) return NONE;
    setEarlyMark(b, this.id, Infinity);
    return [detect(b, st, t, 'early')];
  },
  closeHour(items, view, p, now) {
    const out: Detection[] = [];
    // Indexed: a for…of here runs cold (once per hour) and allocates an iterator result per bucket.
    for (let i = 0; i < items.length; i++) {
      const { bucket, identity } = items[i]!;
      if (bucket.repos < p.minRepositories) continue;
      const t = threshold(identity, view, p, now);
      if (bucket.repos >= t.t) out.push(detect(bucket, identity, t, 'final'));
    }
    return out;
  },
};
