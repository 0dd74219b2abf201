import { z } from 'zod';
import { NONE, type DetectionRule } from './types.ts';
import { hourLabel } from './evidence.ts';

const HOUR = 3_600_000;
const params = z.object({
  /** Success-rate objective (ratio). */
  objective: z.number().min(0).max(1).default(0.999),
  /** Minimum manifest GETs in the hour to judge it. */
  minRequests: z.number().int().positive().default(100),
});

/** Hourly pull success rate (manifest GETs from logs; failures = 5xx and 429) below the SLO. */
export const sloPullSuccess: DetectionRule<z.infer<typeof params>> = {
  id: 'slo.pull_success_rate',
  description: 'Registry pull success rate per hour (manifest GETs from logs, 5xx/429 = failure) below the objective (99.9 %).',
  paramsSchema: params,
  closeRegistryHour(h, _view, p) {
    if (h.pullRequests < p.minRequests) return NONE;
    const rate = 1 - h.pullFailures / h.pullRequests;
    if (rate >= p.objective) return NONE;
    const budget = 1 - p.objective;
    const burn = h.pullFailures / h.pullRequests / budget;
    return [
      {
        rule: this.id,
        severity: burn >= 10 ? 'high' : burn >= 2 ? 'medium' : 'low',
        score: Math.min(100, 40 + burn * 5),
        entity: { type: 'registry', id: 'registry' },
        windowStart: h.hour * HOUR,
        windowEnd: (h.hour + 1) * HOUR,
        observed: { value: Math.round(rate * 1e5) / 1e5, unit: 'ratio' },
        expected: { value: p.objective, unit: 'ratio', lower: p.objective },
        evidence: { sample_event_ids: h.failureSamples, extra: { requests: h.pullRequests, failures: h.pullFailures, error_budget_burn: Math.round(burn * 10) / 10 } },
        message: `Pull success rate was ${(rate * 100).toFixed(2)} % (${h.pullFailures} of ${h.pullRequests} manifest GETs failed) ${hourLabel(h.hour)}, below the ${(p.objective * 100).toFixed(1)} % objective (${burn.toFixed(1)}× the error budget).`,
        kql: 'event.action:"manifest-pull" and http.response.status_code >= 500',
      },
    ];
  },
};
