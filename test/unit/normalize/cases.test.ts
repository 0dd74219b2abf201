import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { RegistryEvent } from '../../../shared/src/model/registry-event.ts';
import type { NormalizeResult } from '../../../shared/src/normalize/types.ts';
import { createNormalizer, normalizeLine, normalizePayload } from '../../../shared/src/normalize/index.ts';
import { resolveClientAddress } from '../../../shared/src/normalize/common/address.ts';

const dir = new URL('../../fixtures/cases/inputs/', import.meta.url);
const read = (name: string): string => readFileSync(new URL(name, dir), 'utf8');
const logLines = (name: string): string[] =>
  read(name)
    .split('\n')
    .filter((l) => l.length > 0 && !l.startsWith('#'));
function events(rs: NormalizeResult[]): RegistryEvent[] {
  assert.ok(
    rs.every((r) => r.kind === 'event'),
    JSON.stringify(rs.filter((r) => r.kind !== 'event')),
  );
  return rs.flatMap((r) => (r.kind === 'event' ? [r.event] : []));
}
function stream(name: string): RegistryEvent[] {
  const n = createNormalizer();
  return events([...logLines(name).flatMap((l) => n.push(l)), ...n.flush()]);
}

describe('shared cases (CASES.md)', () => {
  test('C01 local offset + ns timestamp; blob HEAD has no tag and adds no pull/bytes', () => {
    const [e, ...rest] = events(normalizePayload(read('C01.json'), 'notification'));
    assert.equal(rest.length, 0);
    assert.ok(e);
    assert.equal(Date.parse(e['@timestamp']), 1460363220558);
    assert.equal(e['@timestamp'], '2016-04-11T08:27:00.558433843Z');
    assert.equal(e.oci_registry.original_timestamp, '2016-04-11T16:27:00.558433843+08:00');
    assert.equal(e.oci_registry.tag, undefined);
    assert.equal(e.container?.image?.tag, undefined);
    assert.ok(!('tag' in (e.container?.image ?? {})));
    assert.equal(e.event.action, 'blob-head');
    assert.equal(e.oci_registry.image_pull, false);
    assert.equal(e.http?.response?.body?.bytes, undefined);
    assert.equal(e.oci_registry.size, 224153958);
  });

  test('C02 containerd HEAD re-check is not a pull; GET is exactly one; robot name kept verbatim', () => {
    const evs = stream('C02.log');
    assert.deepEqual(
      evs.map((e) => [e.event.action, e.oci_registry.image_pull, e['@timestamp']]),
      [
        ['manifest-head', false, '2025-05-21T09:00:00.101234567Z'],
        ['manifest-pull', true, '2025-05-21T09:00:05.400000001Z'],
      ],
    );
    const pulls = evs.filter(
      (e) =>
        e.oci_registry.image_pull &&
        e.user?.name === 'robot$k8s-nodes' &&
        e.oci_registry.repository === 'pull_tester/pull_tester' &&
        e.oci_registry.tag === '1',
    );
    assert.equal(pulls.length, 1);
    assert.equal(evs.filter((e) => e.event.action === 'manifest-head').length, 1);
    // Both lines touch the artifact; last access is the GET time.
    assert.equal(
      evs
        .map((e) => e['@timestamp'])
        .sort()
        .at(-1),
      '2025-05-21T09:00:05.400000001Z',
    );
    for (const e of evs) assert.deepEqual(e.oci_registry.actor, { kind: 'robot', anonymous: false });
  });

  test('C04 one docker push: 1 logical push (tagged manifest), 0 pulls, 8838623 pushed blob bytes', () => {
    const evs = events(normalizePayload(read('C04.json'), 'notification'));
    assert.equal(evs.length, 6);
    const pushes = evs.filter((e) => e.event.action === 'manifest-push' && e.oci_registry.tag !== undefined);
    assert.equal(pushes.length, 1);
    assert.equal(pushes[0]?.oci_registry.repository, 'team-b/web');
    assert.equal(pushes[0]?.oci_registry.tag, 'v1');
    assert.equal(
      pushes[0]?.oci_registry.digest,
      'sha256:1616161616161616161616161616161616161616161616161616161616161616',
    );
    assert.equal(evs.filter((e) => e.oci_registry.image_pull).length, 0);
    assert.equal(evs.filter((e) => e.event.action === 'blob-pull' || e.event.action === 'manifest-pull').length, 0);
    assert.equal(evs.filter((e) => e.event.action === 'blob-head').length, 2);
    const pushed = evs
      .filter((e) => e.event.action === 'blob-push')
      .reduce((s, e) => s + (e.oci_registry.size ?? 0), 0);
    assert.equal(pushed, 8838623);
  });

  test('C07 X-Forwarded-For: the log keeps the claim; the trusted-proxy walk picks the real client', () => {
    const c = JSON.parse(read('C07.json')) as {
      trusted_proxies: string[];
      requests: { n: number; tcp_peer: string; x_forwarded_for: string | null; registry_log: string }[];
    };
    const expected = [
      { ip: '203.0.113.7', trust: 'forwarded' },
      { ip: '198.51.100.23', claimedIp: '192.0.2.99', trust: 'forwarded' },
      { ip: '10.1.2.3', port: 51514, trust: 'peer' },
      { ip: '198.51.100.77', port: 60001, trust: 'peer' },
    ];
    const logged = [
      { address: '203.0.113.7', ip: '203.0.113.7' },
      { address: '192.0.2.99', ip: '192.0.2.99' },
      { address: '10.1.2.3:51514', ip: '10.1.2.3', port: 51514 },
      { address: '10.0.0.5', ip: '10.0.0.5' },
    ];
    c.requests.forEach((r, i) => {
      assert.deepEqual(
        resolveClientAddress(r.tcp_peer, r.x_forwarded_for ?? undefined, c.trusted_proxies),
        expected[i],
      );
      // The registry line has no time: the collector's receive time is used.
      const [res] = normalizeLine(r.registry_log, { receivedAt: '2025-06-01T00:00:00Z' });
      assert.ok(res?.kind === 'event', JSON.stringify(res));
      assert.deepEqual(res.event.source, logged[i]);
      // A port-less remote address is a client-controlled claim: recorded as the forwarded chain.
      assert.deepEqual(
        res.event.oci_registry.forwarded_for,
        logged[i]?.port === undefined ? [logged[i]?.address] : undefined,
      );
      // Only the registry log is available here: a port-less address is marked as a claim.
      assert.equal(res.event.oci_registry.ip_trust, logged[i]?.port === undefined ? 'claimed' : 'peer');
    });
    const [failed] = normalizeLine(c.requests[1]?.registry_log ?? '', { receivedAt: '2025-06-01T00:00:00Z' });
    assert.equal(failed?.kind === 'event' && failed.event.event.action, 'login-failure');
  });

  test('C08 IPv6 / IPv4-mapped remote addresses are split correctly', () => {
    const evs = stream('C08.log');
    assert.deepEqual(
      evs.map((e) => [e.source?.ip, e.source?.port]),
      [
        ['2001:db8::5', 51133],
        ['2001:db8::5', undefined],
        ['192.0.2.10', undefined],
        ['192.0.2.10', 443],
        ['2001:db8::7', 40000],
      ],
    );
    const distinct = (user: string): number =>
      new Set(evs.filter((e) => e.user?.name === user).map((e) => e.source?.ip)).size;
    assert.equal(distinct('user-h'), 1);
    assert.equal(distinct('user-i'), 1);
  });

  test('C10 Go durations → ns, bytes = sum of written, HEAD adds 0 bytes', () => {
    const evs = stream('C10.log');
    assert.deepEqual(
      evs.map((e) => (e.event.duration ?? 0) / 1e6),
      [111900.179248, 140799.846616, 0.0412, 3.731842],
    );
    assert.deepEqual(
      evs.map((e) => e.event.duration),
      [111900179248, 140799846616, 41200, 3731842],
    );
    const blobBytes = evs
      .filter((e) => e.event.action === 'blob-pull')
      .reduce((s, e) => s + (e.http?.response?.body?.bytes ?? 0), 0);
    assert.equal(blobBytes, 19932508);
    const head = evs.find((e) => e.event.action === 'manifest-head');
    assert.equal(head?.http?.response?.body?.bytes, 0);
    assert.ok(evs.every((e) => typeof e.event.duration === 'number'));
    // Second GET wrote less than the blob (14770572 per the manifest): it is visible as a short write.
    assert.ok((evs[1]?.http?.response?.body?.bytes ?? 0) < 14770572);
  });

  test('C11 HEAD 404 blob unknown during a push: a miss, not an error; one blob push by user-n', () => {
    const evs = stream('C11.log');
    assert.deepEqual(
      evs.map((e) => e.event.action),
      ['blob-head', 'upload', 'blob-push'],
    );
    const head = evs[0];
    assert.ok(head);
    assert.equal(head.http?.response?.status_code, 404);
    assert.equal(head.oci_registry.error?.code, 'BLOB_UNKNOWN');
    assert.ok(!head.event.type.includes('error'));
    assert.ok(!head.event.type.includes('denied'));
    assert.equal(head.oci_registry.image_pull, false);
    assert.equal(evs.filter((e) => e.event.type.includes('error')).length, 0);
    const pushes = evs.filter((e) => e.event.action === 'blob-push' && e.user?.name === 'user-n');
    assert.equal(pushes.length, 1);
    assert.equal(
      pushes[0]?.oci_registry.digest,
      'sha256:4949494949494949494949494949494949494949494949494949494949494949',
    );
    assert.equal(pushes[0]?.event.duration, 1200000000);
  });

  test('C12 JSON app line, combined line and JSON access line with Apache time all parse', () => {
    const rs = logLines('C12.log').map((l) => normalizeLine(l));
    const evs = events(rs.flat());
    assert.equal(evs.length, 3);
    assert.deepEqual(
      evs.map((e) => [e.event.dataset, e.event.action, e.http?.response?.status_code, e.http?.response?.body?.bytes]),
      [
        ['oci_registry.log', 'catalog', 200, 24],
        ['oci_registry.access', 'catalog', 200, 24],
        ['oci_registry.access', 'catalog', 200, 24],
      ],
    );
    assert.deepEqual(
      evs.map((e) => Date.parse(e['@timestamp'])),
      [
        Date.parse('2023-12-27T09:43:27.511Z'),
        Date.parse('2023-12-27T09:43:27.000Z'),
        Date.parse('2023-12-27T09:43:27.000Z'),
      ],
    );
    assert.equal(evs[0]?.['@timestamp'], '2023-12-27T09:43:27.511203Z');
    assert.equal(evs[2]?.oci_registry.original_timestamp, '27/Dec/2023:10:43:27 +0100');
    assert.equal(evs[0]?.event.duration, 1420000);
    // Enumeration counted from one dataset counts the request once.
    assert.equal(evs.filter((e) => e.event.dataset === 'oci_registry.log' && e.event.action === 'catalog').length, 1);
  });
});
