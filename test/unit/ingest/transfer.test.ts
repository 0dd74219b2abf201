/**
 * Short blob transfers (shared CASES C10): a notification of the same `http.request.id` gives the
 * blob's size; a 200 blob GET that wrote fewer bytes is `oci_registry.transfer.partial: true`.
 * Real normalizer on the C10 input plus Distribution notifications in the fixture-04 shape.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { RegistryEvent } from '../../../shared/src/model/registry-event.ts';
import { createNormalizer, normalizePayload } from '../../../shared/src/normalize/index.ts';
import { RequestActorCache } from '../../../services/ingest/src/documents.ts';
import { blobSizeOf, markTransfer, transferOf } from '../../../services/ingest/src/transfer.ts';

const BLOB = 'sha256:dcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdc';
const BLOB_SIZE = 14770572; // C10: "per the manifest, the blob is 14770572 bytes"
const rid = (n: number): string => `00000000-0000-4000-8000-00000000${n}`;

function c10Logs(): RegistryEvent[] {
  const text = readFileSync(new URL('../../fixtures/cases/inputs/C10.log', import.meta.url), 'utf8');
  const n = createNormalizer();
  const lines = text.split('\n').filter((l) => l.length > 0 && !l.startsWith('#'));
  const rs = [...lines.flatMap((l) => n.push(l)), ...n.flush()];
  return rs.flatMap((r) => (r.kind === 'event' ? [r.event] : []));
}

/** A Distribution notification (FORMATS.md §1a; shape of registry-samples fixture 04) for a blob GET. */
function blobPullNotification(
  requestId: string,
  o: { user?: string; size?: number; digest?: string; method?: string } = {},
): RegistryEvent {
  const digest = o.digest ?? BLOB;
  const body = JSON.stringify({
    events: [
      {
        id: `n-${requestId}`,
        timestamp: '2020-09-24T03:10:11.000000001Z',
        action: 'pull',
        target: {
          mediaType: 'application/octet-stream',
          size: o.size ?? BLOB_SIZE,
          digest,
          length: o.size ?? BLOB_SIZE,
          repository: 'team-m/antrea',
          url: `https://registry.example.test/v2/team-m/antrea/blobs/${digest}`,
        },
        request: {
          id: requestId,
          addr: '192.0.2.39',
          host: 'registry.example.test',
          method: o.method ?? 'GET',
          useragent: 'containerd/v1.3.4',
        },
        actor: o.user === undefined ? {} : { name: o.user },
        source: { addr: 'registry-1:5000', instanceID: '00000000-0000-4000-8000-0000000000ff' },
      },
    ],
  });
  const [r] = normalizePayload(body, 'notification');
  assert.equal(r?.kind, 'event', JSON.stringify(r));
  return (r as { kind: 'event'; event: RegistryEvent }).event;
}

describe('C10: a 200 blob GET that did not finish is marked oci_registry.transfer.partial', () => {
  test('notifications first, then the four log lines: second GET partial, first complete, bytes = sum written', () => {
    const cache = new RequestActorCache(100);
    cache.remember(blobPullNotification(rid(1001), { user: 'user-m' }));
    cache.remember(blobPullNotification(rid(1002), { user: 'user-m' }));
    const evs = c10Logs().map((e) => cache.enrich(e));
    assert.deepEqual(
      evs.map((e) => e.event.action),
      ['blob-pull', 'blob-pull', 'manifest-head', 'manifest-pull'],
    );
    assert.deepEqual(evs[0]?.oci_registry.transfer, { partial: false, expected_bytes: BLOB_SIZE });
    assert.deepEqual(evs[1]?.oci_registry.transfer, { partial: true, expected_bytes: BLOB_SIZE });
    assert.equal(evs[2]?.oci_registry.transfer, undefined);
    assert.equal(evs[3]?.oci_registry.transfer, undefined);
    // Bytes pulled stay the sum of what was written, not 2 × the blob size.
    const pulled = evs
      .filter((e) => e.event.action === 'blob-pull')
      .reduce((s, e) => s + (e.http?.response?.body?.bytes ?? 0), 0);
    assert.equal(pulled, 19932508);
    // Completed downloads: only the first GET.
    assert.equal(evs.filter((e) => e.oci_registry.transfer?.partial === false).length, 1);
    // The log line's own user stays.
    assert.equal(evs[1]?.user?.name, 'user-m');
  });

  test('log line only (no notification): no transfer field, the same object back', () => {
    const cache = new RequestActorCache(100);
    const [first, second] = c10Logs();
    assert.ok(first && second);
    assert.equal(cache.enrich(second), second);
    assert.equal(cache.enrich(first).oci_registry.transfer, undefined);
  });

  test('a non-blob event is untouched even when its request id is known', () => {
    const cache = new RequestActorCache(100);
    const logs = c10Logs();
    // A notification for the manifest GET of request 1004 (manifest, size 1609).
    const manifest = blobPullNotification(rid(1004), { user: 'user-m', size: 1609 });
    const asManifest: RegistryEvent = {
      ...manifest,
      oci_registry: { ...manifest.oci_registry, object_kind: 'manifest' },
    };
    assert.equal(blobSizeOf(asManifest), undefined);
    cache.remember(asManifest);
    assert.equal(cache.enrich(logs[3]!), logs[3]);
    // The manifest HEAD (1003) with a blob notification under its id: not a blob GET, untouched.
    cache.remember(blobPullNotification(rid(1003), { user: 'user-m' }));
    assert.equal(cache.enrich(logs[2]!), logs[2]);
  });

  test('a notification naming another digest does not mark the line', () => {
    const cache = new RequestActorCache(100);
    cache.remember(blobPullNotification(rid(1002), { digest: `sha256:${'ab'.repeat(32)}` }));
    assert.equal(cache.enrich(c10Logs()[1]!).oci_registry.transfer, undefined);
  });

  test('anonymous notification: the size joins, no user is invented', () => {
    const cache = new RequestActorCache(100);
    const n = blobPullNotification(rid(1002));
    assert.equal(n.user?.name, undefined);
    cache.remember(n);
    assert.equal(cache.size, 1);
    const line = c10Logs()[1]!;
    const anonymousLine: RegistryEvent = {
      ...line,
      user: undefined,
      oci_registry: { ...line.oci_registry, actor: { kind: 'anonymous', anonymous: true } },
    };
    const out = cache.enrich(anonymousLine);
    assert.equal(out.user?.name, undefined);
    assert.equal(out.oci_registry.actor.anonymous, true);
    assert.deepEqual(out.oci_registry.transfer, { partial: true, expected_bytes: BLOB_SIZE });
    assert.equal(anonymousLine.oci_registry.transfer, undefined, 'input not mutated');
  });

  test('the user join still works and merges with the size of the same request', () => {
    const cache = new RequestActorCache(100);
    cache.remember(blobPullNotification(rid(1002), { user: 'user-m' }));
    const line = c10Logs()[1]!;
    const out = cache.enrich({ ...line, user: undefined });
    assert.equal(out.user?.name, 'user-m');
    assert.equal(out.oci_registry.actor.kind, 'user');
    assert.equal(out.oci_registry.transfer?.partial, true);
  });

  test('bounded: the oldest request id is forgotten first', () => {
    const cache = new RequestActorCache(2);
    for (const n of [1001, 1002, 1003]) cache.remember(blobPullNotification(rid(n), { user: 'user-m' }));
    assert.equal(cache.size, 2);
    const [first, second] = c10Logs();
    assert.equal(cache.enrich(first!).oci_registry.transfer, undefined, '1001 was evicted');
    assert.equal(cache.enrich(second!).oci_registry.transfer?.partial, true);
  });
});

describe('transferOf / markTransfer', () => {
  const line = (): RegistryEvent => c10Logs()[1]!;
  const withResponse = (e: RegistryEvent, status: number, bytes?: number): RegistryEvent => ({
    ...e,
    http: { ...e.http, response: { ...e.http?.response, status_code: status, body: { bytes } } },
  });

  test('written == size → partial false; written > size → partial false; fewer → true', () => {
    assert.deepEqual(transferOf(withResponse(line(), 200, BLOB_SIZE), BLOB_SIZE), {
      partial: false,
      expected_bytes: BLOB_SIZE,
    });
    assert.equal(transferOf(withResponse(line(), 200, BLOB_SIZE + 1), BLOB_SIZE)?.partial, false);
    assert.equal(transferOf(withResponse(line(), 200, 0), BLOB_SIZE)?.partial, true);
  });

  test('206 range responses, failures, HEAD, unknown bytes and unknown size are not marked', () => {
    assert.equal(transferOf(withResponse(line(), 206, 1024), BLOB_SIZE), undefined);
    assert.equal(transferOf(withResponse(line(), 500, 1024), BLOB_SIZE), undefined);
    assert.equal(transferOf(withResponse(line(), 200, undefined), BLOB_SIZE), undefined);
    assert.equal(transferOf(line(), undefined), undefined);
    assert.equal(transferOf(line(), 0), undefined);
    const head: RegistryEvent = {
      ...line(),
      http: { ...line().http, request: { ...line().http?.request, method: 'HEAD' } },
    };
    assert.equal(transferOf(head, BLOB_SIZE), undefined);
  });

  test('size known in the same event (a source that carries both): marked without a join', () => {
    const e = line();
    const both: RegistryEvent = { ...e, oci_registry: { ...e.oci_registry, size: BLOB_SIZE } };
    assert.deepEqual(markTransfer(both).oci_registry.transfer, { partial: true, expected_bytes: BLOB_SIZE });
    assert.equal(new RequestActorCache(10).enrich(both).oci_registry.transfer?.partial, true);
    assert.equal(markTransfer(e), e, 'no size anywhere: unchanged');
  });

  test('an existing transfer value is never overwritten', () => {
    const e = line();
    const set: RegistryEvent = {
      ...e,
      oci_registry: { ...e.oci_registry, transfer: { partial: false, expected_bytes: 1 } },
    };
    assert.equal(markTransfer(set, BLOB_SIZE), set);
  });
});
