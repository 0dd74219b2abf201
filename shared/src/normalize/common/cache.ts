import type { ParsedAddress } from './address.ts';
import type { UserAgentClass } from './useragent.ts';
import { parseAddress } from './address.ts';
import { classifyUserAgent } from './useragent.ts';

/**
 * Bounded memo caches for the per-line hot path: user agents and client addresses repeat heavily
 * in registry traffic, so parsing each distinct value once keeps normalize throughput near raw
 * `JSON.parse`. Each cache is cleared when it reaches {@link MAX_ENTRIES} (no unbounded growth).
 * Returned values may be shared (cached ones are frozen): callers must copy before mutating.
 */
const MAX_ENTRIES = 4096;
const uaCache = new Map<string, Readonly<UserAgentClass>>();
const addrCache = new Map<string, Readonly<ParsedAddress>>();
const EMPTY: Readonly<ParsedAddress> = Object.freeze({});
/** Slots of the direct-mapped user-agent table (a power of two; 64 holds a registry's few dozen clients). */
const RECENT_SIZE = 64;
const recentKeys: (string | undefined)[] = new Array<string | undefined>(RECENT_SIZE).fill(undefined);
const recentValues: (Readonly<UserAgentClass> | undefined)[] = new Array<Readonly<UserAgentClass> | undefined>(
  RECENT_SIZE,
).fill(undefined);

/** {@link classifyUserAgent} with a bounded memo. */
export function cachedUserAgent(ua: string): Readonly<UserAgentClass> {
  // Each line brings a new string object, whose hash a Map lookup must compute over every
  // character; a small direct-mapped table probed by length and two characters, then compared with
  // `===` (a memory compare), answers the common repeats more cheaply.
  const n = ua.length;
  const slot = (n * 31 + ua.charCodeAt(n >> 1) * 7 + ua.charCodeAt(n - 1)) & (RECENT_SIZE - 1);
  if (recentKeys[slot] === ua) {
    const hit = recentValues[slot];
    if (hit !== undefined) return hit;
  }
  let v = uaCache.get(ua);
  if (v === undefined) {
    if (uaCache.size >= MAX_ENTRIES) uaCache.clear();
    v = Object.freeze(classifyUserAgent(ua));
    uaCache.set(ua, v);
  }
  recentKeys[slot] = ua;
  recentValues[slot] = v;
  return v;
}

/** {@link parseAddress} with a bounded memo. */
export function cachedAddress(raw: string | undefined): Readonly<ParsedAddress> {
  if (raw === undefined) return EMPTY;
  // IPv4 and host forms (at most one colon) parse faster than a Map lookup hashes the key;
  // only IPv6 (several colons, library parse) is worth memoizing.
  const colon = raw.indexOf(':');
  if (colon < 0 || raw.indexOf(':', colon + 1) < 0) return parseAddress(raw);
  let v = addrCache.get(raw);
  if (v === undefined) {
    if (addrCache.size >= MAX_ENTRIES) addrCache.clear();
    v = Object.freeze(parseAddress(raw));
    addrCache.set(raw, v);
  }
  return v;
}
