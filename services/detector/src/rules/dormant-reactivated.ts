import { z } from 'zod';
import { EVENT_ACTIONS } from '../../../../shared/src/model/registry-event.ts';
import { identityEntity } from '../findings.ts';
import { NONE, type DetectionRule } from './types.ts';
import { who } from './evidence.ts';

const params = z.object({
  /** Days without activity after which an identity counts as dormant. */
  dormantDays: z.number().positive().default(30),
  /** Active days needed before the silence for the identity to count as established. */
  minActiveDays: z.number().int().positive().default(2),
});

/** An identity silent for ≥ dormantDays becomes active again (stale account or token reused). */
export const dormantReactivated: DetectionRule<z.infer<typeof params>> = {
  id: 'identity.dormant_reactivated',
  description: 'An established identity silent for a long time (default 30 days) becomes active again.',
  // Pings and 401 challenges are not activity.
  actions: EVENT_ACTIONS.filter((a) => a !== 'ping' && a !== 'auth-challenge'),
  paramsSchema: params,
  observe(ev, st, _view, p) {
    // Most selective test first: almost every event follows the identity's previous one closely.
    const idleDays = (ev.ts - st.lastSeen) / 86_400_000;
    if (idleDays < p.dormantDays) return NONE;
    if (ev.outcome === 'failure' || st.id.startsWith('ip:') || ev.action === 'ping' || ev.action === 'auth-challenge')
      return NONE;
    if (!Number.isFinite(st.lastSeen) || st.activeDays < p.minActiveDays) return NONE;
    const robot = st.kind === 'robot' || st.kind === 'service';
    return [
      {
        rule: this.id,
        severity: robot ? 'high' : 'medium',
        score: Math.min(95, 50 + idleDays),
        entity: identityEntity(st.id),
        windowStart: Math.floor(ev.ts / 1000) * 1000,
        windowEnd: Math.floor(ev.ts / 1000) * 1000 + 1000,
        observed: { value: Math.round(idleDays * 10) / 10, unit: 'days idle' },
        expected: { value: 0, unit: 'days idle', upper: p.dormantDays },
        evidence: {
          source_ips: ev.ip ? [{ ip: ev.ip, count: 1 }] : [],
          user_agents: ev.userAgent ? [{ name: ev.userAgent, count: 1 }] : [],
          repositories: ev.repository ? [{ name: ev.repository, count: 1 }] : [],
          sample_event_ids: [ev.id],
          extra: { last_seen: new Date(st.lastSeen).toISOString() },
        },
        message: `${who(st.id, st.kind)} became active again after ${Math.round(idleDays)} days of silence (last seen ${new Date(st.lastSeen).toISOString().slice(0, 10)}; dormant after ${p.dormantDays}).`,
      },
    ];
  },
};
