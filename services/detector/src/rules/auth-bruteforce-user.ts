import { windowRule } from './window-rule.ts';

/** Failed logins for one user name, from any number of IPs (password spraying on one account). */
export const authBruteforceUser = windowRule({
  id: 'auth.bruteforce_user',
  description: 'Rejected credentials for one user name (from any source IPs) within a short window.',
  actions: ['login-failure'],
  defaults: { threshold: 15, windowSeconds: 600, minDistinct: 0 },
  key: (ev) => {
    if (ev.action !== 'login-failure') return undefined;
    const name = ev.attemptedUser ?? ev.user;
    return name ? { type: 'user', id: name } : undefined;
  },
  distinct: (ev) => ev.ip,
  unit: 'failed logins',
  severity: (c, t, d) => (c >= 5 * t || d >= 5 ? 'high' : 'medium'),
  message: (e, c, p, d) =>
    `${c} failed logins for user ${e.id} within ${p.windowSeconds / 60} minutes from ${d.length} source IP(s) (alert at ${p.threshold}; typical 0).`,
});
