import ipaddr from 'ipaddr.js';

/** A parsed client address: ECS `source.address` (raw), `source.ip` (canonical), `source.port`. */
export interface ParsedAddress {
  /** The raw value as received (trimmed). Absent for empty input. */
  address?: string;
  /** RFC 5952-canonical IPv6 or dotted IPv4; IPv4-mapped IPv6 reduced to IPv4; zone id removed. */
  ip?: string;
  /** TCP port when the raw value had one (0–65535). */
  port?: number;
}

/**
 * Canonical IP text for a bare address, or undefined when it is not an IP literal.
 * Strict like Go `net.ParseIP`: IPv4 must be four decimal parts; IPv6 may carry a `%zone` (dropped).
 */
export function canonicalIp(raw: string): string | undefined {
  if (raw.length === 0 || raw.length > 64) return undefined;
  if (raw.includes(':')) {
    const pct = raw.indexOf('%');
    const bare = pct >= 0 ? raw.slice(0, pct) : raw;
    if (pct >= 0 && pct === raw.length - 1) return undefined;
    if (!ipaddr.IPv6.isValid(bare)) return undefined;
    const v6 = ipaddr.IPv6.parse(bare);
    return v6.isIPv4MappedAddress() ? v6.toIPv4Address().toString() : v6.toRFC5952String();
  }
  return isFourPartDecimal(raw) ? raw : undefined;
}

/**
 * True when `s` is a dotted-quad IPv4 address as Go `net.ParseIP` (and ipaddr.js
 * `isValidFourPartDecimal`) accept it: four ASCII-decimal parts 0–255, no leading zeros. Such text
 * is already canonical, so the hot path needs no parsing library.
 */
function isFourPartDecimal(s: string): boolean {
  return dottedQuadEnd(s) === s.length;
}

/**
 * Scans a dotted-quad IPv4 address at the start of `s` (four ASCII-decimal parts 0–255, no leading
 * zeros) in one pass. @returns the index just after its fourth part, or -1 when `s` does not start
 * with one.
 */
function dottedQuadEnd(s: string): number {
  const n = s.length;
  let parts = 0;
  let i = 0;
  for (;;) {
    const start = i;
    let v = 0;
    while (i < n) {
      const c = s.charCodeAt(i);
      if (c < 48 || c > 57) break;
      v = v * 10 + (c - 48);
      i++;
    }
    const len = i - start;
    if (len === 0 || len > 3 || v > 255 || (len > 1 && s.charCodeAt(start) === 48)) return -1;
    if (++parts === 4) return i;
    if (s.charCodeAt(i) !== 46 /* . */) return -1;
    i++;
  }
}

/** A decimal TCP port (1–5 ASCII digits, ≤ 65535), else undefined. */
function parsePort(p: string): number | undefined {
  return portAt(p, 0);
}

/** {@link parsePort} of `s.slice(from)`, read in place (no substring). */
function portAt(s: string, from: number): number | undefined {
  const len = s.length - from;
  if (len <= 0 || len > 5) return undefined;
  let n = 0;
  for (let i = from; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return undefined;
    n = n * 10 + (c - 48);
  }
  return n <= 65535 ? n : undefined;
}

function isPrintableAscii(c: number): boolean {
  return c > 32 && c < 127;
}

/**
 * `{ address, ip?, port? }` without absent keys (key order: address, ip, port), built as one literal
 * per case (one shape each, no property-by-property growth).
 */
function parsed(address: string, ip: string | undefined, port: number | undefined): ParsedAddress {
  if (ip === undefined) return port === undefined ? { address } : { address, port };
  return port === undefined ? { address, ip } : { address, ip, port };
}

/**
 * The common forms `a.b.c.d` and `a.b.c.d:port` in one pass over the characters (no substring
 * searches), with exactly the results of the general path in {@link parseAddress}.
 * @returns the parsed address, or undefined when `s` is not of these forms (the caller then takes
 *   the general path; e.g. a host name, IPv6, an invalid part or port).
 */
function quickIpv4(s: string): ParsedAddress | undefined {
  const i = dottedQuadEnd(s);
  if (i < 0) return undefined;
  const n = s.length;
  if (i === n) return { address: s, ip: s };
  if (s.charCodeAt(i) !== 58 /* : */) return undefined;
  // `a.b.c.d:` followed by 1–5 digits ≤ 65535 (otherwise the general path yields ip without port).
  const port = portAt(s, i + 1);
  return port === undefined ? undefined : { address: s, ip: s.slice(0, i), port };
}

/**
 * Splits a client address in any form registries write: `ip:port`, `[v6]:port`, `[v6]`, bare v6,
 * `::ffff:a.b.c.d`, `fe80::1%eth0`, `host:port`, `host`. Host names keep only `address`.
 * Source: distribution `internal/requestutil/util.go` (values with and without port, FORMATS.md 1b.5).
 * @returns `{}` for undefined/blank input; never throws.
 */
export function parseAddress(raw: string | undefined): ParsedAddress {
  if (typeof raw !== 'string') return {};
  // trim() copies; values that start and end with printable ASCII have nothing to trim.
  const address =
    isPrintableAscii(raw.charCodeAt(0)) && isPrintableAscii(raw.charCodeAt(raw.length - 1)) ? raw : raw.trim();
  if (address.length === 0) return {};
  const quick = quickIpv4(address);
  if (quick !== undefined) return quick;
  if (address[0] === '[') {
    const close = address.indexOf(']');
    if (close < 0) return { address };
    const ip = canonicalIp(address.slice(1, close));
    const rest = address.slice(close + 1);
    const port = rest.startsWith(':') ? parsePort(rest.slice(1)) : undefined;
    return parsed(address, ip, port);
  }
  const colon = address.indexOf(':');
  if (colon < 0) {
    // No colon: a bare IPv4 (checked in place, no copy) or a host name.
    return isFourPartDecimal(address) && address.length <= 64 ? { address, ip: address } : { address };
  }
  if (address.indexOf(':', colon + 1) < 0) {
    // Exactly one colon: host:port (IPv4 or a name).
    const ip = canonicalIp(address.slice(0, colon));
    const port = portAt(address, colon + 1);
    return parsed(address, ip, port);
  }
  return parsed(address, canonicalIp(address), undefined);
}

/**
 * Splits an `X-Forwarded-For` value into its elements, left (original client claim) to right
 * (nearest proxy). Elements are trimmed and kept as written; empty ones are dropped.
 */
export function parseForwardedFor(value: string | readonly string[] | undefined): string[] {
  if (value === undefined) return [];
  const joined = typeof value === 'string' ? value : value.join(',');
  const out: string[] = [];
  for (const part of joined.split(',')) {
    const t = part.trim();
    if (t.length > 0) out.push(t);
  }
  return out;
}

/** Result of {@link resolveClientAddress}. */
export interface ResolvedClient {
  /** The client IP to key rules on: the right-most hop that is not a trusted proxy. */
  ip?: string;
  port?: number;
  /** The left-most XFF element when it differs from `ip` (client-controlled; forensics only). */
  claimedIp?: string;
  /** `peer`: the TCP peer itself; `forwarded`: taken from XFF behind trusted proxies. */
  trust: 'peer' | 'forwarded';
}

/**
 * Chooses the client address from the TCP peer and the `X-Forwarded-For` chain when the list of
 * trusted proxies is known (collector in front of the registry, or a proxy log). Walks the chain
 * right to left while hops are trusted; the first untrusted hop is the client. A peer that is not a
 * trusted proxy is the client and its XFF is ignored. Trusted entries are CIDRs or single IPs.
 * (The registry itself trusts the left-most element blindly; FORMATS.md 1b.5, CASES C07.)
 */
export function resolveClientAddress(
  peer: string,
  forwardedFor: string | undefined,
  trustedProxies: readonly string[],
): ResolvedClient {
  const nets = trustedProxies.flatMap((t) => {
    try {
      return [
        t.includes('/')
          ? ipaddr.parseCIDR(t)
          : ([ipaddr.parse(t), ipaddr.parse(t).kind() === 'ipv4' ? 32 : 128] as const),
      ];
    } catch {
      return [];
    }
  });
  const trusted = (ip: string | undefined): boolean => {
    if (ip === undefined) return false;
    const a = ipaddr.parse(ip);
    return nets.some(([net, bits]) => a.kind() === net.kind() && a.match(net, bits));
  };
  const p = parseAddress(peer);
  const chain = parseForwardedFor(forwardedFor);
  const first = chain[0] === undefined ? undefined : canonicalIp(chain[0]);
  if (!trusted(p.ip) || chain.length === 0) {
    return {
      ...(p.ip === undefined ? {} : { ip: p.ip }),
      ...(p.port === undefined ? {} : { port: p.port }),
      trust: 'peer',
    };
  }
  let client: string | undefined;
  for (let i = chain.length - 1; i >= 0; i--) {
    const hop = canonicalIp(chain[i] ?? '') ?? parseAddress(chain[i]).ip;
    if (hop === undefined) break;
    client = hop;
    if (!trusted(hop)) break;
  }
  const ip = client ?? p.ip;
  return {
    ...(ip === undefined ? {} : { ip }),
    ...(first !== undefined && first !== ip ? { claimedIp: first } : {}),
    trust: 'forwarded',
  };
}
