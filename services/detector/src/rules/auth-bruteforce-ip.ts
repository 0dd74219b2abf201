import { windowRule } from './window-rule.ts';

/** Failed logins from one source IP (brute force, credential stuffing). 401 challenges do not count. */
export const authBruteforceIp = windowRule({
  id: 'auth.bruteforce_ip',
  description: 'Rejected credentials (login-failure, not 401 challenges) from one source IP within a short window.',
  actions: ['login-failure'],
  defaults: { threshold: 20, windowSeconds: 300, minDistinct: 0 },
  key: (ev) => (ev.action === 'login-failure' && ev.ip ? { type: 'ip', id: ev.ip } : undefined),
  distinct: (ev) => ev.attemptedUser ?? ev.user,
  unit: 'failed logins',
  severity: (c, t, d) => (c >= 5 * t || d >= 10 ? 'high' : 'medium'),
  message: (e, c, p, d) =>
    `${c} failed logins from ${e.id} within ${p.windowSeconds / 60} minutes${d.length ? ` against ${d.length}${d.length >= 64 ? '+' : ''} user name(s)` : ''} (alert at ${p.threshold}; typical 0).`,
});
