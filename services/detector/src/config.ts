import { z } from 'zod';
import { rules } from './rules/index.ts';
import type { ActiveRule } from './rules/types.ts';
import type { DetectionSettings } from './state/view.ts';
import { DetectorEngine } from './engine.ts';
import { AppError } from '../../../shared/src/errors.ts';

/** Detection settings (all defaults sane; see DetectionSettings for meanings). */
export const settingsSchema = z.object({
  kibanaUrl: z.string().url().optional().describe('Kibana base URL for Discover links in findings'),
  dataView: z.string().optional().describe('Kibana data view id of the events'),
  defaultZone: z.string().default('UTC').describe('IANA time zone for usual hours / hour-of-week'),
  zoneGroups: z
    .array(z.object({ pattern: z.string(), zone: z.string() }))
    .default([])
    .describe('identity regex → IANA zone, first match wins'),
  ciPattern: z
    .string()
    .default('^(ci[-_.]|robot\\$ci|.*[-_]ci$|gitlab-ci|jenkins|github-actions|buildkite)')
    .describe('regex of CI identities'),
  teams: z
    .array(z.object({ name: z.string(), members: z.string(), namespaces: z.array(z.string()) }))
    .default([])
    .describe('teams: member regex and owned namespaces'),
  allowedLatenessMs: z
    .number()
    .int()
    .nonnegative()
    .default(120_000)
    .describe('event-time lateness before an hour closes, ms'),
  warmupDays: z
    .number()
    .positive()
    .default(7)
    .describe('days of history before an identity is judged on its own baseline'),
});
export type SettingsInput = z.input<typeof settingsSchema>;

/** Per-rule params built from the rule registry (`rules.<id>`), plus `disabled` rule ids. */
export const rulesConfigSchema = z
  .object({
    disabled: z.array(z.string()).default([]),
    params: z
      .object(
        Object.fromEntries([...rules].map(([id, r]) => [id, (r.paramsSchema as unknown as z.ZodObject).prefault({})])),
      )
      .prefault({}),
  })
  .prefault({});

export const detectionConfigSchema = z.object({ settings: settingsSchema.prefault({}), rules: rulesConfigSchema });
export type DetectionConfig = z.infer<typeof detectionConfigSchema>;
export type DetectionConfigInput = z.input<typeof detectionConfigSchema>;

/**
 * Parses a detection config (settings + rule params), listing every problem.
 * @throws AppError CONFIG_INVALID on any schema problem or unknown disabled rule id.
 */
export function parseDetectionConfig(input: unknown): DetectionConfig {
  const parsed = detectionConfigSchema.safeParse(input ?? {});
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  - ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new AppError('CONFIG_INVALID', `invalid detection config (${lines.length} problem(s)):\n${lines.join('\n')}`);
  }
  const unknown = parsed.data.rules.disabled.filter((id) => !rules.has(id));
  if (unknown.length)
    throw new AppError(
      'CONFIG_INVALID',
      `invalid detection config: unknown rule id(s) in rules.disabled: ${unknown.join(', ')}`,
    );
  return parsed.data;
}

/** The enabled rules with their params, in registry order. */
export function activeRules(cfg: DetectionConfig): ActiveRule[] {
  const params = cfg.rules.params as Record<string, unknown>;
  return [...rules.values()]
    .filter((r) => !cfg.rules.disabled.includes(r.id))
    .map((r) => ({ rule: r as ActiveRule['rule'], params: params[r.id] }));
}

/** A fresh engine for a parsed config. @throws RangeError on an invalid IANA zone. */
export function createEngine(cfg: DetectionConfig): DetectorEngine {
  return new DetectorEngine(cfg.settings as DetectionSettings, activeRules(cfg));
}
