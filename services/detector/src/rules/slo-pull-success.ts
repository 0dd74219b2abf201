import { z } from 'zod';
import type { DetectionRule } from './types.ts';
import type { Detection } from '../findings.ts';
import { hourLabel } from './evidence.ts';

const HOUR = 3_600_000;
const params = z.object({
  /** Success-rate objective (ratio). */
  objective: z.number().min(0).max(1).default(0.999),
  /** Minimum manifest GETs in the hour to judge it. */
  minRequests: z.number().int().positive().default(100),
});

export type SloSuccessParams = z.infer<typeof params>;

/**
 * Judges one hour's pull success (shared by the streaming rule and the scheduled ES job).
 * @returns a Detection when `requests ≥ minRequests` and the success ratio is below the objective.
 */
export function judgePullSuccess(
  hour: number,
  requests: number,
  failures: number,
  samples: readonly string[],
  p: SloSuccessParams,
): Detection[] {
  if (requests < p.minRequests) return [];
  const rate = 1 - failures / requests;
  if (rate >= p.objective) return [];
  const budget = 1 - p.objective;
  const burn = failures / requests / budget;
  return [
    {
      rule: 'slo.pull_success_rate',
      severity: burn >= 10 ? 'high' : burn >= 2 ? 'medium' : 'low',
      score: Math.min(100, 40 + burn * 5),
      entity: { type: 'registry', id: 'registry' },
      windowStart: hour * HOUR,
      windowEnd: (hour + 1) * HOUR,
      observed: { value: Math.round(rate * 1e5) / 1e5, unit: 'ratio' },
      expected: { value: p.objective, unit: 'ratio', lower: p.objective },
      evidence: {
        sample_event_ids: [...samples],
        extra: { requests, failures, error_budget_burn: Math.round(burn * 10) / 10 },
      },
      message: `Pull success rate was ${(rate * 100).toFixed(2)} % (${failures} of ${requests} manifest GETs failed) ${hourLabel(hour)}, below the ${(p.objective * 100).toFixed(1)} % objective (${burn.toFixed(1)}× the error budget).`,
      kql: 'event.action:"manifest-pull" and http.response.status_code >= 500',
    },
  ];
}

/** Hourly pull success rate (manifest GETs from logs; failures = 5xx and 429) below the SLO. */
export const sloPullSuccess: DetectionRule<SloSuccessParams> = {
  id: 'slo.pull_success_rate',
  description:
    'Registry pull success rate per hour (manifest GETs from logs, 5xx/429 = failure) below the objective (99.9 %).',
  paramsSchema: params,
  closeRegistryHour(h, _view, p) {
    return judgePullSuccess(h.hour, h.pullRequests, h.pullFailures, h.failureSamples, p);
  },
};
