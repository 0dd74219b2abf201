/**
 * Is a forecast's input current? A forecast counts days from the series' last sample; when that
 * sample is old (a collector stopped, an old CSV was passed) "full in 151 days" silently means
 * "151 days after some date long ago". This flags such data and gives the calendar dates the
 * forecast implies, so callers can say how old the data is and whether the projected dates have
 * already passed. Pure: the caller passes `now`.
 */
import { z } from 'zod';
import { AppError } from '../../../../shared/src/errors.ts';
import type { ForecastResult } from './model.ts';

const DAY_S = 86_400;
const DAY_MS = DAY_S * 1000;

export interface StalenessOptions {
  /**
   * Age of the last sample, seconds, beyond which the data is stale. Default: the larger of
   * 2 × the sampling interval and 1 day.
   */
  readonly staleAfterSeconds?: number;
}

export interface Staleness {
  /** True when the last sample is older than `threshold_seconds` at `now`. */
  readonly stale: boolean;
  /** ISO 8601 time of the last sample (days in the forecast are counted from here). */
  readonly last_timestamp: string;
  /** now − last sample, seconds (negative when the last sample lies in the future). */
  readonly age_seconds: number;
  readonly threshold_seconds: number;
  /** Calendar date-time (ISO 8601) the forecast puts the warning level at; null beyond horizon. */
  readonly warn_at: string | null;
  /** Calendar date-time (ISO 8601) the forecast puts 100 % at; null beyond horizon. */
  readonly full_at: string | null;
  /** Days from `now` to full (may be negative: the projected date has passed); null beyond horizon. */
  readonly days_to_full_from_now: number | null;
}

/**
 * Judges how current a forecast's data is.
 * @param result the forecast (`last_timestamp`, `days_to_warn`, `days_to_full`, and the sampling
 *   interval in seconds when known).
 * @param now the time the forecast is looked at (report generation time, the CLI's clock).
 * @returns Staleness; the default threshold is max(2 × sampling interval, 1 day).
 * @throws AppError FORECAST_INPUT_INVALID when `staleAfterSeconds` is given and not > 0, or
 *   `last_timestamp` is not a valid time.
 */
export function assessStaleness(
  result: Pick<ForecastResult, 'last_timestamp' | 'days_to_warn' | 'days_to_full' | 'sampling_interval_seconds'>,
  now: Date,
  opts: StalenessOptions = {},
): Staleness {
  if (opts.staleAfterSeconds !== undefined && !(opts.staleAfterSeconds > 0))
    throw new AppError('FORECAST_INPUT_INVALID', `stale-after must be > 0 seconds, got ${opts.staleAfterSeconds}`);
  const last = Date.parse(result.last_timestamp);
  if (!Number.isFinite(last))
    throw new AppError('FORECAST_INPUT_INVALID', `last_timestamp "${result.last_timestamp}" is not a valid time`);
  const interval = result.sampling_interval_seconds;
  const threshold =
    opts.staleAfterSeconds ?? Math.max(DAY_S, interval !== undefined && Number.isFinite(interval) ? 2 * interval : 0);
  const age = (now.getTime() - last) / 1000;
  const at = (days: number | null): string | null =>
    days === null ? null : new Date(last + days * DAY_MS).toISOString();
  return {
    stale: age > threshold,
    last_timestamp: new Date(last).toISOString(),
    age_seconds: age,
    threshold_seconds: threshold,
    warn_at: at(result.days_to_warn),
    full_at: at(result.days_to_full),
    days_to_full_from_now: result.days_to_full === null ? null : result.days_to_full - age / DAY_S,
  };
}

/**
 * Parses a duration for `--stale-after`: a number with a unit `s`, `m`, `h` or `d` ("36h", "2d",
 * "90m"), or a bare number of seconds.
 * @returns seconds (> 0).
 * @throws AppError FORECAST_INPUT_INVALID for anything else, naming the accepted forms.
 */
export function parseDurationSeconds(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$/i.exec(text);
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: DAY_S } as const;
  const secs = m ? Number(m[1]) * unit[(m[2] ?? '').toLowerCase() as keyof typeof unit] : NaN;
  if (!(secs > 0))
    throw new AppError(
      'FORECAST_INPUT_INVALID',
      `"${text}" is not a duration; use a positive number with s, m, h or d (e.g. 36h, 2d)`,
    );
  return secs;
}

/** Age as a short human figure: "5.0 h", "183.2 d". */
export function formatAge(seconds: number): string {
  return seconds < DAY_S ? `${(seconds / 3600).toFixed(1)} h` : `${(seconds / DAY_S).toFixed(1)} d`;
}

/**
 * Config setting for a staleness threshold (the storage jobs' `stale after`): an optional
 * duration string as `parseDurationSeconds` accepts ("36h", "2d", "90m", bare seconds), parsed to
 * seconds; absent → undefined (assessStaleness then uses its default, the larger of 1 day and
 * 2 × the sampling interval). A bad value is a config problem listed by loadConfig, not a throw.
 */
export const staleAfterSetting = z
  .string()
  .optional()
  .refine((v) => v === undefined || v.trim() === '' || durationOk(v), {
    message: 'not a duration; use a positive number with s, m, h or d (e.g. 36h, 2d)',
  })
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : parseDurationSeconds(v)));

function durationOk(text: string): boolean {
  try {
    parseDurationSeconds(text);
    return true;
  } catch {
    return false;
  }
}
