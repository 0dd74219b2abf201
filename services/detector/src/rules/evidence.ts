import type { Detection } from '../findings.ts';
import type { HourBucket } from '../state/types.ts';
import { repoEntries } from '../state/repo-counts.ts';

const HOUR = 3_600_000;

/** Top-N evidence (repositories, IPs, user agents, sample ids) of an hour bucket. */
export function bucketEvidence(b: HourBucket, n = 5): NonNullable<Detection['evidence']> {
  const repos = repoEntries(b).map(([name, count]) => ({ name, count }));
  const ips: { ip: string; count: number }[] = [];
  const uas: { name: string; count: number }[] = [];
  for (let i = 0; i < b.ips.length; i += 2) ips.push({ ip: b.ips[i] as string, count: b.ips[i + 1] as number });
  for (let i = 0; i < b.userAgents.length; i += 2)
    uas.push({ name: b.userAgents[i] as string, count: b.userAgents[i + 1] as number });
  const top = <T extends { count: number }>(a: T[]): T[] => a.sort((x, y) => y.count - x.count).slice(0, n);
  return {
    repositories: top(repos),
    source_ips: top(ips),
    user_agents: top(uas),
    sample_event_ids: b.samples.slice(0, n),
  };
}

/** "team-a/api (300), team-b/web (120)" from evidence repositories. */
export function topList(items: readonly { name?: string; ip?: string; count: number }[], n = 3): string {
  return items
    .slice(0, n)
    .map((i) => `${i.name ?? i.ip} (${i.count.toLocaleString('en-US')})`)
    .join(', ');
}

/** "13:00–14:00 UTC on 2026-03-10" for an epoch hour. */
export function hourLabel(hour: number): string {
  const s = new Date(hour * HOUR).toISOString();
  const e = new Date((hour + 1) * HOUR).toISOString();
  return `${s.slice(11, 16)}–${e.slice(11, 16)} UTC on ${s.slice(0, 10)}`;
}

/** Human name of an identity key: `ip:1.2.3.4` → `anonymous client 1.2.3.4`. */
export function who(identity: string, kind?: string): string {
  if (identity.startsWith('ip:')) return `client ${identity.slice(3)}`;
  return kind === 'robot'
    ? `robot ${identity}`
    : kind === 'service'
      ? `service account ${identity}`
      : `user ${identity}`;
}

const regexes = new Map<string, RegExp>();
/** A compiled RegExp per pattern string (params are strings in config). */
export function cachedRegExp(pattern: string): RegExp {
  let re = regexes.get(pattern);
  if (!re) regexes.set(pattern, (re = new RegExp(pattern)));
  return re;
}
