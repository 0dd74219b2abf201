/**
 * Human formatting of byte amounts for forecast output (CLI, capacity report). SI decimal units
 * (1 kB = 1000 B, 1 GB = 10⁹ B), as the forecast output has always used GB = 10⁹ bytes; the unit is
 * chosen from the magnitude, so 100 bytes prints "100 B", not "0.0 GB". Pure.
 */

const UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB'] as const;

/**
 * Formats a byte amount with an SI unit chosen from its magnitude (B, kB, MB, GB, TB, PB, EB).
 * @param bytes any finite number of bytes (negative allowed: "-1.5 GB").
 * @param digits decimals for kB and above (default 1); plain bytes print as whole numbers.
 * @returns e.g. "622.5 GB", "100 B", "1.0 TB"; "n/a" for a non-finite input.
 */
export function formatBytes(bytes: number, digits = 1): string {
  if (!Number.isFinite(bytes)) return 'n/a';
  const sign = bytes < 0 ? '-' : '';
  let v = Math.abs(bytes);
  let u = 0;
  // switch unit once the rounded figure would reach 1000 (999.97 GB → "1.0 TB", not "1000.0 GB")
  while (u < UNITS.length - 1 && Number(v.toFixed(u === 0 ? 0 : digits)) >= 1000) {
    v /= 1000;
    u++;
  }
  return `${sign}${v.toFixed(u === 0 ? 0 : digits)} ${UNITS[u] as string}`;
}

/** Formats a growth rate, bytes per day, e.g. "2.50 GB/day" (two decimals by default). */
export function formatBytesPerDay(bytesPerDay: number, digits = 2): string {
  return `${formatBytes(bytesPerDay, digits)}/day`;
}
