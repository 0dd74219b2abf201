import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { parse as parseYaml } from 'yaml';
import { loadConfig } from '../../../shared/src/config.ts';
import { AppError } from '../../../shared/src/errors.ts';
import { durationMs } from './duration.ts';
import { matcherSchema, matcherText, matchOne, type Matcher } from './matchers.ts';
import { timeIntervalSchema, type TimeInterval } from './time-intervals.ts';
import { channelConfigSchema, type ChannelConfig } from './channels/index.ts';

/**
 * The alerts configuration file (YAML or JSON), modelled on Alertmanager's
 * (prometheus.io "Alertmanager configuration": `route`, `receivers`, `inhibit_rules`,
 * `time_intervals`) plus ElastAlert2's realert throttle and a `delivery` policy.
 * Validated with zod at boot; every problem is listed (AppError CONFIG_INVALID).
 */

interface RouteInput {
  receiver?: string;
  group_by?: string[];
  group_wait?: number;
  group_interval?: number;
  repeat_interval?: number;
  matchers?: Matcher[];
  continue?: boolean;
  send_resolved?: boolean;
  mute_time_intervals?: string[];
  active_time_intervals?: string[];
  routes?: RouteInput[];
}

const routeSchema: z.ZodType<RouteInput, unknown> = z.lazy(() =>
  z
    .object({
      receiver: z.string().min(1).optional(),
      group_by: z.array(z.string().min(1)).optional(),
      group_wait: durationMs.optional(),
      group_interval: durationMs.optional(),
      repeat_interval: durationMs.optional(),
      matchers: z.array(matcherSchema).optional(),
      continue: z.boolean().optional(),
      send_resolved: z.boolean().optional(),
      mute_time_intervals: z.array(z.string()).optional(),
      active_time_intervals: z.array(z.string()).optional(),
      routes: z.array(routeSchema).optional(),
    })
    .strict(),
);

const receiverSchema = z
  .object({
    name: z.string().min(1),
    channels: z.array(channelConfigSchema).min(1),
    /** Receiver to use when a channel of this one gives up (C26: fall back to e-mail). */
    fallback: z.string().optional(),
  })
  .strict();

const inhibitRuleSchema = z
  .object({
    source_matchers: z.array(matcherSchema).min(1),
    target_matchers: z.array(matcherSchema).min(1),
    equal: z.array(z.string()).default([]),
  })
  .strict();

export const alertsConfigSchema = z
  .object({
    global: z
      .object({
        /** Base URL of this alerts service, used in "how to silence" hints. */
        alerts_url: z.url().optional(),
      })
      .strict()
      .default({}),
    route: routeSchema,
    receivers: z.array(receiverSchema).min(1),
    inhibit_rules: z.array(inhibitRuleSchema).default([]),
    time_intervals: z.array(timeIntervalSchema).default([]),
    /** ElastAlert2-style realert: after a key notified, hold new alerts of that key back for `realert`, doubling while they keep coming, up to `max_realert`. */
    throttle: z
      .object({
        realert: durationMs.default(0),
        max_realert: durationMs.default(4 * 3_600_000),
        key: z.array(z.string()).default(['rule', 'entity']),
      })
      .strict()
      .default({ realert: 0, max_realert: 4 * 3_600_000, key: ['rule', 'entity'] }),
    delivery: z
      .object({
        max_attempts: z.number().int().min(1).max(50).default(6),
        initial_backoff: durationMs.default(1000),
        max_backoff: durationMs.default(60_000),
        /** Give up on a notification after this long (then fall back). */
        deadline: durationMs.default(10 * 60_000),
        /** A claimed notification not finished within this is taken over by another instance (> deadline). */
        lease: durationMs.default(15 * 60_000),
        /** After a permanent failure, a destination is re-tried no sooner than this. */
        recheck_after: durationMs.default(15 * 60_000),
        /** Receiver told about broken channels (never through the broken channel itself). */
        health_receiver: z.string().optional(),
      })
      .strict()
      .default({
        max_attempts: 6,
        initial_backoff: 1000,
        max_backoff: 60_000,
        deadline: 600_000,
        lease: 900_000,
        recheck_after: 900_000,
      }),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    for (const p of crossReferenceProblems(cfg)) ctx.addIssue({ code: 'custom', path: p.path, message: p.message });
    if (cfg.delivery.lease <= cfg.delivery.deadline)
      ctx.addIssue({ code: 'custom', path: ['delivery', 'lease'], message: 'lease must be longer than deadline' });
  });

/** One reference or uniqueness problem: a zod-style path and a message. */
interface ReferenceProblem {
  readonly path: (string | number)[];
  readonly message: string;
}

/**
 * Reference and uniqueness checks: duplicate receiver and time-interval names, unknown receivers
 * (routes, `fallback`, `delivery.health_receiver`), a receiver falling back to itself, unknown
 * time intervals in `mute_time_intervals`/`active_time_intervals`, and the root route's
 * receiver/matchers. Works on the validated config and on raw, possibly ill-shaped input alike
 * (whatever has the wrong shape is skipped), so a config with shape errors still gets every
 * reference problem listed (zod runs refinements only when the shapes are right).
 */
function crossReferenceProblems(raw: unknown): ReferenceProblem[] {
  const obj = (v: unknown): Record<string, unknown> | undefined =>
    v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
  const out: ReferenceProblem[] = [];
  const root = obj(raw) ?? {};
  /** Names of a list of named objects; duplicates are reported at their second occurrence. */
  const names = (key: string, what: string): Set<string> => {
    const seen = new Set<string>();
    arr(root[key]).forEach((item, i) => {
      const n = obj(item)?.['name'];
      if (typeof n !== 'string') return;
      if (seen.has(n)) out.push({ path: [key, i, 'name'], message: `duplicate ${what} "${n}"` });
      seen.add(n);
    });
    return seen;
  };
  const receivers = names('receivers', 'receiver');
  const intervals = names('time_intervals', 'time interval');
  arr(root['receivers']).forEach((r, i) => {
    const o = obj(r);
    const fallback = o?.['fallback'];
    if (typeof fallback !== 'string') return;
    if (!receivers.has(fallback))
      out.push({ path: ['receivers', i, 'fallback'], message: `unknown receiver "${fallback}"` });
    if (fallback === o?.['name'])
      out.push({ path: ['receivers', i, 'fallback'], message: 'a receiver cannot fall back to itself' });
  });
  const route = obj(root['route']);
  if (route) {
    if (route['receiver'] === undefined)
      out.push({ path: ['route', 'receiver'], message: 'the root route needs a receiver' });
    if (arr(route['matchers']).length > 0)
      out.push({ path: ['route', 'matchers'], message: 'the root route must not have matchers' });
  }
  const walk = (r: Record<string, unknown> | undefined, path: (string | number)[]): void => {
    if (!r) return;
    const receiver = r['receiver'];
    if (typeof receiver === 'string' && !receivers.has(receiver))
      out.push({ path: [...path, 'receiver'], message: `unknown receiver "${receiver}"` });
    for (const key of ['mute_time_intervals', 'active_time_intervals'])
      arr(r[key]).forEach((n, i) => {
        if (typeof n === 'string' && !intervals.has(n))
          out.push({ path: [...path, key, i], message: `unknown time interval "${n}"` });
      });
    arr(r['routes']).forEach((c, i) => walk(obj(c), [...path, 'routes', i]));
  };
  walk(route, ['route']);
  const health = obj(root['delivery'])?.['health_receiver'];
  if (typeof health === 'string' && !receivers.has(health))
    out.push({ path: ['delivery', 'health_receiver'], message: `unknown receiver "${health}"` });
  return out;
}

export type AlertsConfig = z.infer<typeof alertsConfigSchema>;
export type ReceiverConfig = AlertsConfig['receivers'][number];
export type InhibitRule = AlertsConfig['inhibit_rules'][number];
export type { ChannelConfig, TimeInterval, RouteInput };

/** Labels whose value is a finding's rule id (see labels.ts findingLabels). */
const RULE_LABELS: ReadonlySet<string> = new Set(['rule', 'alertname']);

/**
 * Warnings for matchers on the `rule`/`alertname` labels that name no known finding rule id
 * (a typo there never fails, it just silently never matches — or, with `!=`/`!~`, matches
 * everything): `rule=x`/`rule!=x` where `x` is not a known id, `rule=~re`/`rule!~re` where the
 * regex matches no known id. Route matchers (whole tree) and inhibit rules' source/target
 * matchers are checked. Pure; the caller passes the known ids (the detector's rule registry plus
 * rule ids of findings produced outside it, e.g. `storage.exhaustion`).
 * @returns one `path: message` line per suspicious matcher, empty when all are known.
 */
export function unknownRuleMatcherWarnings(cfg: AlertsConfig, knownRuleIds: Iterable<string>): string[] {
  const known = [...new Set(knownRuleIds)];
  const out: string[] = [];
  const check = (ms: readonly Matcher[] | undefined, path: string): void => {
    out.push(...unknownRuleMatchers(ms ?? [], known).map((w) => `${path}.${w.index}: ${w.message}`));
  };
  const walk = (r: RouteInput, path: string): void => {
    check(r.matchers, `${path}.matchers`);
    (r.routes ?? []).forEach((c, i) => walk(c, `${path}.routes.${i}`));
  };
  walk(cfg.route, 'route');
  cfg.inhibit_rules.forEach((r, i) => {
    check(r.source_matchers, `inhibit_rules.${i}.source_matchers`);
    check(r.target_matchers, `inhibit_rules.${i}.target_matchers`);
  });
  return out;
}

/**
 * The matchers of one list that are on `rule`/`alertname` and name no known rule id (`=`/`!=`:
 * the value is not a known id; `=~`/`!~`: the regex matches no known id). Used by
 * `unknownRuleMatcherWarnings` (config check) and `regwatch silence add`.
 * @returns `{ index, message }` per suspicious matcher (index into `ms`), e.g. message
 *   `rule="auth.brutforce_user" names no detector rule id (auth.* ids: auth.bruteforce_ip, …)`.
 */
export function unknownRuleMatchers(
  ms: readonly Matcher[],
  knownRuleIds: Iterable<string>,
): { index: number; message: string }[] {
  const known = [...new Set(knownRuleIds)].sort();
  const knownSet = new Set(known);
  const out: { index: number; message: string }[] = [];
  ms.forEach((m, index) => {
    if (!RULE_LABELS.has(m.name)) return;
    const regex = m.op === '=~' || m.op === '!~';
    const hits = regex ? known.filter((id) => matchOne({ name: 'rule', op: '=~', value: m.value }, { rule: id })) : [];
    if (regex ? hits.length > 0 : knownSet.has(m.value)) return;
    const family = m.value.split('.')[0] ?? '';
    const near = known.filter((id) => id.startsWith(`${family}.`));
    out.push({
      index,
      message: `${matcherText(m)} ${regex ? 'matches' : 'names'} no detector rule id (${near.length ? `${family}.* ids: ${near.join(', ')}` : `known ids: ${known.join(', ')}`})`,
    });
  });
  return out;
}

/** Replaces `${NAME}` in every string of `value` with `env[NAME]` (secrets stay out of files). Unknown names are listed. */
function substituteEnv(
  value: unknown,
  env: Readonly<Record<string, string | undefined>>,
  missing: Set<string>,
): unknown {
  if (typeof value === 'string')
    return value.replace(/\$\{([A-Z_][A-Z0-9_]*)\}/g, (_m, name: string) => {
      const v = env[name];
      if (v === undefined) missing.add(name);
      return v ?? '';
    });
  if (Array.isArray(value)) return value.map((v) => substituteEnv(v, env, missing));
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substituteEnv(v, env, missing)]));
  return value;
}

/**
 * Parses config text (YAML 1.2, so JSON too), substitutes `${VAR}` from `env`, validates.
 * @throws AppError CONFIG_INVALID listing every problem (syntax, unknown variables, schema).
 */
export function parseAlertsConfig(
  text: string,
  env: Readonly<Record<string, string | undefined>> = {},
  source = 'alerts config',
): AlertsConfig {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new AppError('CONFIG_INVALID', `invalid ${source}: not YAML/JSON: ${(err as Error).message}`);
  }
  const missing = new Set<string>();
  const substituted = substituteEnv(raw, env, missing);
  if (missing.size > 0)
    throw new AppError(
      'CONFIG_INVALID',
      `invalid ${source}: environment variable(s) not set: ${[...missing].join(', ')}`,
    );
  try {
    return loadConfig(alertsConfigSchema, substituted, source);
  } catch (err) {
    // zod skips the reference refinement when any shape is wrong; run the same checks on the raw
    // input so one run lists every problem (lines already reported are not repeated).
    if (!(err instanceof AppError) || err.code !== 'CONFIG_INVALID') throw err;
    const lines = err.message.split('\n').slice(1);
    for (const p of crossReferenceProblems(substituted)) {
      const line = `  - ${p.path.join('.')}: ${p.message}`;
      if (!lines.includes(line)) lines.push(line);
    }
    throw new AppError('CONFIG_INVALID', `invalid ${source} (${lines.length} problem(s)):\n${lines.join('\n')}`, {
      context: { issues: lines.length },
    });
  }
}

/**
 * Reads and validates a config file.
 * @throws AppError INPUT_UNREADABLE when the file cannot be read; CONFIG_INVALID as parseAlertsConfig.
 */
export async function loadAlertsConfigFile(
  path: string,
  env: Readonly<Record<string, string | undefined>> = {},
): Promise<AlertsConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new AppError('INPUT_UNREADABLE', `cannot read alerts config ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return parseAlertsConfig(text, env, `alerts config ${path}`);
}

/** The embedded default: everything to the console channel, grouped by rule and entity. */
export const DEFAULT_ALERTS_CONFIG_TEXT = `
route:
  receiver: console
  group_by: [rule, entity]
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 4h
receivers:
  - name: console
    channels:
      - type: console
`;
