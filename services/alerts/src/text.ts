/**
 * Truncation that never splits a character: cuts happen on grapheme-cluster boundaries
 * (Intl.Segmenter), so surrogate pairs, combining marks and ZWJ emoji sequences stay whole.
 */
const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
const encoder = new TextEncoder();

export const ELLIPSIS = '…';

/** UTF-8 length of `s` in bytes. */
export function utf8Bytes(s: string): number {
  return encoder.encode(s).length;
}

function cut(s: string, fits: (prefixLen: number, prefixBytes: number) => boolean, measureBytes: boolean): string {
  let len = 0;
  let bytes = 0;
  let out = '';
  for (const { segment } of segmenter.segment(s)) {
    const nl = len + segment.length;
    const nb = measureBytes ? bytes + utf8Bytes(segment) : 0;
    if (!fits(nl, nb)) break;
    out += segment;
    len = nl;
    bytes = nb;
  }
  return out;
}

/**
 * Shortens `s` to at most `max` UTF-16 code units (JavaScript `length`, which is what most chat
 * APIs count as "characters"), ending with `suffix` when cut.
 */
export function truncateChars(s: string, max: number, suffix = ELLIPSIS): string {
  if (s.length <= max) return s;
  const room = Math.max(0, max - suffix.length);
  return cut(s.slice(0, room + 16), (l) => l <= room, false) + suffix;
}

/** Shortens `s` to at most `maxBytes` bytes of UTF-8, ending with `suffix` when cut. */
export function truncateBytes(s: string, maxBytes: number, suffix = ELLIPSIS): string {
  if (utf8Bytes(s) <= maxBytes) return s;
  const room = Math.max(0, maxBytes - utf8Bytes(suffix));
  return cut(s.slice(0, room + 16), (_l, b) => b <= room, true) + suffix;
}

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );
}

/** Escapes Slack mrkdwn control characters (&, <, >) as Slack's formatting docs require. */
export function escapeSlack(s: string): string {
  return s.replace(/[&<>]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c] ?? c);
}
