import { distinctCount, thresholdNote, windowRule } from './window-rule.ts';

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
  message: (e, b, p) =>
    `${b.count} failed logins from ${e.id}${b.distinct.length ? ` against ${distinctCount(b.distinct)} user name(s)` : ''} ${b.span} ${thresholdNote(b, p)}`,
});
