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

export type SloLatencyParams = z.infer<typeof params>;

/** Judges one hour's P99 latency (ms) of `kind` requests (shared by the rule and the ES job). */
export function judgeLatency(
  hour: number,
  kind: 'pull' | 'auth',
  p99: number,
  samples: number,
  p: SloLatencyParams,
): Detection[] {
  if (samples < p.minSamples || p99 <= p.p99Ms) return [];
  const r = p99 / p.p99Ms;
  return [
    {
      rule: 'slo.latency_p99',
      severity: r >= 4 ? 'high' : 'medium',
      score: Math.min(100, 40 + r * 15),
      entity: { type: 'registry', id: `registry/${kind}` },
      windowStart: hour * HOUR,
      windowEnd: (hour + 1) * HOUR,
      observed: { value: Math.round(p99), unit: 'ms' },
      expected: { value: p.p99Ms, unit: 'ms', upper: p.p99Ms },
      evidence: { extra: { kind, samples } },
      message: `${kind === 'pull' ? 'Pull' : 'Authentication'} latency P99 was ${Math.round(p99)} ms over ${samples} requests ${hourLabel(hour)}, above the ${p.p99Ms} ms objective.`,
      labels: { kind },
    },
  ];
}

/** Hourly P99 latency of pulls (manifest GETs) and of authentication above the objective (500 ms). */
export const sloLatency: DetectionRule<SloLatencyParams> = {
  id: 'slo.latency_p99',
  description:
    'Registry P99 latency per hour for pulls and for authentication (from log durations) above the objective (500 ms).',
  paramsSchema: params,
  closeRegistryHour(h, _view, p) {
    const out: Detection[] = [];
    for (const [kind, xs] of [
      ['pull', h.pullLatencyMs],
      ['auth', h.authLatencyMs],
    ] as const) {
      if (xs.length < p.minSamples) continue;
      out.push(
        ...judgeLatency(
          h.hour,
          kind,
          quantileSorted(
            xs.slice().sort((a, b) => a - b),
            0.99,
          ),
          xs.length,
          p,
        ),
      );
    }
    return out;
  },
};
