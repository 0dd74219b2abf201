import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RegistryEvent } from '../../shared/src/model/registry-event.ts';
import { kafkaBrokers, uniqueName } from './infra.ts';

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

/**
 * Starts the detector service's real entry point (services/detector/src/main.ts, as deployed) on
 * the test broker with topic prefix `prefix`, a unique consumer group, SQLite state in `dir`
 * and its HTTP endpoint on any free port (the default 9096 may be taken on this machine); `env`
 * adds or overrides variables (e.g. the same DETECTOR_GROUP_ID for a restart).
 * stdout and stderr are piped; the caller kills it.
 */
export function spawnDetectorMain(
  prefix: string,
  dir: string,
  logLevel: string,
  env: Readonly<Record<string, string>> = {},
): ChildProcess {
  return spawn('sh', ['scripts/node.sh', 'services/detector/src/main.ts'], {
    cwd: fileURLToPath(new URL('../../', import.meta.url)),
    env: {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      HOME: process.env['HOME'] ?? '/tmp',
      KAFKA_BROKERS: kafkaBrokers().join(','),
      REGWATCH_TOPIC_PREFIX: prefix,
      DETECTOR_GROUP_ID: uniqueName('detector'),
      DETECTOR_STATE: join(dir, 'state.db'),
      DETECTOR_HTTP_PORT: '0',
      LOG_LEVEL: logLevel,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}
