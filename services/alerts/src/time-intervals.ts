import { z } from 'zod';
import { DateTime, IANAZone } from 'luxon';

/**
 * Time intervals for muting (or activating) routes, with the field names and semantics of
 * Alertmanager's `time_intervals` (prometheus.io, "Alertmanager configuration" → `<time_interval>`):
 * `times` (`HH:MM` start inclusive, end exclusive), `weekdays` (`monday:friday`), `days_of_month`
 * (`1:5`, negative counts from the month's end), `months` (`january:march` or `1:3`), `years`,
 * `location` (IANA zone; DST-aware through luxon). Every given field must match.
 */

const WEEKDAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'];
const MONTHS = [
  'january',
  'february',
  'march',
  'april',
  'may',
  'june',
  'july',
  'august',
  'september',
  'october',
  'november',
  'december',
];

interface Range {
  readonly lo: number;
  readonly hi: number;
}

function rangeParser(names: readonly string[] | null, min: number, max: number, allowNegative: boolean) {
  const one = (t: string): number | undefined => {
    const lower = t.trim().toLowerCase();
    if (names) {
      const i = names.indexOf(lower);
      if (i >= 0) return i + 1;
    }
    if (!/^-?\d+$/.test(lower)) return undefined;
    const n = Number(lower);
    if (n < 0 && !allowNegative) return undefined;
    if (n === 0 || Math.abs(n) > max || (n > 0 && n < min)) return undefined;
    return n;
  };
  return z.string().transform((v, ctx): Range => {
    const [a, b, extra] = v.split(':');
    const lo = a === undefined ? undefined : one(a);
    const hi = b === undefined ? lo : one(b);
    if (extra !== undefined || lo === undefined || hi === undefined) {
      ctx.addIssue({ code: 'custom', message: `bad range "${v}"` });
      return z.NEVER;
    }
    return { lo, hi };
  });
}

const hhmm = z.string().transform((v, ctx) => {
  const m = /^(\d{2}):(\d{2})$/.exec(v);
  const mins = m ? Number(m[1]) * 60 + Number(m[2]) : NaN;
  if (!m || mins > 24 * 60 || Number(m[2]) > 59) {
    ctx.addIssue({ code: 'custom', message: `bad time "${v}" (HH:MM, 00:00–24:00)` });
    return z.NEVER;
  }
  return mins;
});

export const timeIntervalSpecSchema = z
  .object({
    times: z.array(z.object({ start_time: hhmm, end_time: hhmm })).optional(),
    weekdays: z.array(rangeParser(WEEKDAYS, 1, 7, false)).optional(),
    days_of_month: z.array(rangeParser(null, 1, 31, true)).optional(),
    months: z.array(rangeParser(MONTHS, 1, 12, false)).optional(),
    years: z.array(rangeParser(null, 1, 9999, false)).optional(),
    location: z
      .string()
      .default('UTC')
      .refine((z1) => IANAZone.isValidZone(z1), { message: 'unknown time zone (IANA name such as Europe/Berlin)' }),
  })
  .strict();

export type TimeIntervalSpec = z.infer<typeof timeIntervalSpecSchema>;

export const timeIntervalSchema = z
  .object({ name: z.string().min(1), time_intervals: z.array(timeIntervalSpecSchema).min(1) })
  .strict();
export type TimeInterval = z.infer<typeof timeIntervalSchema>;

const inRanges = (ranges: readonly Range[] | undefined, v: number, resolveNeg?: (n: number) => number): boolean => {
  if (!ranges || ranges.length === 0) return true;
  return ranges.some((r) => {
    const lo = resolveNeg && r.lo < 0 ? resolveNeg(r.lo) : r.lo;
    const hi = resolveNeg && r.hi < 0 ? resolveNeg(r.hi) : r.hi;
    return v >= lo && v <= hi;
  });
};

/** True when instant `nowMs` (ms since epoch) falls inside `spec`. */
export function inTimeIntervalSpec(spec: TimeIntervalSpec, nowMs: number): boolean {
  const t = DateTime.fromMillis(nowMs, { zone: spec.location });
  const minute = t.hour * 60 + t.minute;
  if (spec.times && spec.times.length > 0 && !spec.times.some((r) => minute >= r.start_time && minute < r.end_time)) {
    return false;
  }
  if (!inRanges(spec.weekdays, t.weekday)) return false;
  const dim = t.daysInMonth ?? 31;
  if (!inRanges(spec.days_of_month, t.day, (n) => dim + 1 + n)) return false;
  if (!inRanges(spec.months, t.month)) return false;
  if (!inRanges(spec.years, t.year)) return false;
  return true;
}

/** True when `nowMs` is inside any spec of the named interval. */
export function inTimeInterval(interval: TimeInterval, nowMs: number): boolean {
  return interval.time_intervals.some((s) => inTimeIntervalSpec(s, nowMs));
}
