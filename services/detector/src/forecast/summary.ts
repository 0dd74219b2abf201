/**
 * The human summary of one storage forecast, as printed by `regwatch forecast` and
 * `regwatch report capacity` on stderr. Pure: takes the forecast and its staleness verdict,
 * returns lines of text. Byte amounts use SI units chosen by magnitude (units.ts).
 */
import type { ForecastResult } from './model.ts';
import type { Staleness } from './staleness.ts';
import { formatBytes, formatBytesPerDay } from './units.ts';
import { formatAge } from './staleness.ts';

/** A ratio as a percentage, "62.2 %"; "> 999 %" beyond that (a capacity far too small). */
export const pct = (ratio: number): string => (ratio > 9.99 ? '> 999 %' : `${Math.round(ratio * 1000) / 10} %`);

/** A usage ratio with one decimal, "62.0 %"; "> 999 %" beyond that. */
export const usedPct = (ratio: number): string => (ratio > 9.99 ? '> 999 %' : `${(ratio * 100).toFixed(1)} %`);

/**
 * "already at/over 85 % since …" for a threshold the level has reached; names the first sample
 * when the whole history is above ("since at least …"), or says the start is not known.
 */
function reachedText(label: string, since: string | null | undefined, first: string | undefined): string {
  if (since === null || since === undefined) return `already at/over ${label} (since: not known)`;
  if (since === first) return `already at/over ${label} since at least ${since} (the first sample)`;
  return `already at/over ${label} since ${since}`;
}

/**
 * A stale-data warning line, or null when the data is current.
 * @returns e.g. "WARNING: stale data: the last sample (…) is 183.0 d old (stale after 1.0 d); days
 *   below are counted from that sample, not from now; 100 % was projected for … (already past)".
 */
export function staleWarning(st: Staleness): string | null {
  if (!st.stale) return null;
  let projected = '';
  if (st.full_at === st.last_timestamp) projected = '; usage was already at/over 100 % at that sample';
  else if (st.full_at !== null && st.days_to_full_from_now !== null) {
    projected =
      st.days_to_full_from_now < 0
        ? `; 100 % was projected for ${st.full_at.slice(0, 10)}, already past by ${(-st.days_to_full_from_now).toFixed(1)} d`
        : `; 100 % is projected for ${st.full_at.slice(0, 10)} (${st.days_to_full_from_now.toFixed(1)} d from now)`;
  }
  return (
    `WARNING: stale data: the last sample (${st.last_timestamp}) is ${formatAge(st.age_seconds)} old ` +
    `(stale after ${formatAge(st.threshold_seconds)}); days are counted from that last sample, not from now${projected}`
  );
}

/**
 * Summary lines of a forecast: stale-data warning (when stale) first, then used/capacity/growth,
 * one line per threshold (days with the 80 % interval and the calendar date, or "already at/over
 * … since …"), and the level-shift / method line.
 */
export function summaryLines(r: ForecastResult, st: Staleness): string[] {
  const out: string[] = [];
  const warnLine = staleWarning(st);
  if (warnLine !== null) out.push(warnLine);
  const h = r.horizon_days;
  const days = (d: number | null): string => (d === null ? `not within ${h} days` : `${d.toFixed(1)} days`);
  const used = r.capacity_bytes > 0 ? ` (${usedPct(r.level_bytes / r.capacity_bytes)})` : '';
  const gcModelled = r.method.includes('+gc');
  const growth = gcModelled
    ? `growing ${formatBytesPerDay(r.growth_bytes_per_day)} net (${formatBytesPerDay(r.gross_growth_bytes_per_day)} between GC runs)`
    : `growing ${formatBytesPerDay(r.growth_bytes_per_day)}`;
  out.push(
    `used ${formatBytes(r.level_bytes)} of ${formatBytes(r.capacity_bytes)}${used}, ${growth}; last sample ${r.last_timestamp}`,
  );
  const line = (
    label: string,
    bytes: number,
    reached: boolean,
    since: string | null | undefined,
    d: number | null,
    lo: number | null,
    hi: number | null,
    at: string | null,
  ): string => {
    if (reached) return `${label}: ${reachedText(`${label} (${formatBytes(bytes)})`, since, r.first_timestamp)}`;
    const date = at === null ? '' : ` → ${at.slice(0, 10)}`;
    return `${label}: ${days(d)} after the last sample (80 %: ${days(lo)} – ${days(hi)})${date} [${formatBytes(bytes)}]`;
  };
  out.push(
    line(
      pct(r.warn_ratio),
      r.warn_ratio * r.capacity_bytes,
      r.warn_reached ?? r.days_to_warn === 0,
      r.warn_reached_since,
      r.days_to_warn,
      r.days_to_warn_lower,
      r.days_to_warn_upper,
      st.warn_at,
    ),
    line(
      '100 %',
      r.capacity_bytes,
      r.full_reached ?? r.days_to_full === 0,
      r.full_reached_since,
      r.days_to_full,
      r.days_to_full_lower,
      r.days_to_full_upper,
      st.full_at,
    ),
  );
  const noise =
    r.noise_bytes !== undefined && r.sampling_interval_seconds !== undefined
      ? `; noise ${formatBytes(r.noise_bytes)} per ${formatAge(r.sampling_interval_seconds)} step`
      : '';
  out.push(`level shifts: ${r.level_shifts.length} (last GC ${r.last_gc ?? 'none'})${noise}; method ${r.method}`);
  return out;
}
