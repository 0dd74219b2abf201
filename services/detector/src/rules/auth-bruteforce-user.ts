import { distinctCount, thresholdNote, windowRule } from './window-rule.ts';

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
  // The source IPs, with their failure counts, become `evidence.source_ips`.
  distinct: (ev) => ev.ip,
  distinctEvidence: 'source_ips',
  unit: 'failed logins',
  severity: (c, t, d) => (c >= 5 * t || d >= 5 ? 'high' : 'medium'),
  message: (e, b, p) =>
    `${b.count} failed logins for user ${e.id} from ${distinctCount(b.distinct)} source IP(s) ${b.span} ${thresholdNote(b, p)}`,
});
