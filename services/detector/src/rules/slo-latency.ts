import { z } from 'zod';
import { quantileSorted } from 'simple-statistics';
import type { Detection } from '../findings.ts';
import type { DetectionRule } from './types.ts';
import { hourLabel } from './evidence.ts';

const HOUR = 3_600_000;
const params = z.object({
  /** P99 latency objective, ms. */
  p99Ms: z.number().positive().default(500),
  /** Minimum timed requests in the hour to judge it. */
  minSamples: z.number().int().positive().default(50),
});

/** Hourly P99 latency of pulls (manifest GETs) and of authentication above the objective (500 ms). */
export const sloLatency: DetectionRule<z.infer<typeof params>> = {
  id: 'slo.latency_p99',
  description: 'Registry P99 latency per hour for pulls and for authentication (from log durations) above the objective (500 ms).',
  paramsSchema: params,
  closeRegistryHour(h, _view, p) {
    const out: Detection[] = [];
    for (const [kind, xs] of [
      ['pull', h.pullLatencyMs],
      ['auth', h.authLatencyMs],
    ] as const) {
      if (xs.length < p.minSamples) continue;
      const p99 = quantileSorted(xs.slice().sort((a, b) => a - b), 0.99);
      if (p99 <= p.p99Ms) continue;
      const r = p99 / p.p99Ms;
      out.push({
        rule: this.id,
        severity: r >= 4 ? 'high' : 'medium',
        score: Math.min(100, 40 + r * 15),
        entity: { type: 'registry', id: `registry/${kind}` },
        windowStart: h.hour * HOUR,
        windowEnd: (h.hour + 1) * HOUR,
        observed: { value: Math.round(p99), unit: 'ms' },
        expected: { value: p.p99Ms, unit: 'ms', upper: p.p99Ms },
        evidence: { extra: { kind, samples: xs.length } },
        message: `${kind === 'pull' ? 'Pull' : 'Authentication'} latency P99 was ${Math.round(p99)} ms over ${xs.length} requests ${hourLabel(h.hour)}, above the ${p.p99Ms} ms objective.`,
        labels: { kind },
      });
    }
    return out;
  },
};
