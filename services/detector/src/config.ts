import { z } from 'zod';
import { parse as parseYaml, YAMLError } from 'yaml';
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

/** Rule ids of the registry, for messages and suggestions. */
const RULE_IDS: readonly string[] = [...rules.keys()];

/**
 * Per-rule params built from the rule registry (`rules.params.<id>`), plus `disabled` rule ids.
 * Every level is strict: an unknown rule id, a misspelled param name or an unknown key is an
 * error (each rule's params schema is made strict here, so rule files stay as they are).
 */
export const rulesConfigSchema = z
  .strictObject({
    disabled: z
      .array(
        z.string().refine((id) => rules.has(id), {
          error: (iss) => `unknown rule id "${String(iss.input)}"${didYouMean(String(iss.input), RULE_IDS)}`,
        }),
      )
      .default([]),
    params: z
      .strictObject(
        Object.fromEntries(
          [...rules].map(([id, r]) => [id, (r.paramsSchema as unknown as z.ZodObject).strict().prefault({})]),
        ),
      )
      .prefault({}),
  })
  .prefault({});

export const detectionConfigSchema = z.strictObject({
  settings: settingsSchema.strict().prefault({}),
  rules: rulesConfigSchema,
});
export type DetectionConfig = z.infer<typeof detectionConfigSchema>;
export type DetectionConfigInput = z.input<typeof detectionConfigSchema>;

/** Levenshtein edit distance (insert, delete, substitute = 1 each). */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const sub = (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      cur.push(Math.min(sub, (prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1));
    }
    prev = cur;
  }
  return prev[b.length] ?? 0;
}

/**
 * ` (did you mean "x"?)` for the closest candidate within a third of the word's length (at least
 * 2 edits, case ignored), else ``.
 */
export function didYouMean(word: string, candidates: readonly string[]): string {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      best = c;
      bestD = d;
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(word.length / 3)) ? ` (did you mean "${best}"?)` : '';
}

/** The keys a config object at `path` may have (for "did you mean" on unknown keys). */
function knownKeysAt(path: readonly PropertyKey[]): readonly string[] {
  const p = path.map(String);
  if (p.length === 0) return Object.keys(detectionConfigSchema.shape);
  if (p.length === 1 && p[0] === 'settings') return Object.keys(settingsSchema.shape);
  if (p.length === 1 && p[0] === 'rules') return ['disabled', 'params'];
  if (p.length === 2 && p[0] === 'rules' && p[1] === 'params') return RULE_IDS;
  if (p.length === 3 && p[0] === 'rules' && p[1] === 'params') {
    const schema = rules.get(p[2] ?? '')?.paramsSchema as unknown as z.ZodObject | undefined;
    return schema ? Object.keys(schema.shape) : [];
  }
  return [];
}

/** One line per problem: `path: message`, unknown keys each on their own line with a suggestion. */
function describeIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  const lines: string[] = [];
  for (const i of issues) {
    const where = i.path.map(String).join('.') || '(root)';
    if (i.code === 'unrecognized_keys') {
      const known = knownKeysAt(i.path);
      const what = i.path.length === 2 && i.path[1] === 'params' ? 'unknown rule id' : 'unknown key';
      for (const k of i.keys) {
        const hint = didYouMean(k, known);
        lines.push(
          `  - ${where === '(root)' ? k : `${where}.${k}`}: ${what} "${k}"${hint || (known.length ? ` (known: ${known.join(', ')})` : '')}`,
        );
      }
    } else lines.push(`  - ${where}: ${i.message}`);
  }
  return lines;
}

/**
 * Parses a detection config (settings + rule params) and lists every problem at once: unknown
 * keys at any level (top level, `settings`, `rules`, rule ids under `rules.params`, param names),
 * unknown ids in `rules.disabled`, and values out of range — with "did you mean" for near misses.
 * @throws AppError CONFIG_INVALID whose message lists each problem on its own line.
 */
export function parseDetectionConfig(input: unknown): DetectionConfig {
  const parsed = detectionConfigSchema.safeParse(input ?? {});
  if (!parsed.success) {
    const lines = describeIssues(parsed.error.issues);
    throw new AppError('CONFIG_INVALID', `invalid detection config (${lines.length} problem(s)):\n${lines.join('\n')}`);
  }
  return parsed.data;
}

/**
 * Parses the text of a detection config file (YAML 1.2, so JSON too) and validates it.
 * `source` names the file in messages. An empty file is the default config.
 * @throws AppError CONFIG_INVALID for a syntax error (`source:line:column: message`, 1-based) or
 *   any validation problem (see parseDetectionConfig).
 */
export function parseDetectionConfigText(text: string, source: string): DetectionConfig {
  return parseDetectionConfig(parseDetectionConfigYaml(text, source));
}

/**
 * YAML/JSON text → plain value, without validation (callers that merge CLI flags in first).
 * @throws AppError CONFIG_INVALID for a syntax error, with `source:line:column`.
 */
export function parseDetectionConfigYaml(text: string, source: string): unknown {
  try {
    return parseYaml(text) ?? {};
  } catch (err) {
    if (err instanceof YAMLError) {
      const pos = err.linePos?.[0];
      const at = pos ? `:${pos.line}:${pos.col}` : '';
      const first = (err.message.split('\n')[0] ?? err.message).replace(/ at line \d+, column \d+:?$/, '');
      throw new AppError('CONFIG_INVALID', `invalid detection config ${source}${at}: YAML syntax error: ${first}`, {
        cause: err,
        context: { file: source, ...(pos ? { line: pos.line, column: pos.col } : {}) },
      });
    }
    throw err;
  }
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
