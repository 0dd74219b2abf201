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
  if (!ipaddr.IPv4.isValidFourPartDecimal(raw)) return undefined;
  return ipaddr.IPv4.parse(raw).toString();
}

function parsePort(p: string): number | undefined {
  if (!/^\d{1,5}$/.test(p)) return undefined;
  const n = Number(p);
  return n <= 65535 ? n : undefined;
}

/**
 * Splits a client address in any form registries write: `ip:port`, `[v6]:port`, `[v6]`, bare v6,
 * `::ffff:a.b.c.d`, `fe80::1%eth0`, `host:port`, `host`. Host names keep only `address`.
 * Source: distribution `internal/requestutil/util.go` (values with and without port, FORMATS.md 1b.5).
 * @returns `{}` for undefined/blank input; never throws.
 */
export function parseAddress(raw: string | undefined): ParsedAddress {
  if (typeof raw !== 'string') return {};
  const address = raw.trim();
  if (address.length === 0) return {};
  if (address[0] === '[') {
    const close = address.indexOf(']');
    if (close < 0) return { address };
    const ip = canonicalIp(address.slice(1, close));
    const rest = address.slice(close + 1);
    const port = rest.startsWith(':') ? parsePort(rest.slice(1)) : undefined;
    return { address, ...(ip === undefined ? {} : { ip }), ...(port === undefined ? {} : { port }) };
  }
  const colon = address.indexOf(':');
  if (colon >= 0 && colon === address.lastIndexOf(':')) {
    // Exactly one colon: host:port (IPv4 or a name).
    const ip = canonicalIp(address.slice(0, colon));
    const port = parsePort(address.slice(colon + 1));
    return { address, ...(ip === undefined ? {} : { ip }), ...(port === undefined ? {} : { port }) };
  }
  const ip = canonicalIp(address);
  return ip === undefined ? { address } : { address, ip };
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
