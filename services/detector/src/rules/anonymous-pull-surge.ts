import { z } from 'zod';
import { IdentityProfile, type ProfileSnapshot } from '../baseline/identity-profile.ts';
import { scoreFromRatio } from '../findings.ts';
import { hourOfWeek } from '../time.ts';
import type { Detection } from '../findings.ts';
import { NONE, type DetectionRule } from './types.ts';
import { hourLabel, topList } from './evidence.ts';
import { repoEntries } from '../state/repo-counts.ts';

const HOUR = 3_600_000;
const params = z.object({
  /** Never fire below this many anonymous image pulls per hour. */
  minPulls: z.number().int().positive().default(300),
  /** Band width in robust scales above the hour-of-week expectation. */
  k: z.number().positive().default(4),
  /** Observed must also be at least this multiple of the expectation. */
  minRatio: z.number().positive().default(3),
});

/**
 * Anonymous image pulls registry-wide per hour (all anonymous clients together) against their own
 * hour-of-week baseline: a public mirror being scraped, a leaked pull-through endpoint.
 */
export const anonymousPullSurge: DetectionRule<z.infer<typeof params>> = {
  id: 'pull.anonymous_surge',
  description: 'Anonymous image pulls registry-wide per hour far above their hour-of-week baseline.',
  paramsSchema: params,
  closeHour(items, view, p, now) {
    if (items.length && items[0]!.bucket.late) return NONE;
    let pulls = 0;
    const hour = items[0]?.bucket.hour;
    if (hour === undefined) return NONE;
    const ips: { ip: string; count: number }[] = [];
    const repos = new Map<string, number>();
    const samples: string[] = [];
    // Indexed: a for…of here runs cold (once per hour) and allocates an iterator result per bucket.
    for (let i = 0; i < items.length; i++) {
      const { bucket, identity } = items[i]!;
      if (identity.kind !== 'anonymous' || bucket.pulls === 0) continue;
      pulls += bucket.pulls;
      ips.push({ ip: identity.id.slice(3), count: bucket.pulls });
      for (const [k, n] of repoEntries(bucket)) repos.set(k, (repos.get(k) ?? 0) + n);
      if (samples.length < 5) samples.push(...bucket.samples.slice(0, 5 - samples.length));
    }
    const state = view.keyed<{ profile: ProfileSnapshot | null; firstHour: number }>(
      this.id,
      'registry',
      () => ({ profile: null, firstHour: hour }),
      400 * 86_400_000,
    );
    const profile = new IdentityProfile(state.profile ?? undefined);
    const zone = view.settings.defaultZone;
    const ex = profile.expect('pulls', hourOfWeek(hour * HOUR, zone));
    const out: Detection[] = [];
    const warm = hour - state.firstHour >= view.settings.warmupDays * 24;
    if (ex && warm && pulls >= p.minPulls) {
      const upper = ex.expected + p.k * ex.scale;
      const t = Math.max(upper, p.minPulls, p.minRatio * ex.expected);
      if (pulls >= t) {
        const r = pulls / t;
        ips.sort((a, b) => b.count - a.count);
        const topRepos = [...repos]
          .sort((a, b) => b[1] - a[1])
          .slice(0, 5)
          .map(([name, count]) => ({ name, count }));
        out.push({
          rule: this.id,
          severity: r >= 3 ? 'high' : 'medium',
          score: scoreFromRatio(r),
          entity: { type: 'registry', id: 'anonymous' },
          windowStart: hour * HOUR,
          windowEnd: (hour + 1) * HOUR,
          observed: { value: pulls, unit: 'count' },
          expected: { value: Math.round(ex.expected * 10) / 10, unit: 'count', upper: Math.round(t) },
          evidence: {
            source_ips: ips.slice(0, 5),
            repositories: topRepos,
            sample_event_ids: samples,
            extra: { anonymous_clients: ips.length },
          },
          message: `${pulls.toLocaleString('en-US')} anonymous image pulls from ${ips.length} client(s) ${hourLabel(hour)}, ${(pulls / Math.max(1, ex.expected)).toFixed(1)}× the typical ${Math.round(ex.expected)} for this hour of the week (alert above ${Math.round(t)}); top clients ${topList(ips.slice(0, 3))}.`,
          kql: 'oci_registry.actor.anonymous:true and oci_registry.image_pull:true',
        });
      }
    }
    void now;
    profile.closeHour(hour, [pulls, 0], zone, pulls > 0);
    state.profile = profile.snapshot();
    return out;
  },
};
