import { z } from 'zod';
import { identityEntity } from '../findings.ts';
import { hourOfWeek } from '../time.ts';
import type { Detection } from '../findings.ts';
import type { DetectionRule } from './types.ts';
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
  paramsSchema: params,
  closeHour(items, view, p, now) {
    const out: Detection[] = [];
    for (const { bucket, identity } of items) {
      if (identity.id.startsWith('ip:') || bucket.events < p.minEvents) continue;
      if (now - identity.firstSeen < p.minHistoryDays * 86_400_000 || identity.activeDays < 5) continue;
      const hod = hourOfWeek(bucket.hour * HOUR, identity.zone) % 24;
      let usual = false;
      for (let d = -p.toleranceHours; d <= p.toleranceHours && !usual; d++)
        usual = identity.profile.activeHourOfDay((hod + d + 24) % 24);
      if (usual) continue;
      const ev = bucketEvidence(bucket);
      out.push({
        rule: this.id,
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
      });
    }
    return out;
  },
};
