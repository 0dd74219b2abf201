import { z } from 'zod';

const UNIT_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/**
 * Parses a Prometheus/Alertmanager duration string (`30s`, `5m`, `1h30m`, `500ms`, `1d`, `1w`)
 * into milliseconds. Units follow the Prometheus `model.Duration` grammar (ms, s, m, h, d, w).
 * @returns milliseconds, or `undefined` when the text is not a valid duration.
 */
export function parseDuration(text: string): number | undefined {
  const s = text.trim();
  if (s === '0') return 0;
  if (!/^(\d+(ms|s|m|h|d|w))+$/.test(s)) return undefined;
  let total = 0;
  for (const m of s.matchAll(/(\d+)(ms|s|m|h|d|w)/g)) {
    total += Number(m[1]) * (UNIT_MS[m[2] ?? 's'] ?? 0);
  }
  return total;
}

/** Formats milliseconds as a compact duration (`1h30m`, `45s`, `250ms`). Inverse of parseDuration. */
export function formatDuration(ms: number): string {
  if (ms <= 0) return '0s';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  let rest = Math.round(ms / 1000);
  const parts: string[] = [];
  for (const [unit, secs] of [
    ['d', 86400],
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    if (rest >= secs) {
      parts.push(`${Math.floor(rest / secs)}${unit}`);
      rest %= secs;
    }
  }
  return parts.join('');
}

/** zod type: a duration string (see parseDuration) transformed to milliseconds. */
export const durationMs = z.string().transform((v, ctx) => {
  const ms = parseDuration(v);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `not a duration: "${v}" (use e.g. 30s, 5m, 4h, 1d)` });
    return z.NEVER;
  }
  return ms;
});
