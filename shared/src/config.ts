import { z } from 'zod';
import { AppError } from './errors.ts';

/** Recursively freezes a plain object graph. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as Record<string, unknown>)) deepFreeze(v);
  }
  return value;
}

/**
 * Parses `input` with `schema` once, listing every problem, and returns a deep-frozen result.
 * Only entry points call this (with `process.env` or a parsed file); everything else takes a slice.
 * @throws AppError CONFIG_INVALID (not retriable) with one line per issue: `path: message`.
 */
export function loadConfig<S extends z.ZodType>(schema: S, input: unknown, source = 'configuration'): z.infer<S> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  - ${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
    throw new AppError('CONFIG_INVALID', `invalid ${source} (${lines.length} problem(s)):\n${lines.join('\n')}`, {
      context: { issues: parsed.error.issues.length },
    });
  }
  return deepFreeze(parsed.data);
}

/** pino's levels, in the order of their severity (`silent` logs nothing). */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** True when `v` is one of {@link LOG_LEVELS}. */
export function isLogLevel(v: unknown): v is LogLevel {
  return typeof v === 'string' && (LOG_LEVELS as readonly string[]).includes(v);
}

const splitList = (v: string): string[] =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/**
 * One `host:port` entry (Kafka bootstrap broker style): a host name or IPv4 address, then `:` and
 * a port 1–65535. IPv6 literals are refused: kafkajs 2.2.4 splits a broker at its first `:`
 * (cluster/connectionPoolBuilder.js), so `[::1]:9092` could never connect.
 * @returns an error message naming the entry, or null when it is valid.
 */
export function hostPortProblem(entry: string): string | null {
  if (entry.startsWith('[')) return `"${entry}": IPv6 literals are not supported (kafkajs); use a host name`;
  const m = /^([A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?):(\d{1,5})$/.exec(entry);
  const port = m ? Number(m[3]) : NaN;
  if (!m) return `"${entry}" is not host:port (e.g. kafka:9092)`;
  if (!(port >= 1 && port <= 65_535)) return `"${entry}": port ${m[3]} is outside 1–65535`;
  return null;
}

function checkUrls(entries: string[], ctx: { addIssue(i: { code: 'custom'; message: string }): void }): void {
  if (entries.length === 0) ctx.addIssue({ code: 'custom', message: 'give at least one http(s) URL' });
  for (const e of entries) {
    if (!z.url({ protocol: /^https?$/ }).safeParse(e).success)
      ctx.addIssue({ code: 'custom', message: `"${e}" is not an http(s) URL (e.g. http://127.0.0.1:9200)` });
  }
}

const list = (def: string) => z.string().default(def).transform(splitList);

/**
 * zod helpers for environment variables (strings in, typed values out). Each reports its own
 * problem with the variable's name as path, so `loadConfig` lists every bad variable in one pass.
 */
export const env = {
  /** An integer; `min`/`max` bound it (inclusive). */
  int: (def: number, bounds: { min?: number; max?: number } = {}) => {
    let s = z.coerce.number().int();
    if (bounds.min !== undefined) s = s.min(bounds.min);
    if (bounds.max !== undefined) s = s.max(bounds.max);
    return s.default(def);
  },
  /** A TCP port 0–65535 (0 = any free port). */
  port: (def: number) =>
    z.coerce.number().int().min(0, 'a port is 0–65535').max(65_535, 'a port is 0–65535').default(def),
  bool: (def: boolean) =>
    z
      .enum(['true', 'false', '1', '0', 'yes', 'no'])
      .default(def ? 'true' : 'false')
      .transform((v) => v === 'true' || v === '1' || v === 'yes'),
  /** A comma list (entries trimmed, empty entries dropped); no check of the entries. */
  list,
  /** A comma list of `host:port` (Kafka `KAFKA_BROKERS`), at least one; see {@link hostPortProblem}. */
  hostPorts: (def: string) =>
    list(def).superRefine((entries, ctx) => {
      if (entries.length === 0) ctx.addIssue({ code: 'custom', message: 'give at least one host:port' });
      for (const e of entries) {
        const problem = hostPortProblem(e);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      }
    }),
  /** A comma list of http(s) URLs (Elasticsearch `ES_URLS`), at least one. */
  urls: (def: string) => list(def).superRefine(checkUrls),
  /** Like `urls`, but unset (undefined) is allowed: the feature it enables is off. */
  optionalUrls: () =>
    z
      .string()
      .optional()
      .transform((v) => (v === undefined ? undefined : splitList(v)))
      .superRefine((entries, ctx) => {
        if (entries !== undefined) checkUrls(entries, ctx);
      }),
  /** A comma list whose every entry is one of `values` (e.g. `INGEST_ROLES`). */
  oneOf: <const V extends string>(values: readonly V[], def: string) =>
    list(def).transform((entries, ctx) => {
      for (const e of entries) {
        if (!(values as readonly string[]).includes(e))
          ctx.addIssue({ code: 'custom', message: `unknown value "${e}" (expected ${values.join(', ')})` });
      }
      return entries as V[];
    }),
  /** pino `LOG_LEVEL`: one of {@link LOG_LEVELS}. */
  logLevel: (def: LogLevel = 'info') => z.enum(LOG_LEVELS).default(def),
};

/**
 * Params for a cross-field `superRefine` on an environment object: run it even when single
 * variables already failed (zod skips refinements after a failure by default), so one pass
 * lists every problem. Use with {@link failedKeys} to skip checks on variables that failed.
 */
export const EVERY_PROBLEM = { when: (): boolean => true } as const;

/** The top-level keys that already have a problem in a refinement context (`ctx.issues`). */
export function failedKeys(ctx: { issues: readonly { path?: readonly PropertyKey[] | undefined }[] }): Set<string> {
  const out = new Set<string>();
  for (const i of ctx.issues) if (i.path?.[0] !== undefined) out.add(String(i.path[0]));
  return out;
}

/**
 * Re-reports the issues of a nested parse (e.g. `esConfigSchema` over the `ES_*` variables) in a
 * refinement context, each under the variable its nested key came from (`names`: nested key →
 * variable name; unknown keys fall under `fallback`), so the operator sees which variable to fix.
 */
export function reportNestedIssues(
  ctx: { addIssue(issue: { code: 'custom'; path: string[]; message: string }): void },
  issues: readonly { path: readonly PropertyKey[]; message: string }[],
  names: Readonly<Record<string, string>>,
  fallback: string,
): void {
  for (const i of issues) {
    const key = i.path[0] === undefined ? undefined : String(i.path[0]);
    ctx.addIssue({
      code: 'custom',
      path: [(key !== undefined ? names[key] : undefined) ?? fallback],
      message: i.message,
    });
  }
}

/** Nested `esConfigSchema` key → the environment variable every service reads it from. */
export const ES_ENV_NAMES: Readonly<Record<string, string>> = {
  nodes: 'ES_URLS',
  username: 'ES_USERNAME',
  password: 'ES_PASSWORD',
  apiKey: 'ES_API_KEY',
  caFile: 'ES_CA_FILE',
  tlsRejectUnauthorized: 'ES_TLS_REJECT_UNAUTHORIZED',
  requestTimeoutMs: 'ES_REQUEST_TIMEOUT_MS',
};
