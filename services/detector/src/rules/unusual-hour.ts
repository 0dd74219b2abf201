import { z } from 'zod';
import { EVENT_ACTIONS } from '../../../../shared/src/model/registry-event.ts';
import { identityEntity } from '../findings.ts';
import { hourOfWeek } from '../time.ts';
import type { Detection } from '../findings.ts';
import { NONE, type DetectionRule } from './types.ts';
import { openBucket, setEarlyMark, type HourBucket, type IdentityState } from '../state/types.ts';
import { bucketEvidence, who } from './evidence.ts';

const HOUR = 3_600_000;
const params = z.object({
  /** Minimum events in the hour to judge it. */
  minEvents: z.number().int().positive().default(5),
  /** Days of history required (longer than the general warm-up: "usual" needs weeks). */
  minHistoryDays: z.number().positive().default(14),
  /** Neighbouring local hours also accepted as usual (± this many). */
  toleranceHours: z.number().int().nonnegative().default(1),
});

/**
 * Activity in a local hour-of-day (identity's zone, DST-correct) in which the identity was never
 * active over weeks of history, within ± toleranceHours. Anonymous clients are not judged.
 */
export const unusualHour: DetectionRule<z.infer<typeof params>> = {
  id: 'activity.unusual_hour',
  description:
    'Activity by an identity at a local hour (its group’s time zone, DST-correct) in which it has never been active.',
  // Pings and 401 challenges are not activity.
  actions: EVENT_ACTIONS.filter((a) => a !== 'ping' && a !== 'auth-challenge'),
  paramsSchema: params,
  observe(ev, st, view, p, now) {
    // Fire as soon as the hour reaches minEvents (seconds of latency), then update at the close.
    if (ev.action === 'ping' || ev.action === 'auth-challenge') return NONE;
    const b = openBucket(st, Math.floor(ev.ts / HOUR));
    if (!b || b.events !== p.minEvents || st.id.startsWith('ip:')) return NONE;
    const d = judge(b, st, p, now);
    if (!d) return NONE;
    setEarlyMark(b, this.id, Infinity);
    return [{ ...d, labels: { ...d.labels, phase: 'early' } }];
  },
  closeHour(items, _view, p, now) {
    const out: Detection[] = [];
    // Indexed: a for…of here runs cold (once per hour) and allocates an iterator result per bucket.
    for (let i = 0; i < items.length; i++) {
      const { bucket, identity } = items[i]!;
      const d = judge(bucket, identity, p, now);
      if (d) out.push(d);
    }
    return out;
  },
};

function judge(
  bucket: HourBucket,
  identity: IdentityState,
  p: z.infer<typeof params>,
  now: number,
): Detection | undefined {
  if (identity.id.startsWith('ip:') || bucket.events < p.minEvents) return undefined;
  if (now - identity.firstSeen < p.minHistoryDays * 86_400_000 || identity.activeDays < 5) return undefined;
  const hod = hourOfWeek(bucket.hour * HOUR, identity.zone) % 24;
  for (let d = -p.toleranceHours; d <= p.toleranceHours; d++)
    if (identity.profile.activeHourOfDay((hod + d + 24) % 24)) return undefined;
  const ev = bucketEvidence(bucket);
  return {
    rule: 'activity.unusual_hour',
    severity: bucket.events >= 4 * p.minEvents ? 'high' : 'medium',
    score: Math.min(90, 50 + bucket.events),
    entity: identityEntity(identity.id),
    windowStart: bucket.hour * HOUR,
    windowEnd: (bucket.hour + 1) * HOUR,
    observed: { value: bucket.events, unit: 'events' },
    expected: { value: 0, unit: 'events', upper: 0 },
    evidence: { ...ev, extra: { local_hour: hod, time_zone: identity.zone } },
    message: `${who(identity.id, identity.kind)} made ${bucket.events} requests at ${String(hod).padStart(2, '0')}:00 local time (${identity.zone}), an hour in which it had 0 activity in ${Math.round((now - identity.firstSeen) / 86_400_000)} days of history.`,
    labels: { time_zone: identity.zone },
  };
}
