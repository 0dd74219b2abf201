import { identityEntity } from '../findings.ts';
import { distinctCount, thresholdNote, windowRule } from './window-rule.ts';
import { who } from './evidence.ts';

/** `_catalog` listing and tags-list walking across many repositories by one identity. */
export const catalogEnumeration = windowRule({
  id: 'registry.enumeration',
  description:
    'Catalog (/v2/_catalog) and tags-list requests across many repositories by one identity within a short window.',
  actions: ['catalog', 'tags-list'],
  defaults: { threshold: 30, windowSeconds: 600, minDistinct: 10 },
  // One format counts (C12): the registry's access log repeats the requests its app log records,
  // without a request id to join them, so access-log lines never count toward enumeration.
  key: (ev) =>
    (ev.action === 'catalog' || ev.action === 'tags-list') && ev.dataset !== 'oci_registry.access'
      ? identityEntity(ev.identity)
      : undefined,
  distinct: (ev) => (ev.action === 'catalog' ? '_catalog' : ev.repository),
  distinctEvidence: 'repositories',
  unit: 'requests',
  severity: (c, t) => (c >= 5 * t ? 'high' : 'medium'),
  message: (e, b, p) =>
    `${who(e.type === 'ip' ? `ip:${e.id}` : e.id)} made ${b.count} catalog/tags-list requests over ${distinctCount(b.distinct)} repositories ${b.span} ${thresholdNote(b, p, `over ${p.minDistinct}`)}`,
});
