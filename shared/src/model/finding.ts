import { z } from 'zod';

/**
 * Findings contract (detector → alerts, dashboards, CLI). Source: ../shared/design/ARCHITECTURE.md
 * "Findings contract". `id` is a stable hash of rule + entity + window start, so re-runs and
 * replays produce the same id; a resolved notice carries the same id with `status: resolved`.
 */
export const SEVERITIES = ['info', 'low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];
export const severityRank = (s: Severity): number => SEVERITIES.indexOf(s);

export const ENTITY_TYPES = ['user', 'ip', 'repository', 'namespace', 'registry', 'storage'] as const;

const measure = z.object({
  value: z.number(),
  /** Unit of `value`: `count`, `bytes`, `days`, `ratio`, `ms`, `repositories`, … */
  unit: z.string(),
  lower: z.number().optional(),
  upper: z.number().optional(),
});

export const findingSchema = z.object({
  id: z.string().min(1),
  rule: z.string().regex(/^[a-z0-9_]+(\.[a-z0-9_]+)+$/, 'dotted rule id such as pull.volume_spike'),
  severity: z.enum(SEVERITIES),
  score: z.number().min(0).max(100),
  status: z.enum(['firing', 'resolved']),
  entity: z.object({ type: z.enum(ENTITY_TYPES), id: z.string().min(1) }),
  window: z.object({ start: z.iso.datetime({ offset: true }), end: z.iso.datetime({ offset: true }) }),
  observed: measure,
  expected: measure,
  evidence: z.object({
    repositories: z.array(z.object({ name: z.string(), count: z.number() })).default([]),
    source_ips: z.array(z.object({ ip: z.string(), count: z.number() })).default([]),
    user_agents: z.array(z.object({ name: z.string(), count: z.number() })).default([]),
    sample_event_ids: z.array(z.string()).default([]),
    extra: z.record(z.string(), z.unknown()).optional(),
  }),
  message: z.string().min(1),
  links: z.object({ discover: z.string().optional() }).default({}),
  labels: z.record(z.string(), z.string()).default({}),
  /** When the detector emitted it (processing time, ISO 8601). */
  detected_at: z.iso.datetime({ offset: true }),
});

export type Finding = z.infer<typeof findingSchema>;
