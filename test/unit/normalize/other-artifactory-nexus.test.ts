import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { RegistryEvent } from '../../../shared/src/model/registry-event.ts';
import type { NormalizeResult } from '../../../shared/src/normalize/types.ts';
import { artifactoryRequestSource } from '../../../shared/src/normalize/other/artifactory-request.ts';
import {
  artifactoryAccessSource,
  parseDockerStoragePath,
} from '../../../shared/src/normalize/other/artifactory-access.ts';
import { nexusRequestSource } from '../../../shared/src/normalize/other/nexus-request.ts';
import { stableId } from '../../../shared/src/normalize/common/hash.ts';

const SAMPLES = new URL('../../fixtures/registry-samples/', import.meta.url);
const lines = (name: string) =>
  readFileSync(new URL(name, SAMPLES), 'utf8')
    .split('\n')
    .filter((l) => l.length > 0);

function ev(r: NormalizeResult | undefined): RegistryEvent {
  assert.equal(r?.kind, 'event', JSON.stringify(r));
  return (r as { event: RegistryEvent }).event;
}

const DOCKER_UA =
  'docker/24.0.7 go/go1.20.10 git-commit/311b9ff kernel/6.5.0-1015-azure os/linux arch/amd64 UpstreamClient(Docker-Client/24.0.7 \\(linux\\))';
const LAYER = 'sha256:20172d76dc2521f18a26704e1f935a8fdf048abbc7c08d87141d3854f2fb48d6';

describe('Artifactory request log (sample 39)', () => {
  const ls = lines('39-artifactory-request.log');
  const out = ls.map((l) => {
    assert.ok(artifactoryRequestSource.matches(l), l);
    const r = artifactoryRequestSource.normalize(l, { origin: '/var/log/artifactory-request.log', offset: 0 });
    assert.equal(r.length, 1);
    return r[0];
  });

  test('line 1 (non-Docker API call) is ignored, not rejected', () => {
    assert.equal(out[0]?.kind, 'ignored');
  });

  test('line 2: HEAD manifest by user-a — full event', () => {
    assert.deepEqual(ev(out[1]), {
      '@timestamp': '2025-08-20T12:10:01.117Z',
      event: {
        kind: 'event',
        category: ['web'],
        type: ['access'],
        action: 'manifest-head',
        outcome: 'success',
        id: '7c2f9e4a0b1d3e58@2025-08-20T12:10:01.117Z',
        dataset: 'artifactory.request',
        duration: 12_000_000,
      },
      user: { name: 'user-a' },
      source: { address: '198.51.100.23', ip: '198.51.100.23' },
      user_agent: { original: DOCKER_UA },
      http: {
        request: { id: '7c2f9e4a0b1d3e58', method: 'HEAD' },
        response: { status_code: 200, body: { bytes: 0 } },
      },
      url: {
        path: '/api/docker/docker-local/v2/team-a/app/manifests/1.4.2',
        original: 'api/docker/docker-local/v2/team-a/app/manifests/1.4.2',
      },
      log: { file: { path: '/var/log/artifactory-request.log' }, offset: 0 },
      container: { image: { name: 'team-a/app', tag: ['1.4.2'] } },
      service: { type: 'artifactory' },
      oci_registry: {
        image_pull: false,
        actor: { kind: 'user', anonymous: false },
        source_format: 'artifactory-request',
        repository: 'team-a/app',
        namespace: 'team-a',
        tag: '1.4.2',
        object_kind: 'manifest',
        head: true,
        client_family: 'docker',
      },
    });
  });

  test('line 3: blob GET — bytes sent, ms → ns, digest', () => {
    const e = ev(out[2]);
    assert.equal(e.event.action, 'blob-pull');
    assert.equal(e.http?.response?.body?.bytes, 3623807);
    assert.equal(e.event.duration, 2_811_000_000);
    assert.equal(e.oci_registry.digest, LAYER);
    assert.equal(e.oci_registry.object_kind, 'blob');
  });

  test('line 4: anonymous 401 from IPv6 on a remote repo → auth-challenge, Content-Length -1 kept absent', () => {
    const e = ev(out[3]);
    assert.equal(e.event.action, 'auth-challenge');
    assert.equal(e.event.outcome, 'failure');
    assert.equal(e.user, undefined);
    assert.equal(e.oci_registry.actor.anonymous, true);
    assert.equal(e.source?.ip, '2001:db8:44::9');
    assert.equal(e.oci_registry.repository, 'library/nginx');
    assert.equal(e.oci_registry.tag, '1.27');
    assert.equal(e.http?.response?.status_code, 401);
  });

  test('a `|` inside the user agent stays in the user agent (split limit 11)', () => {
    const l = (ls[3] ?? '').replace('containerd/v1.7.13', 'weird|agent|1.0');
    assert.equal(ev(artifactoryRequestSource.normalize(l, {})[0]).user_agent?.original, 'weird|agent|1.0');
  });

  test('too few fields / bad status are typed rejections', () => {
    const r1 = artifactoryRequestSource.normalize('2025-08-20T12:10:01.117Z|abc|1.2.3.4|u|GET', {})[0];
    assert.equal(r1?.kind === 'rejected' && r1.reason, 'schema_mismatch');
    const r2 = artifactoryRequestSource.normalize((ls[1] ?? '').replace('|200|', '|OK|'), {})[0];
    assert.equal(r2?.kind === 'rejected' && r2.reason, 'schema_mismatch');
  });
});

describe('Artifactory access log (sample 40)', () => {
  const ls = lines('40-artifactory-access.log');
  const out = ls.map((l) => {
    assert.ok(artifactoryAccessSource.matches(l), l);
    return artifactoryAccessSource.normalize(l, {})[0];
  });

  test('line 1 (Maven jar in a cache repo) is ignored', () => {
    assert.equal(out[0]?.kind, 'ignored');
  });

  test('line 2: ACCEPTED DOWNLOAD of a layer → blob-pull with the trace id', () => {
    const e = ev(out[1]);
    assert.equal(e['@timestamp'], '2025-08-20T12:10:03.951Z');
    assert.equal(e.event.action, 'blob-pull');
    assert.equal(e.event.outcome, 'success');
    assert.equal(e.event.dataset, 'artifactory.access');
    assert.equal(e.http?.request?.id, '7c2f9e4a0b1d3e59');
    assert.equal(e.user?.name, 'user-a');
    assert.equal(e.source?.ip, '198.51.100.23');
    assert.equal(e.oci_registry.repository, 'team-a/app');
    assert.equal(e.oci_registry.digest, LAYER);
    assert.equal(
      e.event.id,
      stableId(
        '7c2f9e4a0b1d3e59',
        '2025-08-20 12:10:03,951',
        'ACCEPTED',
        'DOWNLOAD',
        `docker-local:team-a/app/sha256__${LAYER.slice(7)}`,
        'user-a',
        '198.51.100.23',
      ),
    );
  });

  test('line 3: DENIED DOWNLOAD of a manifest list by anonymous IPv6 → access-denied', () => {
    const e = ev(out[2]);
    assert.equal(e.event.action, 'access-denied');
    assert.equal(e.event.outcome, 'failure');
    assert.deepEqual(e.event.type, ['access', 'denied']);
    assert.equal(e.oci_registry.actor.anonymous, true);
    assert.equal(e.source?.ip, '2001:db8:44::9');
    assert.equal(e.oci_registry.repository, 'library/nginx');
    assert.equal(e.oci_registry.tag, '1.27');
    assert.equal(e.oci_registry.object_kind, 'index');
  });

  test('storage path classification', () => {
    assert.deepEqual(parseDockerStoragePath('team-a/app/1.0/manifest.json'), {
      objectKind: 'manifest',
      repository: 'team-a/app',
      tag: '1.0',
    });
    assert.equal(parseDockerStoragePath('org/x/1.0/x.jar'), undefined);
    assert.equal(parseDockerStoragePath(''), undefined);
  });
});

describe('Nexus request log (sample 41, both logback patterns)', () => {
  const ls = lines('41-nexus-request.log');
  const out = ls.map((l) => {
    assert.ok(nexusRequestSource.matches(l), l);
    return ev(nexusRequestSource.normalize(l, { origin: 'request.log', offset: 7 })[0]);
  });

  test('older pattern: HEAD manifest by user-a, request length "-"', () => {
    const e = out[0];
    assert.ok(e);
    assert.equal(e['@timestamp'], '2025-08-20T12:20:01.000Z');
    assert.equal(e.event.action, 'manifest-head');
    assert.equal(e.oci_registry.head, true);
    assert.equal(e.user?.name, 'user-a');
    assert.equal(e.event.duration, 14_000_000);
    assert.equal(e.http?.response?.body?.bytes, 0);
    assert.equal(e.http?.version, '1.1');
    assert.equal(e.user_agent?.original, DOCKER_UA);
    assert.equal(e.event.id, stableId(ls[0], 'request.log', 7));
    assert.equal(e.event.dataset, 'nexus.request');
  });

  test('older pattern: blob GET bytes and duration', () => {
    const e = out[1];
    assert.equal(e?.event.action, 'blob-pull');
    assert.equal(e?.http?.response?.body?.bytes, 3623807);
    assert.equal(e?.event.duration, 2_210_000_000);
  });

  test('newer pattern with [thread]: upload PUT ?digest= → blob-push', () => {
    const e = out[2];
    assert.equal(e?.event.action, 'blob-push');
    assert.equal(e?.user?.name, 'ci-deployer');
    assert.equal(e?.oci_registry.digest, 'sha256:180c29407e5255e90cdc14a7174decf328d3eeadde8dac10b8634a74af499c2e');
    assert.equal(e?.oci_registry.upload_id, '5f0c1e2d-3b4a-4c5d-8e9f-0a1b2c3d4e5f');
    assert.equal(e?.http?.response?.status_code, 201);
    assert.equal(e?.oci_registry.client_family, 'buildkit');
  });

  test('newer pattern: anonymous 401 on tags list → auth-challenge', () => {
    const e = out[3];
    assert.equal(e?.event.action, 'auth-challenge');
    assert.equal(e?.user, undefined);
    assert.equal(e?.oci_registry.actor.anonymous, true);
    assert.equal(e?.oci_registry.repository, 'team-a/app');
    assert.equal(e?.http?.response?.body?.bytes, 113);
  });

  test('/repository/<name>/v2/ prefix is understood; non-Docker paths are ignored', () => {
    const l = (ls[0] ?? '').replace('"HEAD /v2/', '"GET /repository/docker-hosted/v2/');
    const e = ev(nexusRequestSource.normalize(l, {})[0]);
    assert.equal(e.event.action, 'manifest-pull');
    assert.equal(e.oci_registry.image_pull, true);
    assert.equal(e.oci_registry.repository, 'team-a/app');
    const maven = (ls[0] ?? '').replace('/v2/team-a/app/manifests/1.4.2', '/repository/maven-central/x.jar');
    assert.equal(nexusRequestSource.normalize(maven, {})[0]?.kind, 'ignored');
  });
});
