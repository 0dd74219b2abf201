import { z } from 'zod';
import { identityEntity } from '../findings.ts';
import { networkOf } from '../event.ts';
import { NONE, type DetectionRule } from './types.ts';
import { hasSeen, seenCount } from '../state/seen.ts';
import { who } from './evidence.ts';

const params = z.object({
  /** Severity for a robot (token) used from a new network. */
  robotSeverity: z.enum(['low', 'medium', 'high', 'critical']).default('high'),
  /** Severity for a person seen on a new network (travel, VPN: usually benign). */
  userSeverity: z.enum(['info', 'low', 'medium']).default('low'),
});

/** A warm identity acting from a network (IPv4 /24, IPv6 /48) never seen for it; robots rank high. */
export const firstSeenNetwork: DetectionRule<z.infer<typeof params>> = {
  id: 'identity.new_network',
  description:
    'An identity with history acting from a network (/24, /48) it never used; a robot token from a new network is high.',
  paramsSchema: params,
  onlyWhenChanged: 'ip',
  observe(ev, st, view, p) {
    if (!ev.ip || ev.anonymous || ev.outcome === 'failure' || st.id.startsWith('ip:')) return NONE;
    // Same address as the identity's previous event: its network is known (hot-path shortcut).
    // Warm as of the event's own time (see first-seen-namespace.ts).
    if (ev.ip === st.lastIp || !view.isWarm(st, ev.ts)) return NONE;
    const net = networkOf(ev.ip);
    if (hasSeen(st, 'network', net)) return NONE;
    const robot = st.kind === 'robot' || st.kind === 'service';
    return [
      {
        rule: this.id,
        severity: robot ? p.robotSeverity : p.userSeverity,
        score: robot ? 75 : 25,
        entity: identityEntity(st.id),
        windowStart: Math.floor(ev.ts / 1000) * 1000,
        windowEnd: Math.floor(ev.ts / 1000) * 1000 + 1000,
        observed: { value: 1, unit: 'new networks' },
        expected: { value: 0, unit: 'new networks', upper: 0 },
        evidence: {
          source_ips: [{ ip: ev.ip, count: 1 }],
          user_agents: ev.userAgent ? [{ name: ev.userAgent, count: 1 }] : [],
          repositories: ev.repository ? [{ name: ev.repository, count: 1 }] : [],
          sample_event_ids: [ev.id],
          extra: { network: net, known_networks: seenCount(st, 'network') },
        },
        message: `${who(st.id, st.kind)} acted from ${ev.ip} (network ${net}), a network it never used in ${Math.round((ev.ts - st.firstSeen) / 86_400_000)} days (${seenCount(st, 'network')} known networks).`,
        labels: { network: net, actor_kind: st.kind },
      },
    ];
  },
};
