import type { RegistryEvent } from '../../shared/src/model/registry-event.ts';

/**
 * The i-th manifest deletion by user mallory (from 10.9.9.9, in team-a/app0…app6) at `at` (epoch
 * ms), as the ingest publishes it on regwatch.events; ids `<idPrefix>del-<i>` and request ids
 * `<idPrefix>rq-<i>`. Twenty of them in ten minutes fire delete.burst with its defaults.
 */
export function deleteEvent(i: number, at: number, idPrefix = ''): RegistryEvent {
  return {
    '@timestamp': new Date(at).toISOString(),
    event: {
      kind: 'event',
      category: ['web'],
      type: ['deletion'],
      action: 'manifest-delete',
      outcome: 'success',
      id: `${idPrefix}del-${i}`,
      dataset: 'oci_registry.notification',
    },
    user: { name: 'mallory' },
    source: { ip: '10.9.9.9' },
    http: { request: { id: `${idPrefix}rq-${i}`, method: 'DELETE' } },
    oci_registry: {
      image_pull: false,
      actor: { kind: 'user', anonymous: false },
      source_format: 'distribution-notification',
      repository: `team-a/app${i % 7}`,
      namespace: 'team-a',
    },
  };
}
