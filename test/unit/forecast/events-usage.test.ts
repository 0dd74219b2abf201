import { test } from 'node:test';
import assert from 'node:assert/strict';
import { reconstructUsage } from '../../../services/detector/src/storage/events.ts';
import type { RegistryEvent } from '../../../shared/src/model/registry-event.ts';

const ev = (ts: string, action: string, digest: string, size?: number): RegistryEvent =>
  ({
    '@timestamp': ts,
    event: { action },
    oci_registry: {
      image_pull: false,
      actor: { kind: 'user', anonymous: false },
      source_format: 'test',
      digest,
      ...(size === undefined ? {} : { size }),
    },
  }) as unknown as RegistryEvent;

void test('usage from events: unique blob digests pushed minus deletes, hourly, marked as an estimate', () => {
  const s = reconstructUsage(
    [
      ev('2026-03-02T10:05:00Z', 'blob-push', 'sha256:a', 100),
      ev('2026-03-02T10:06:00Z', 'blob-push', 'sha256:b', 50),
      ev('2026-03-02T10:07:00Z', 'blob-mount', 'sha256:a', 100), // same content: stored once
      ev('2026-03-02T10:08:00Z', 'manifest-pull', 'sha256:m', 9),
      ev('2026-03-02T12:00:00Z', 'blob-delete', 'sha256:b'),
      ev('2026-03-02T11:30:00Z', 'blob-push', 'sha256:c', 25), // out of order: sorted by event time
      ev('2026-03-02T12:10:00Z', 'blob-delete', 'sha256:zzz'), // unknown digest: nothing to subtract
    ],
    'events:registry.example.com',
    1000,
  );
  assert.deepEqual(
    s.map((x) => [x.timestamp, x.used_bytes]),
    [
      ['2026-03-02T11:00:00.000Z', 150],
      ['2026-03-02T12:00:00.000Z', 175],
      ['2026-03-02T13:00:00.000Z', 125],
    ],
  );
  assert.ok(s.every((x) => x.estimate === true && x.source === 'events_estimate' && x.capacity_bytes === 1000));
});
