import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { RegistryEvent } from '../../../shared/src/model/registry-event.ts';
import type { NormalizeResult } from '../../../shared/src/normalize/types.ts';
import { createNormalizer, normalizePayload } from '../../../shared/src/normalize/index.ts';
import { NotificationEventSchema } from '../../../shared/src/normalize/distribution/schemas.ts';

const dir = new URL('../../fixtures/registry-samples/', import.meta.url);
const read = (name: string): string => readFileSync(new URL(name, dir), 'utf8');
const V1 = { contentType: 'application/vnd.docker.distribution.events.v1+json' };
const V2 = { contentType: 'application/vnd.docker.distribution.events.v2+json' };

function events(results: NormalizeResult[]): RegistryEvent[] {
  return results.flatMap((r) => (r.kind === 'event' ? [r.event] : []));
}
/** A body file: one POST. */
function body(name: string, ctx = V1): RegistryEvent[] {
  const r = normalizePayload(read(name), 'notification', ctx);
  assert.ok(
    r.every((x) => x.kind === 'event'),
    JSON.stringify(r.filter((x) => x.kind !== 'event')),
  );
  return events(r);
}
/** An ndjson file: one envelope per line, through the stream normalizer. */
function stream(name: string, ctx = V2): NormalizeResult[] {
  const n = createNormalizer();
  const lines = read(name)
    .split('\n')
    .filter((l) => l.length > 0);
  return [...lines.flatMap((l) => n.push(l, ctx)), ...n.flush()];
}
const pulls = (evs: RegistryEvent[]): number => evs.filter((e) => e.oci_registry.image_pull).length;

describe('Distribution notifications (samples 01–12)', () => {
  test('01 v2.x manifest pull by tag, anonymous, -08:00 ns timestamp', () => {
    const [e, ...rest] = body('01-dist-notif-v2x-pull-manifest-by-tag.json');
    assert.equal(rest.length, 0);
    assert.ok(e);
    assert.equal(e['@timestamp'], '2016-03-09T22:44:26.402973972Z');
    assert.equal(e.oci_registry.original_timestamp, '2016-03-09T14:44:26.402973972-08:00');
    assert.equal(e.event.id, '320678d8-ca14-430f-8bb6-4ca139cd83f7');
    assert.equal(e.oci_registry.event_id, '320678d8-ca14-430f-8bb6-4ca139cd83f7');
    assert.equal(e.event.action, 'manifest-pull');
    assert.equal(e.event.outcome, 'success');
    assert.deepEqual(e.event.type, ['access']);
    assert.equal(e.event.dataset, 'oci_registry.notification');
    assert.equal(e.oci_registry.source_format, 'notification-v1');
    assert.equal(e.oci_registry.image_pull, true);
    assert.equal(e.user, undefined);
    assert.deepEqual(e.oci_registry.actor, { kind: 'anonymous', anonymous: true });
    assert.deepEqual(e.source, { address: '192.0.2.11:42961', ip: '192.0.2.11', port: 42961 });
    assert.equal(e.oci_registry.forwarded_for, undefined);
    assert.equal(e.oci_registry.repository, 'hello-world');
    assert.equal(e.oci_registry.tag, 'latest');
    assert.equal(e.oci_registry.digest, 'sha256:fea8895f450959fa676bcc1df0611ea93823a735a01205fd8622846041d0c7cf');
    assert.equal(e.oci_registry.media_type, 'application/vnd.docker.distribution.manifest.v2+json');
    assert.equal(e.oci_registry.object_kind, 'manifest');
    assert.equal(e.oci_registry.size, 708);
    assert.deepEqual(e.container, {
      image: {
        name: 'hello-world',
        tag: ['latest'],
        hash: { all: ['sha256:fea8895f450959fa676bcc1df0611ea93823a735a01205fd8622846041d0c7cf'] },
      },
    });
    assert.deepEqual(e.http, { request: { id: '6df24a34-0959-4923-81ca-14f09767db19', method: 'GET' } });
    assert.equal(e.url?.domain, 'registry.example.com');
    assert.equal(e.url?.port, 5000);
    assert.equal(e.oci_registry.request_host, 'registry.example.com:5000');
    assert.deepEqual(e.user_agent, { original: 'curl/7.38.0', name: 'curl', version: '7.38.0' });
    assert.deepEqual(e.service, {
      type: 'distribution',
      node: { name: 'registry-node-a.example:5000' },
      ephemeral_id: 'a53db899-3b4b-4a62-a067-8dd013beaca4',
    });
    assert.equal(e.oci_registry.instance_id, 'a53db899-3b4b-4a62-a067-8dd013beaca4');
  });

  test('02 v3 pull by digest: no tag, authenticated, 8-digit fraction kept', () => {
    const [e] = body('02-dist-notif-v3-pull-manifest-by-digest.json', V2);
    assert.ok(e);
    assert.equal(e['@timestamp'], '2025-08-20T09:14:03.51840233Z');
    assert.equal(e.oci_registry.original_timestamp, undefined);
    assert.equal(e.oci_registry.source_format, 'notification-v2');
    assert.equal(e.event.action, 'manifest-pull');
    assert.equal(e.oci_registry.image_pull, true);
    assert.equal(e.user?.name, 'user-a');
    assert.deepEqual(e.oci_registry.actor, { kind: 'user', anonymous: false });
    assert.equal(e.oci_registry.tag, undefined);
    assert.equal(e.container?.image?.tag, undefined);
    assert.equal(e.oci_registry.namespace, 'team-a');
    assert.equal(e.oci_registry.repository, 'team-a/platform/api');
    assert.deepEqual(e.source, { address: '198.51.100.23:53112', ip: '198.51.100.23', port: 53112 });
    assert.equal(e.oci_registry.client_family, 'containerd');
  });

  test('03 HEAD by tag is manifest-head of an index, never a pull', () => {
    const [e] = body('03-dist-notif-v3-head-manifest-by-tag.json', V2);
    assert.ok(e);
    assert.equal(e.event.action, 'manifest-head');
    assert.equal(e.oci_registry.image_pull, false);
    assert.equal(e.oci_registry.head, true);
    assert.equal(e.oci_registry.object_kind, 'index');
    assert.equal(e.oci_registry.tag, '1.4.2');
    assert.equal(e['@timestamp'], '2025-08-20T09:14:03.497Z');
    assert.equal(
      e.user_agent?.original,
      'docker/24.0.7 go/go1.20.10 git-commit/311b9ff kernel/6.5.0-1015-azure os/linux arch/amd64 UpstreamClient(Docker-Client/24.0.7 \\(linux\\))',
    );
    assert.equal(e.user_agent?.name, 'docker');
    assert.equal(e.user_agent?.version, '24.0.7');
  });

  test('04 HEAD blob, +08:00, addr without port (XFF claim)', () => {
    const [e] = body('04-dist-notif-v2x-head-blob-pull.json');
    assert.ok(e);
    assert.equal(e['@timestamp'], '2016-04-11T08:27:00.558433843Z');
    assert.equal(e.event.action, 'blob-head');
    assert.equal(e.oci_registry.object_kind, 'blob');
    assert.equal(e.oci_registry.image_pull, false);
    assert.equal(e.oci_registry.size, 224153958);
    assert.equal(e.http?.response, undefined);
    assert.deepEqual(e.source, { address: '198.51.100.158', ip: '198.51.100.158' });
    assert.deepEqual(e.oci_registry.forwarded_for, ['198.51.100.158']);
    assert.equal(e.container?.image?.hash, undefined);
  });

  test('05 anonymous blob push with docker-for-mac UA', () => {
    const [e] = body('05-dist-notif-v2x-blob-push-anonymous.json');
    assert.ok(e);
    assert.equal(e.event.action, 'blob-push');
    assert.deepEqual(e.event.type, ['creation']);
    assert.equal(e.oci_registry.actor.anonymous, true);
    assert.equal(e.user, undefined);
    assert.equal(e.oci_registry.size, 4933978);
    assert.equal(e.oci_registry.media_type, 'application/octet-stream');
    assert.equal(e.oci_registry.repository, 'pixy');
    assert.equal(e['@timestamp'], '2018-08-14T15:30:44.588042658Z');
    assert.equal(e.url?.domain, 'localhost');
    assert.equal(e.oci_registry.client_family, 'docker');
    assert.equal(e.user_agent?.version, '17.12.1-ce');
  });

  test('06 push sequence: 3 blob pushes + tagged manifest push with references', () => {
    const r = stream('06-dist-notif-v3-push-sequence.ndjson');
    const evs = events(r);
    assert.equal(r.length, 4);
    assert.deepEqual(
      evs.map((e) => e.event.action),
      ['blob-push', 'blob-push', 'blob-push', 'manifest-push'],
    );
    assert.deepEqual(
      evs.map((e) => e.oci_registry.size),
      [3623807, 18874421, 1473, 1024],
    );
    assert.deepEqual(
      evs.map((e) => e['@timestamp']),
      [
        '2025-08-20T10:02:11.904512Z',
        '2025-08-20T10:02:14.33106011Z',
        '2025-08-20T10:02:14.520Z',
        '2025-08-20T10:02:14.700318417Z',
      ],
    );
    const m = evs[3];
    assert.ok(m);
    assert.equal(m.oci_registry.tag, '1.4.2');
    assert.equal(m.oci_registry.references?.length, 3);
    assert.deepEqual(m.oci_registry.references?.[0], {
      digest: 'sha256:28cf9afa73d592339ba0f7c400a809d98bdac9c52fe4ea3edcf1a1ea1d833a5c',
      media_type: 'application/vnd.oci.image.config.v1+json',
      size: 1473,
    });
    assert.equal(pulls(evs), 0);
    assert.ok(
      evs.every(
        (e) => e.user?.name === 'ci-deployer' && e.source?.ip === '203.0.113.40' && e.source.port === undefined,
      ),
    );
  });

  test('07 cross-repo mount with fromRepository, nested names', () => {
    const [e] = body('07-dist-notif-v3-cross-repo-mount.json', V2);
    assert.ok(e);
    assert.equal(e.event.action, 'blob-mount');
    assert.equal(e.oci_registry.from_repository, 'team-a/base/python');
    assert.equal(e.oci_registry.repository, 'team-b/service/worker');
    assert.equal(e.oci_registry.namespace, 'team-b');
    assert.equal(e.http?.request?.method, 'POST');
    assert.equal(e.oci_registry.size, 29126484);
  });

  test('08 delete fan-out: manifest-delete + two tag-deletes, v3 zero values treated as absent', () => {
    const evs = events(stream('08-dist-notif-v3-delete-manifest-fanout.ndjson'));
    assert.deepEqual(
      evs.map((e) => [e.event.action, e.oci_registry.tag, e.oci_registry.digest]),
      [
        ['manifest-delete', undefined, 'sha256:2a33732ca5af90cc8b3e1b597d02d0e2dca9c12ddb54b600c5cee7c650742db4'],
        ['tag-delete', '1.3.0', undefined],
        ['tag-delete', 'stable', undefined],
      ],
    );
    for (const e of evs) {
      assert.equal(e.oci_registry.media_type, undefined);
      assert.equal(e.oci_registry.size, undefined);
      assert.deepEqual(e.event.type, ['deletion']);
      assert.equal(e.http?.request?.id, '0198f3f0-1000-7d00-a000-000000000301');
      assert.equal(e.user?.name, 'release-admin');
    }
    assert.equal(evs[1]?.oci_registry.object_kind, 'tag');
  });

  test('09 multi-arch pull by one client counts exactly one image pull', () => {
    const evs = events(stream('09-dist-notif-v3-multiarch-pull-one-client.ndjson'));
    assert.deepEqual(
      evs.map((e) => [e.event.action, e.oci_registry.object_kind, e.oci_registry.image_pull]),
      [
        ['manifest-head', 'index', false],
        ['manifest-pull', 'index', true],
        ['manifest-pull', 'manifest', false],
        ['blob-pull', 'blob', false],
        ['blob-pull', 'blob', false],
        ['blob-pull', 'blob', false],
      ],
    );
    assert.equal(pulls(evs), 1);
    assert.deepEqual(evs[0]?.source, { address: '[2001:db8:10::25]:51544', ip: '2001:db8:10::25', port: 51544 });
    assert.deepEqual(evs[1]?.oci_registry.references?.[1], {
      digest: 'sha256:d910bdeef0e86654dc9e3a561af30ceb47eb3b3393e27158af398fb7ebae9b86',
      media_type: 'application/vnd.oci.image.manifest.v1+json',
      size: 1618,
      platform: { os: 'linux', architecture: 'arm64' },
    });
    assert.equal(evs[5]?.['@timestamp'], '2025-08-20T11:00:05.4410007Z');
  });

  test('10 envelope with three events: all mapped, placeholder addresses kept as address only', () => {
    const evs = body('10-dist-notif-multi-event-envelope-test-fixture.json');
    assert.deepEqual(
      evs.map((e) => e.event.id),
      ['asdf-asdf-asdf-asdf-0', 'asdf-asdf-asdf-asdf-1', 'asdf-asdf-asdf-asdf-2'],
    );
    assert.deepEqual(
      evs.map((e) => e.oci_registry.size),
      [1, 2, 3],
    );
    for (const e of evs) {
      assert.equal(e['@timestamp'], '2006-01-02T15:04:05.000Z');
      assert.deepEqual(e.source, { address: 'client.local' });
      assert.equal(e.service?.node?.name, 'hostname.local:port');
      assert.equal(e.service?.ephemeral_id, undefined);
      assert.equal(e.event.action, 'manifest-push');
    }
  });

  test('11 duplicate delivery: same id → one event, the copy is dropped by the stream form', () => {
    const r = stream('11-dist-notif-v3-duplicate-delivery.ndjson');
    const evs = events(r);
    assert.equal(evs.length, 1);
    assert.equal(pulls(evs), 1);
    assert.equal(evs[0]?.event.id, '0198f410-3c3c-7d4d-8e5e-6f7f8091a2b3');
    assert.deepEqual(r[1], {
      kind: 'ignored',
      reason: 'duplicate delivery of event 0198f410-3c3c-7d4d-8e5e-6f7f8091a2b3',
    });
    assert.equal(evs[0]?.oci_registry.client_family, 'cri-o');
    assert.equal(evs[0]?.oci_registry.actor.kind, 'robot');
  });

  test('12 multi-instance behind a LB: per-node ids, three address forms', () => {
    const evs = events(stream('12-dist-notif-v3-multi-instance-lb.ndjson'));
    assert.deepEqual(
      evs.map((e) => [e.service?.node?.name, e.service?.ephemeral_id]),
      [
        ['registry-0:5000', '0198f3c2-5a10-7c4e-9d21-6b0e3f7a1c01'],
        ['registry-1:5000', '0198f3c2-5b77-7a08-8e3d-2f61c0d9b4a2'],
        ['registry-1:5000', '0198f425-0a00-7e55-9a3b-7c2d1e0f9a88'],
      ],
    );
    assert.deepEqual(
      evs.map((e) => e.source),
      [
        { address: '[2001:db8:10::25]:51544', ip: '2001:db8:10::25', port: 51544 },
        { address: '203.0.113.50', ip: '203.0.113.50' },
        { address: '2001:db8:44::9', ip: '2001:db8:44::9' },
      ],
    );
    assert.equal(pulls(evs), 3);
    assert.equal(evs[1]?.['@timestamp'], '2025-08-20T11:29:59.9987Z');
  });
});

describe('notification envelope robustness', () => {
  test('one bad event in an envelope → good events + one rejected (re-serialized original)', () => {
    const good = JSON.parse(read('02-dist-notif-v3-pull-manifest-by-digest.json')) as { events: unknown[] };
    const bad = { id: 'bad-1', action: 'pull', target: { size: 'huge' } };
    const unknownAction = { id: 'x-1', timestamp: '2025-08-20T09:14:03Z', action: 'untag', target: {} };
    const r = normalizePayload(
      JSON.stringify({ events: [good.events[0], bad, unknownAction] }, null, 3),
      'notification',
      V2,
    );
    assert.equal(r.length, 3);
    assert.equal(r[0]?.kind, 'event');
    assert.equal(r[1]?.kind, 'rejected');
    if (r[1]?.kind === 'rejected') {
      assert.equal(r[1].reason, 'schema_mismatch');
      assert.match(r[1].detail, /^target\.size:/);
      assert.deepEqual(JSON.parse(r[1].original), bad);
    }
    assert.equal(r[2]?.kind === 'rejected' && r[2].reason, 'unsupported_event');
  });
  test('C16-style actor null and mount without size map cleanly', () => {
    const ev = {
      id: 'm-1',
      timestamp: '2020-01-01T00:00:00Z',
      action: 'mount',
      target: {
        repository: 'team-r/api',
        fromRepository: 'team-r/base',
        digest: 'sha256:aa',
        mediaType: 'application/octet-stream',
      },
      request: { method: 'POST' },
      actor: null,
    };
    const [r] = normalizePayload(JSON.stringify({ events: [ev] }), 'notification');
    assert.ok(r?.kind === 'event');
    assert.equal(r.event.event.action, 'blob-mount');
    assert.equal(r.event.user, undefined);
    assert.equal(r.event.oci_registry.actor.anonymous, true);
    assert.equal(r.event.oci_registry.size, undefined);
  });
  test('missing timestamp uses receivedAt; without it the event is rejected', () => {
    const ev = {
      id: 'n-1',
      action: 'pull',
      target: { repository: 'a', mediaType: 'application/vnd.oci.image.manifest.v1+json' },
    };
    const [a] = normalizePayload(JSON.stringify({ events: [ev] }), 'notification', {
      receivedAt: '2025-01-01T00:00:00Z',
    });
    assert.equal(a?.kind === 'event' && a.event['@timestamp'], '2025-01-01T00:00:00.000Z');
    const [b] = normalizePayload(JSON.stringify({ events: [ev] }), 'notification');
    assert.equal(b?.kind === 'rejected' && b.reason, 'invalid_timestamp');
  });
  test('an empty envelope yields no results; a non-envelope is unknown_format; bad JSON is not_json', () => {
    assert.deepEqual(normalizePayload('{"events":[]}', 'notification'), []);
    assert.equal(normalizePayload('{"hello":1}', 'notification')[0]?.kind === 'rejected' && true, true);
    const [r] = normalizePayload('{"events":[{"id":', 'notification');
    assert.equal(r?.kind === 'rejected' && r.reason, 'not_json');
  });
  test('keepOriginal and context fields are applied', () => {
    const [e] = events(
      normalizePayload(read('02-dist-notif-v3-pull-manifest-by-digest.json'), 'notification', {
        ...V2,
        keepOriginal: true,
        receivedAt: '2025-08-20T09:14:04Z',
      }),
    );
    assert.equal(e?.event.created, '2025-08-20T09:14:04Z');
    assert.equal(JSON.parse(e?.event.original ?? '{}').id, '0198f3d0-1a2b-7c3d-8e4f-5a6b7c8d9e01');
  });
  test('every notification event in the corpus satisfies the zod contract', () => {
    for (const f of [
      '01-dist-notif-v2x-pull-manifest-by-tag.json',
      '04-dist-notif-v2x-head-blob-pull.json',
      '10-dist-notif-multi-event-envelope-test-fixture.json',
    ]) {
      for (const e of (JSON.parse(read(f)) as { events: unknown[] }).events)
        assert.equal(NotificationEventSchema.safeParse(e).success, true, f);
    }
    for (const f of [
      '06-dist-notif-v3-push-sequence.ndjson',
      '08-dist-notif-v3-delete-manifest-fanout.ndjson',
      '09-dist-notif-v3-multiarch-pull-one-client.ndjson',
    ]) {
      for (const line of read(f).split('\n').filter(Boolean)) {
        for (const e of (JSON.parse(line) as { events: unknown[] }).events)
          assert.equal(NotificationEventSchema.safeParse(e).success, true, f);
      }
    }
  });
});
