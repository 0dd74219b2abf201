import { identityEntity } from '../findings.ts';
import { distinctCount, thresholdNote, windowRule } from './window-rule.ts';
import { who } from './evidence.ts';

/** 403 (insufficient scope) across many repositories: probing for what a token can reach. */
export const accessDeniedProbing = windowRule({
  id: 'access.denied_probing',
  description: 'Access-denied (403) responses for one identity across several repositories within a short window.',
  actions: ['access-denied'],
  defaults: { threshold: 10, windowSeconds: 600, minDistinct: 5 },
  key: (ev) => (ev.action === 'access-denied' ? identityEntity(ev.identity) : undefined),
  distinct: (ev) => ev.repository,
  distinctEvidence: 'repositories',
  unit: 'denied requests',
  severity: (c, t, d) => (d >= 20 ? 'high' : 'medium'),
  message: (e, b, p) =>
    `${who(e.type === 'ip' ? `ip:${e.id}` : e.id)} was denied (403) ${b.count} times on ${distinctCount(b.distinct)} repositories ${b.span} ${thresholdNote(b, p, `on ${p.minDistinct}`)}`,
});
