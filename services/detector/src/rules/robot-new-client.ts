import { z } from 'zod';
import { clientFamily } from '../event.ts';
import { identityEntity } from '../findings.ts';
import { NONE, type DetectionRule } from './types.ts';
import { hasSeen, seenCount } from '../state/seen.ts';

const params = z.object({});

/**
 * A robot/service token used with a client family it never used (robot → user agent); high when
 * the client is interactive or a scripting tool (docker CLI, curl, python) — a token lifted from CI.
 */
export const robotNewClient: DetectionRule<z.infer<typeof params>> = {
  id: 'robot.new_client',
  description:
    'A robot token used with a client it never used; high when the client is interactive or scripting (docker CLI, curl, python).',
  paramsSchema: params,
  onlyWhenChanged: 'userAgent',
  observe(ev, st, view) {
    if (st.kind !== 'robot' && st.kind !== 'service') return NONE;
    if (!ev.userAgent || ev.userAgent === st.lastUserAgent || ev.outcome === 'failure' || !view.isWarm(st, ev.ts))
      return NONE;
    const c = clientFamily(ev.userAgent);
    if (hasSeen(st, 'client', c.family)) return NONE;
    return [
      {
        rule: this.id,
        severity: c.interactive ? 'high' : 'low',
        score: c.interactive ? 80 : 30,
        entity: identityEntity(st.id),
        windowStart: Math.floor(ev.ts / 1000) * 1000,
        windowEnd: Math.floor(ev.ts / 1000) * 1000 + 1000,
        observed: { value: 1, unit: 'new clients' },
        expected: { value: 0, unit: 'new clients', upper: 0 },
        evidence: {
          user_agents: [{ name: ev.userAgent, count: 1 }],
          source_ips: ev.ip ? [{ ip: ev.ip, count: 1 }] : [],
          repositories: ev.repository ? [{ name: ev.repository, count: 1 }] : [],
          sample_event_ids: [ev.id],
          extra: { client_family: c.family, interactive: c.interactive, known_clients: seenCount(st, 'client') },
        },
        message: `robot ${st.id} was used with client ${c.family}${c.interactive ? ' (interactive/scripting)' : ''}, never seen for it before (${seenCount(st, 'client')} known client families).`,
        labels: { client_family: c.family },
      },
    ];
  },
};
