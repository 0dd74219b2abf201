import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { parse as parseYaml } from 'yaml';
import { loadConfig } from '../../../shared/src/config.ts';
import { AppError } from '../../../shared/src/errors.ts';
import { durationMs } from './duration.ts';
import { matcherSchema, type Matcher } from './matchers.ts';
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
    const receivers = new Set<string>();
    cfg.receivers.forEach((r, i) => {
      if (receivers.has(r.name))
        ctx.addIssue({ code: 'custom', path: ['receivers', i, 'name'], message: `duplicate receiver "${r.name}"` });
      receivers.add(r.name);
    });
    cfg.receivers.forEach((r, i) => {
      if (r.fallback !== undefined && !receivers.has(r.fallback))
        ctx.addIssue({
          code: 'custom',
          path: ['receivers', i, 'fallback'],
          message: `unknown receiver "${r.fallback}"`,
        });
      if (r.fallback === r.name)
        ctx.addIssue({
          code: 'custom',
          path: ['receivers', i, 'fallback'],
          message: 'a receiver cannot fall back to itself',
        });
    });
    const intervals = new Set(cfg.time_intervals.map((t) => t.name));
    if (!cfg.route.receiver)
      ctx.addIssue({ code: 'custom', path: ['route', 'receiver'], message: 'the root route needs a receiver' });
    if (cfg.route.matchers?.length)
      ctx.addIssue({ code: 'custom', path: ['route', 'matchers'], message: 'the root route must not have matchers' });
    const walk = (r: RouteInput, path: (string | number)[]): void => {
      if (r.receiver !== undefined && !receivers.has(r.receiver))
        ctx.addIssue({ code: 'custom', path: [...path, 'receiver'], message: `unknown receiver "${r.receiver}"` });
      for (const key of ['mute_time_intervals', 'active_time_intervals'] as const)
        (r[key] ?? []).forEach((n, i) => {
          if (!intervals.has(n))
            ctx.addIssue({ code: 'custom', path: [...path, key, i], message: `unknown time interval "${n}"` });
        });
      (r.routes ?? []).forEach((c, i) => walk(c, [...path, 'routes', i]));
    };
    walk(cfg.route, ['route']);
    if (cfg.delivery.health_receiver !== undefined && !receivers.has(cfg.delivery.health_receiver))
      ctx.addIssue({
        code: 'custom',
        path: ['delivery', 'health_receiver'],
        message: `unknown receiver "${cfg.delivery.health_receiver}"`,
      });
    if (cfg.delivery.lease <= cfg.delivery.deadline)
      ctx.addIssue({ code: 'custom', path: ['delivery', 'lease'], message: 'lease must be longer than deadline' });
  });

export type AlertsConfig = z.infer<typeof alertsConfigSchema>;
export type ReceiverConfig = AlertsConfig['receivers'][number];
export type InhibitRule = AlertsConfig['inhibit_rules'][number];
export type { ChannelConfig, TimeInterval, RouteInput };

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
    // zod skips the cross-reference refinement when the shapes are wrong; check the names on the
    // raw input too, so one run lists every problem.
    const extra = looseCrossReferences(substituted).filter((l) => !(err as Error).message.includes(l));
    if (!(err instanceof AppError) || extra.length === 0) throw err;
    const lines = [...err.message.split('\n').slice(1), ...extra.map((l) => `  - ${l}`)];
    throw new AppError('CONFIG_INVALID', `invalid ${source} (${lines.length} problem(s)):\n${lines.join('\n')}`, {
      context: { issues: lines.length },
    });
  }
}

/** Receiver and time-interval references checked on raw (possibly ill-shaped) input: `path: message` lines. */
function looseCrossReferences(raw: unknown): string[] {
  const obj = (v: unknown): Record<string, unknown> =>
    v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
  const root = obj(raw);
  const receivers = new Set(
    arr(root['receivers'])
      .map((r) => obj(r)['name'])
      .filter((n): n is string => typeof n === 'string'),
  );
  const intervals = new Set(
    arr(root['time_intervals'])
      .map((t) => obj(t)['name'])
      .filter((n): n is string => typeof n === 'string'),
  );
  const out: string[] = [];
  const walk = (r: unknown, path: string): void => {
    const o = obj(r);
    if (typeof o['receiver'] === 'string' && !receivers.has(o['receiver']))
      out.push(`${path}.receiver: unknown receiver "${o['receiver']}"`);
    for (const key of ['mute_time_intervals', 'active_time_intervals'])
      arr(o[key]).forEach((n, i) => {
        if (typeof n === 'string' && !intervals.has(n)) out.push(`${path}.${key}.${i}: unknown time interval "${n}"`);
      });
    arr(o['routes']).forEach((c, i) => walk(c, `${path}.routes.${i}`));
  };
  walk(root['route'], 'route');
  arr(root['receivers']).forEach((r, i) => {
    const f = obj(r)['fallback'];
    if (typeof f === 'string' && !receivers.has(f)) out.push(`receivers.${i}.fallback: unknown receiver "${f}"`);
  });
  const health = obj(root['delivery'])['health_receiver'];
  if (typeof health === 'string' && !receivers.has(health))
    out.push(`delivery.health_receiver: unknown receiver "${health}"`);
  return out;
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
