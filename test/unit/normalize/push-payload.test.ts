/**
 * `createNormalizer().pushPayload`: HTTP bodies normalized with the stream normalizer's cross-event
 * state (multi-arch pull-once rule, duplicate deliveries), unlike the stateless `normalizePayload`.
 * Sample 09 is one client's multi-arch pull as Distribution notifies it: one POST per event.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createNormalizer, normalizePayload } from '../../../shared/src/normalize/index.ts';
import type { NormalizeResult } from '../../../shared/src/normalize/types.ts';
import type { RegistryEvent } from '../../../shared/src/model/registry-event.ts';

const SAMPLES = new URL('../../fixtures/registry-samples/', import.meta.url);
const posts = (name: string): string[] =>
  readFileSync(new URL(name, SAMPLES), 'utf8')
    .split('\n')
    .filter((l) => l.trim().length > 0);
const events = (rs: NormalizeResult[]): RegistryEvent[] => rs.flatMap((r) => (r.kind === 'event' ? [r.event] : []));
const V2 = { contentType: 'application/vnd.docker.distribution.events.v2+json' };

describe('createNormalizer().pushPayload', () => {
  const multiArch = posts('09-dist-notif-v3-multiarch-pull-one-client.ndjson');

  test('a multi-arch pull notified over several POSTs counts one image pull', () => {
    const n = createNormalizer();
    const evs = multiArch.flatMap((body) => events(n.pushPayload(body, 'notification', V2)));
    assert.equal(evs.length, multiArch.length);
    const manifestPulls = evs.filter((e) => e.event.action === 'manifest-pull');
    assert.ok(manifestPulls.length >= 2, 'index GET(s) and the platform manifest GET');
    const counted = evs.filter((e) => e.oci_registry.image_pull);
    assert.equal(counted.length, 1);
    assert.equal(counted[0]?.oci_registry.object_kind, 'index');
    assert.equal(counted[0]?.event.id, manifestPulls[0]?.event.id);
  });

  test('the stateless normalizePayload still sees each POST alone (and counts every manifest GET)', () => {
    const evs = multiArch.flatMap((body) => events(normalizePayload(body, 'notification', V2)));
    const manifestPulls = evs.filter((e) => e.event.action === 'manifest-pull');
    assert.equal(evs.filter((e) => e.oci_registry.image_pull).length, manifestPulls.length);
  });

  test('results equal normalizePayload apart from the cross-POST rule', () => {
    const n = createNormalizer();
    for (const body of multiArch) {
      const a = events(n.pushPayload(body, 'notification', V2));
      const b = events(normalizePayload(body, 'notification', V2));
      assert.equal(a.length, b.length);
      for (let i = 0; i < a.length; i++) {
        const x = a[i];
        const y = b[i];
        assert.ok(x && y);
        assert.deepEqual(
          { ...x, oci_registry: { ...x.oci_registry, image_pull: false } },
          {
            ...y,
            oci_registry: { ...y.oci_registry, image_pull: false },
          },
        );
      }
    }
  });

  test('a notification re-delivered in a later POST is ignored as a duplicate', () => {
    const [first, retry] = posts('11-dist-notif-v3-duplicate-delivery.ndjson');
    assert.ok(first !== undefined && retry !== undefined);
    const n = createNormalizer();
    const a = n.pushPayload(first, 'notification');
    const b = n.pushPayload(retry, 'notification');
    assert.equal(events(a).length, 1);
    assert.deepEqual(
      b.map((r) => r.kind),
      ['ignored'],
    );
    const id = events(a)[0]?.event.id ?? '';
    assert.equal(b[0]?.kind === 'ignored' && b[0].reason, `duplicate delivery of event ${id}`);
    // Stateless: each POST alone yields the event again.
    assert.equal(events(normalizePayload(retry, 'notification')).length, 1);
  });

  test('payloads and lines share one state: a payload after the same event as a line is a duplicate', () => {
    const [body] = posts('11-dist-notif-v3-duplicate-delivery.ndjson');
    assert.ok(body !== undefined);
    const n = createNormalizer();
    assert.equal(events(n.push(body)).length, 1);
    assert.equal(n.pushPayload(body, 'auto')[0]?.kind, 'ignored');
  });

  test('bad bodies are rejected, never thrown, and leave the state usable', () => {
    const n = createNormalizer();
    assert.equal(n.pushPayload('', 'notification')[0]?.kind, 'rejected');
    assert.equal(n.pushPayload('{"events":[{"id":', 'notification')[0]?.kind, 'rejected');
    const bad = n.pushPayload(new Uint8Array([0x7b, 0xff, 0x7d]), 'auto');
    assert.equal(bad[0]?.kind === 'rejected' && bad[0].reason, 'invalid_utf8');
    assert.equal(events(n.pushPayload(multiArch[0] ?? '', 'notification', V2)).length, 1);
  });

  test('an NDJSON body (auto) is normalized line by line with the shared rules; nothing stays buffered', () => {
    const n = createNormalizer();
    const rs = n.pushPayload(multiArch.join('\n'), 'auto', V2);
    const evs = events(rs);
    assert.equal(evs.length, multiArch.length);
    assert.equal(evs.filter((e) => e.oci_registry.image_pull).length, 1);
    assert.deepEqual(n.flush(), []);
    // The same events again in a later body are duplicates of the first.
    assert.ok(n.pushPayload(multiArch.join('\n'), 'auto', V2).every((r) => r.kind === 'ignored'));
  });
});
