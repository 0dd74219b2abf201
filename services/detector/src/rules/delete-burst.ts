import { identityEntity } from '../findings.ts';
import { distinctCount, thresholdNote, windowRule } from './window-rule.ts';
import { who } from './evidence.ts';

const DELETES = new Set(['manifest-delete', 'tag-delete', 'blob-delete']);

/** Many deletions by one identity in a short window (destructive activity, ransom). */
export const deleteBurst = windowRule({
  id: 'delete.burst',
  description: 'Manifest, tag and blob deletions by one identity within a short window.',
  actions: ['manifest-delete', 'tag-delete', 'blob-delete'],
  defaults: { threshold: 20, windowSeconds: 600, minDistinct: 0 },
  key: (ev) => (DELETES.has(ev.action) && ev.outcome !== 'failure' ? identityEntity(ev.identity) : undefined),
  distinct: (ev) => ev.repository,
  distinctEvidence: 'repositories',
  unit: 'deletions',
  severity: (c, t) => (c >= 5 * t ? 'critical' : 'high'),
  message: (e, b, p) =>
    `${who(e.type === 'ip' ? `ip:${e.id}` : e.id)} deleted ${b.count} objects in ${distinctCount(b.distinct)} repositories ${b.span} ${thresholdNote(b, p)}`,
});
