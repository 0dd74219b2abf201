/**
 * Harbor quota webhook text (`event_data.custom_attributes.Details`) parsed back into numbers.
 *
 * Harbor prints sizes 1024-based with one decimal (`src/pkg/quota/types/format.go`), so the byte
 * values are approximations (±0.05 of the unit). Messages (FORMATS.md §1c.4, samples 30 and 31):
 *  - warning:  `quota usage reach 85%: resource storage used 8.6 GiB of 10.0 GiB`
 *  - exceeded: `adding 212.3 MiB of storage resource, which when updated to current usage of
 *    9.9 GiB will exceed the configured upper limit of 10.0 GiB.`
 */

export interface HarborQuota {
  /** Current usage in bytes (approximate). */
  used_bytes?: number;
  /** Configured limit in bytes (approximate). */
  limit_bytes?: number;
  /** Usage as a percentage of the limit: the printed warning percent, else used/limit×100 (1 decimal). */
  percent?: number;
  /** Size of the rejected addition in bytes (exceeded message only). */
  requested_bytes?: number;
}

const UNITS: Readonly<Record<string, number>> = {
  B: 1,
  KB: 1024,
  KIB: 1024,
  MB: 1024 ** 2,
  MIB: 1024 ** 2,
  GB: 1024 ** 3,
  GIB: 1024 ** 3,
  TB: 1024 ** 4,
  TIB: 1024 ** 4,
  PB: 1024 ** 5,
  PIB: 1024 ** 5,
};

const SIZE = String.raw`(\d+(?:\.\d+)?)\s*([KMGTP]?i?B)`;
const WARNING_RE = new RegExp(String.raw`reach\s+(\d+(?:\.\d+)?)%.*?used\s+${SIZE}\s+of\s+${SIZE}`, 'i');
const EXCEED_RE = new RegExp(String.raw`adding\s+${SIZE}.*?current usage of\s+${SIZE}.*?upper limit of\s+${SIZE}`, 'i');

/** `8.6`, `GiB` → bytes (rounded to an integer). Undefined on an unknown unit. */
export function sizeToBytes(value: string, unit: string): number | undefined {
  const mult = UNITS[unit.toUpperCase()];
  const n = Number(value);
  if (mult === undefined || !Number.isFinite(n)) return undefined;
  return Math.round(n * mult);
}

/**
 * Parses a Harbor quota Details string. Returns `undefined` when the text matches neither the
 * warning nor the exceeded message (the caller keeps the text as `message` either way). Never throws.
 */
export function parseQuotaDetails(text: string): HarborQuota | undefined {
  const w = WARNING_RE.exec(text);
  if (w) {
    const q: HarborQuota = {};
    const used = sizeToBytes(w[2] ?? '', w[3] ?? '');
    const limit = sizeToBytes(w[4] ?? '', w[5] ?? '');
    if (used !== undefined) q.used_bytes = used;
    if (limit !== undefined) q.limit_bytes = limit;
    q.percent = Number(w[1]);
    return q;
  }
  const e = EXCEED_RE.exec(text);
  if (e) {
    const q: HarborQuota = {};
    const requested = sizeToBytes(e[1] ?? '', e[2] ?? '');
    const used = sizeToBytes(e[3] ?? '', e[4] ?? '');
    const limit = sizeToBytes(e[5] ?? '', e[6] ?? '');
    if (requested !== undefined) q.requested_bytes = requested;
    if (used !== undefined) q.used_bytes = used;
    if (limit !== undefined) q.limit_bytes = limit;
    if (used !== undefined && limit) q.percent = Math.round((used / limit) * 1000) / 10;
    return q;
  }
  return undefined;
}
