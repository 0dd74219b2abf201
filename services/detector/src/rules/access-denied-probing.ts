import { identityEntity } from '../findings.ts';
import { windowRule } from './window-rule.ts';
import { who } from './evidence.ts';

/** 403 (insufficient scope) across many repositories: probing for what a token can reach. */
export const accessDeniedProbing = windowRule({
  id: 'access.denied_probing',
  description: 'Access-denied (403) responses for one identity across several repositories within a short window.',
  actions: ['access-denied'],
  defaults: { threshold: 10, windowSeconds: 600, minDistinct: 5 },
  key: (ev) => (ev.action === 'access-denied' ? identityEntity(ev.identity) : undefined),
  distinct: (ev) => ev.repository,
  unit: 'denied requests',
  severity: (c, t, d) => (d >= 20 ? 'high' : 'medium'),
  message: (e, c, p, d) =>
    `${who(e.type === 'ip' ? `ip:${e.id}` : e.id)} was denied (403) ${c} times on ${d.length} repositories within ${p.windowSeconds / 60} minutes (alert at ${p.threshold} on ${p.minDistinct}; typical 0).`,
});
