import { z } from 'zod';
import type { Labels } from './labels.ts';

/** One Alertmanager-style matcher: `name=value`, `name!=value`, `name=~regex`, `name!~regex`. */
export interface Matcher {
  readonly name: string;
  readonly op: '=' | '!=' | '=~' | '!~';
  readonly value: string;
}

const MATCHER_RE = /^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$/;

/**
 * Parses a matcher string as Alertmanager's `matchers` accepts it (docs: prometheus.io
 * "Alertmanager configuration" → `<matcher>`). The value may be double-quoted; regexes are
 * anchored (`^(?:…)$`) like Alertmanager's.
 * @returns the matcher, or an error message when the text or regex is invalid.
 */
export function parseMatcher(text: string): Matcher | { error: string } {
  const m = MATCHER_RE.exec(text);
  if (!m) return { error: `not a matcher: "${text}" (expected name=value, name!=value, name=~re or name!~re)` };
  const name = m[1] ?? '';
  const op = (m[2] ?? '=') as Matcher['op'];
  let value = m[3] ?? '';
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) {
    try {
      value = JSON.parse(value) as string;
    } catch {
      return { error: `bad quoted value in matcher "${text}"` };
    }
  }
  if (op === '=~' || op === '!~') {
    try {
      new RegExp(`^(?:${value})$`);
    } catch (err) {
      return { error: `bad regex in matcher "${text}": ${(err as Error).message}` };
    }
  }
  return { name, op, value };
}

const regexCache = new Map<string, RegExp>();
function anchored(value: string): RegExp {
  let re = regexCache.get(value);
  if (!re) {
    re = new RegExp(`^(?:${value})$`);
    if (regexCache.size > 10_000) regexCache.clear();
    regexCache.set(value, re);
  }
  return re;
}

/** True when `labels` satisfies one matcher. A missing label matches as the empty string (Alertmanager semantics). */
export function matchOne(m: Matcher, labels: Labels): boolean {
  const v = labels[m.name] ?? '';
  switch (m.op) {
    case '=':
      return v === m.value;
    case '!=':
      return v !== m.value;
    case '=~':
      return anchored(m.value).test(v);
    case '!~':
      return !anchored(m.value).test(v);
  }
}

/** True when every matcher matches (an empty list matches everything). */
export function matchAll(ms: readonly Matcher[], labels: Labels): boolean {
  for (const m of ms) if (!matchOne(m, labels)) return false;
  return true;
}

/** Renders a matcher back to text (`rule="pull.volume_spike"`). */
export function matcherText(m: Matcher): string {
  return `${m.name}${m.op}${JSON.stringify(m.value)}`;
}

/** zod type: one matcher string, parsed. */
export const matcherSchema = z.string().transform((v, ctx) => {
  const r = parseMatcher(v);
  if ('error' in r) {
    ctx.addIssue({ code: 'custom', message: r.error });
    return z.NEVER;
  }
  return r;
});

/** zod type: a matcher object as stored (silences, API). */
export const matcherObjectSchema = z.object({
  name: z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/),
  op: z.enum(['=', '!=', '=~', '!~']),
  value: z.string(),
});
