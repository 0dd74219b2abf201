/**
 * Hour-of-week in an IANA time zone, DST-correct, for "usual hours" and seasonal slots. Hot path:
 * one cached `Intl.DateTimeFormat` per zone read with `formatToParts`, plus a per-zone memo of the
 * last epoch hour (events arrive in time order, so most lookups hit it). An instant never falls in
 * a DST gap, so instant → local is always well defined (LIBRARIES.md §15).
 */
const WEEKDAYS: Record<string, number> = { Mon: 0, Tue: 1, Wed: 2, Thu: 3, Fri: 4, Sat: 5, Sun: 6 };

interface ZoneCache {
  fmt: Intl.DateTimeFormat;
  memo: Map<number, number>;
  /** The last quarter-hour looked up and its slot (hour closes ask for the same hour per identity). */
  lastKey: number;
  lastSlot: number;
}
const zones = new Map<string, ZoneCache>();
/** The zone of the previous call (most identities share the default zone). */
let lastZone: ZoneCache | undefined;
let lastZoneName = '';

function zoneCache(zone: string): ZoneCache {
  if (lastZone !== undefined && zone === lastZoneName) return lastZone;
  let z = zones.get(zone);
  if (!z) {
    z = {
      fmt: new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', weekday: 'short', hour: 'numeric' }),
      memo: new Map(),
      lastKey: NaN,
      lastSlot: 0,
    };
    zones.set(zone, z);
  }
  lastZone = z;
  lastZoneName = zone;
  return z;
}

/** Throws RangeError when `zone` is not a valid IANA time zone name. */
export function assertTimeZone(zone: string): void {
  zoneCache(zone);
}

/**
 * Local hour-of-week slot (0 = Monday 00:00–00:59 local … 167 = Sunday 23:00–23:59 local) of the
 * instant `ms` (ms since epoch) in `zone`. Zones with sub-hour offsets use the local hour.
 */
export function hourOfWeek(ms: number, zone: string): number {
  const z = zoneCache(zone);
  // Every zone offset in use today is a multiple of 15 minutes, so the local hour is constant
  // within each quarter hour.
  const key = Math.floor(ms / 900_000);
  if (key === z.lastKey) return z.lastSlot;
  const hit = z.memo.get(key);
  if (hit !== undefined) {
    z.lastKey = key;
    z.lastSlot = hit;
    return hit;
  }
  let wd = 0;
  let hr = 0;
  for (const p of z.fmt.formatToParts(ms)) {
    if (p.type === 'weekday') wd = WEEKDAYS[p.value] ?? 0;
    else if (p.type === 'hour') hr = Number(p.value);
  }
  const slot = wd * 24 + hr;
  if (z.memo.size > 4096) z.memo.clear();
  z.memo.set(key, slot);
  z.lastKey = key;
  z.lastSlot = slot;
  return slot;
}
