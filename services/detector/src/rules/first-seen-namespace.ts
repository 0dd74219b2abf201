import { z } from 'zod';
import { identityEntity } from '../findings.ts';
import { NONE, type DetectionRule } from './types.ts';
import { hasSeen, seenCount } from '../state/seen.ts';
import { who } from './evidence.ts';

const params = z.object({
  /** Severity when the namespace belongs to another configured team. */
  otherTeamSeverity: z.enum(['low', 'medium', 'high']).default('medium'),
});

/**
 * First access by a warm identity to a namespace it never touched, raised to medium when the
 * namespace belongs to another team (teams from config). Anonymous clients are not judged.
 */
export const firstSeenNamespace: DetectionRule<z.infer<typeof params>> = {
  id: 'access.first_seen_namespace',
  description:
    'First pull/push by an identity (with history) into a namespace it never used; medium when the namespace belongs to another team.',
  actions: ['manifest-pull', 'manifest-push'],
  paramsSchema: params,
  onlyWhenChanged: 'namespace',
  observe(ev, st, view, p) {
    if (!ev.namespace || ev.outcome === 'failure' || ev.head || ev.anonymous) return NONE;
    if (ev.action !== 'manifest-pull' && ev.action !== 'manifest-push') return NONE;
    // Warm as of the event's own time: an event older than everything known about the identity (a
    // late or replayed one) has no history before it to be new against.
    if (ev.namespace === st.lastNamespace || !view.isWarm(st, ev.ts) || hasSeen(st, 'namespace', ev.namespace))
      return NONE;
    const own = view.teamNamespaces(st.id);
    const owner = view.ownedBy(ev.namespace);
    const otherTeam = own !== undefined && owner !== undefined && !own.includes(ev.namespace);
    const severity = otherTeam ? p.otherTeamSeverity : 'low';
    return [
      {
        rule: this.id,
        severity,
        score: otherTeam ? 60 : 25,
        entity: identityEntity(st.id),
        windowStart: Math.floor(ev.ts / 1000) * 1000,
        windowEnd: Math.floor(ev.ts / 1000) * 1000 + 1000,
        observed: { value: 1, unit: 'new namespaces' },
        expected: { value: 0, unit: 'new namespaces', upper: 0 },
        evidence: {
          repositories: ev.repository ? [{ name: ev.repository, count: 1 }] : [],
          sample_event_ids: [ev.id],
          extra: { namespace: ev.namespace, owner_team: owner ?? null, known_namespaces: seenCount(st, 'namespace') },
        },
        message: `${who(st.id, st.kind)} accessed namespace ${ev.namespace}${owner ? ` (team ${owner})` : ''} for the first time in ${Math.round((ev.ts - st.firstSeen) / 86_400_000)} days of history (${seenCount(st, 'namespace')} namespaces known before, 0 accesses to this one).`,
        labels: { namespace: ev.namespace, other_team: String(otherTeam) },
      },
    ];
  },
};
