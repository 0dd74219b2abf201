import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { RegistryEvent } from '../../../shared/src/model/registry-event.ts';
import { EVENT_ACTIONS, EVENT_DATASETS } from '../../../shared/src/model/registry-event.ts';
import type { NormalizeContext, NormalizeResult } from '../../../shared/src/normalize/types.ts';
import { harborDefaultSource } from '../../../shared/src/normalize/harbor/webhook-default.ts';
import { harborCloudEventsSource } from '../../../shared/src/normalize/harbor/webhook-cloudevents.ts';
import { stableId } from '../../../shared/src/normalize/common/hash.ts';

const SAMPLES = new URL('../../fixtures/registry-samples/', import.meta.url);
const CASES = new URL('../../fixtures/cases/inputs/', import.meta.url);

function load(name: string): { obj: Record<string, unknown>; raw: string } {
  const raw = readFileSync(new URL(name, SAMPLES), 'utf8');
  return { obj: JSON.parse(raw) as Record<string, unknown>, raw };
}

function events(results: NormalizeResult[]): RegistryEvent[] {
  return results.map((r) => {
    assert.equal(r.kind, 'event', JSON.stringify(r));
    return (r as { event: RegistryEvent }).event;
  });
}

function one(name: string, ctx: NormalizeContext = {}): RegistryEvent {
  const { obj, raw } = load(name);
  const src = harborDefaultSource.matches(obj) ? harborDefaultSource : harborCloudEventsSource;
  assert.ok(src.matches(obj), `${name} matched by its source`);
  const evs = events(src.normalize(obj, raw, ctx));
  assert.equal(evs.length, 1);
  const e = evs[0];
  assert.ok(e);
  // Contract: vocabulary and dataset, no empty strings anywhere.
  assert.ok((EVENT_ACTIONS as readonly string[]).includes(e.event.action));
  assert.ok((EVENT_DATASETS as readonly string[]).includes(e.event.dataset));
  assert.ok(!JSON.stringify(e).includes('""'), 'no empty strings');
  return e;
}

const D26 = 'sha256:00c2b4d6e8f0a1b3c5d7e9f1a3b5c7d9e1f3a5b7c9d1e3f5a7b9c1d3e5f7a9b1';
const D27 = 'sha256:4965673a9e1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5';
const D28 = 'sha256:dde8e930c7b6a490f728e66292bc9bce42efc9bbb5278bae40e4f30f6e00fe8c';
const D30 = 'sha256:e8a1dd13e16daec4f52558870d10ab183b5eebbb9f8134ed4d4b4df21c341b0e';

describe('harbor Default webhook (samples 26–28b, 30–33)', () => {
  test('26: push by an OIDC user with a tag — full event', () => {
    const e = one('26-harbor-webhook-push-artifact-user.json');
    assert.deepEqual(e, {
      '@timestamp': '2024-09-17T10:19:51.000Z',
      event: {
        kind: 'event',
        category: ['web'],
        type: ['creation'],
        action: 'manifest-push',
        outcome: 'success',
        id: stableId('PUSH_ARTIFACT', 1726568391, 'user-a@example.com', 'team-a/app', D26, 'latest'),
        dataset: 'harbor.webhook',
      },
      user: { name: 'user-a@example.com' },
      url: { domain: 'harbor.example.com' },
      container: { image: { name: 'team-a/app', tag: ['latest'], hash: { all: [D26] } } },
      service: { type: 'harbor' },
      oci_registry: {
        image_pull: false,
        actor: { kind: 'user', anonymous: false },
        source_format: 'harbor-default',
        repository: 'team-a/app',
        namespace: 'team-a',
        digest: D26,
        tag: 'latest',
        object_kind: 'manifest',
        repo_visibility: 'private',
        request_host: 'harbor.example.com',
      },
    });
  });

  test('27: robot push where tag == digest → robot actor, no tag anywhere (C06 rule)', () => {
    const e = one('27-harbor-webhook-push-artifact-robot-tag-is-digest.json');
    assert.equal(e['@timestamp'], '2024-09-17T11:44:33.000Z');
    assert.equal(e.event.action, 'manifest-push');
    assert.equal(e.user?.name, 'robot$team-a+ci-pusher');
    assert.deepEqual(e.oci_registry.actor, { kind: 'robot', anonymous: false });
    assert.equal(e.oci_registry.tag, undefined);
    assert.equal(e.container?.image?.tag, undefined);
    assert.equal(e.oci_registry.digest, D27);
    assert.deepEqual(e.container?.image?.hash?.all, [D27]);
    assert.equal(e.oci_registry.repository, 'team-a/app');
    assert.equal(e.event.id, stableId('PUSH_ARTIFACT', 1726573473, 'robot$team-a+ci-pusher', 'team-a/app', D27, D27));
  });

  test('28: pull by digest (pretty-printed body) is one image pull without a tag', () => {
    const e = one('28-harbor-webhook-pull-artifact-default.json');
    assert.equal(e['@timestamp'], '2023-03-06T05:58:23.000Z'); // occur_at 1678082303 (seconds)
    assert.equal(e.event.action, 'manifest-pull');
    assert.deepEqual(e.event.type, ['access']);
    assert.equal(e.oci_registry.image_pull, true);
    assert.equal(e.user?.name, 'admin');
    assert.equal(e.oci_registry.repository, 'library/busybox');
    assert.equal(e.oci_registry.repo_visibility, 'public');
    assert.equal(e.oci_registry.digest, D28);
    assert.equal(e.oci_registry.tag, undefined);
  });

  test('28b: anonymous pull ("operator": "") of a nested repository', () => {
    const e = one('28b-harbor-webhook-pull-artifact-anonymous-nested.json');
    assert.equal(e['@timestamp'], '2025-08-20T10:00:03.000Z');
    assert.equal(e.user, undefined);
    assert.deepEqual(e.oci_registry.actor, { kind: 'anonymous', anonymous: true });
    assert.equal(e.oci_registry.repository, 'library/tools/nginx/edge');
    assert.equal(e.oci_registry.namespace, 'library');
    assert.equal(e.container?.image?.name, 'library/tools/nginx/edge');
    assert.equal(e.oci_registry.tag, '1.27');
    assert.deepEqual(e.container?.image?.tag, ['1.27']);
    assert.equal(e.oci_registry.image_pull, true);
  });

  test('30: quota warning — Details text parsed to bytes and percent', () => {
    const e = one('30-harbor-webhook-quota-warning.json');
    assert.equal(e['@timestamp'], '2025-08-20T12:00:00.000Z');
    assert.equal(e.event.action, 'quota-warning');
    assert.equal(e.event.outcome, 'success');
    assert.equal(e.message, 'quota usage reach 85%: resource storage used 8.6 GiB of 10.0 GiB');
    assert.deepEqual(e.oci_registry.quota, {
      used_bytes: Math.round(8.6 * 1024 ** 3),
      limit_bytes: 10 * 1024 ** 3,
      percent: 85,
    });
    assert.equal(e.oci_registry.quota?.used_bytes, 9234179686);
    assert.equal(e.oci_registry.tag, '2.0.1');
    assert.equal(e.oci_registry.digest, D30);
    assert.equal(e.url, undefined, 'quota resources have no resource_url');
    assert.equal(e.oci_registry.actor.kind, 'robot');
  });

  test('31: quota exceeded — failure, denied, current usage and limit', () => {
    const e = one('31-harbor-webhook-quota-exceed.json');
    assert.equal(e['@timestamp'], '2025-08-20T13:00:00.000Z');
    assert.equal(e.event.action, 'quota-exceeded');
    assert.equal(e.event.outcome, 'failure');
    assert.deepEqual(e.event.type, ['denied']);
    assert.deepEqual(e.oci_registry.quota, { used_bytes: 10630044058, limit_bytes: 10737418240, percent: 99 });
    assert.match(e.message ?? '', /^adding 212\.3 MiB of storage resource/);
    assert.equal(e.oci_registry.tag, '2.0.2');
  });

  test('32: scanning completed — vulnerability category and a summary message', () => {
    const e = one('32-harbor-webhook-scanning-completed.json');
    assert.equal(e['@timestamp'], '2025-08-20T12:01:40.000Z');
    assert.equal(e.event.action, 'scan-completed');
    assert.deepEqual(e.event.category, ['vulnerability']);
    assert.equal(e.event.outcome, 'success');
    assert.equal(
      e.message,
      'scanning_completed: status Success, severity High, 23 vulnerabilities (17 fixable), scanner Trivy v0.50.1, report application/vnd.security.vulnerability.report; version=1.1',
    );
    assert.equal(e.oci_registry.tag, '2.0.1');
    assert.equal(e.oci_registry.image_pull, false);
  });

  test('33: Harbor 2.0 legacy resource_url `repo:sha256:…` — repository and digest, no tag', () => {
    const e = one('33-harbor-webhook-v2.0-push-legacy-resource-url.json');
    assert.equal(e['@timestamp'], '2020-04-24T06:29:35.000Z');
    assert.equal(e.oci_registry.repository, 'aaa/cnab_copy');
    assert.equal(e.oci_registry.digest, 'sha256:2fb9a3ed677bbd9e5eaea133260c5d4d6f61d03c7d9cb5e25d3d7762303e9bc5');
    assert.equal(e.oci_registry.tag, undefined);
    assert.equal(e.oci_registry.request_host, 'harbor.example.com');
  });

  test('repository falls back to resource_url when the repository block is missing (legacy form)', () => {
    const { obj, raw } = load('33-harbor-webhook-v2.0-push-legacy-resource-url.json');
    delete (obj.event_data as Record<string, unknown>).repository;
    const [e] = events(harborDefaultSource.normalize(obj, raw, {}));
    assert.equal(e?.oci_registry.repository, 'aaa/cnab_copy');
    assert.equal(e?.oci_registry.namespace, 'aaa');
    assert.equal(e?.oci_registry.tag, undefined);
  });

  test('several resources → one event per resource, distinct ids', () => {
    const { obj, raw } = load('26-harbor-webhook-push-artifact-user.json');
    const data = obj.event_data as { resources: Record<string, unknown>[] };
    data.resources.push({ digest: D27, tag: 'v2', resource_url: 'harbor.example.com/team-a/app:v2' });
    const evs = events(harborDefaultSource.normalize(obj, raw, {}));
    assert.equal(evs.length, 2);
    assert.deepEqual(
      evs.map((e) => e.oci_registry.tag),
      ['latest', 'v2'],
    );
    assert.notEqual(evs[0]?.event.id, evs[1]?.event.id);
  });

  test('context: receivedAt, origin, keepOriginal', () => {
    const e = one('26-harbor-webhook-push-artifact-user.json', {
      receivedAt: '2024-09-17T10:19:52.000Z',
      origin: 'harbor.webhooks',
      keepOriginal: true,
    });
    assert.equal(e.event.created, '2024-09-17T10:19:52.000Z');
    assert.equal(e.log?.file?.path, 'harbor.webhooks');
    assert.equal(e.event.original, load('26-harbor-webhook-push-artifact-user.json').raw);
  });
});

describe('harbor Default webhook: bad input is a typed rejection', () => {
  const base = () => load('26-harbor-webhook-push-artifact-user.json');
  test('occur_at as a string → schema_mismatch naming the field', () => {
    const { obj, raw } = base();
    obj.occur_at = '1726568391';
    const [r] = harborDefaultSource.normalize(obj, raw, {});
    assert.equal(r?.kind, 'rejected');
    assert.equal(r?.kind === 'rejected' && r.reason, 'schema_mismatch');
    assert.match(r?.kind === 'rejected' ? r.detail : '', /occur_at/);
    assert.equal(r?.kind === 'rejected' && r.original, raw);
  });
  test('occur_at in milliseconds → invalid_timestamp (not guessed)', () => {
    const { obj, raw } = base();
    obj.occur_at = 1726568391000;
    const [r] = harborDefaultSource.normalize(obj, raw, {});
    assert.equal(r?.kind === 'rejected' && r.reason, 'invalid_timestamp');
  });
  test('unknown event type → unsupported_event', () => {
    const { obj, raw } = base();
    obj.type = 'MADE_UP';
    const [r] = harborDefaultSource.normalize(obj, raw, {});
    assert.equal(r?.kind === 'rejected' && r.reason, 'unsupported_event');
  });
  test('resources: null (Go nil slice) → one event without artifact fields', () => {
    const { obj, raw } = base();
    (obj.event_data as Record<string, unknown>).resources = null;
    const [e] = events(harborDefaultSource.normalize(obj, raw, {}));
    assert.equal(e?.oci_registry.digest, undefined);
    assert.equal(e?.oci_registry.repository, 'team-a/app');
  });
});

describe('harbor CloudEvents webhook (sample 29)', () => {
  test('29: id → event.id, requestid → http.request.id, source → webhook_policy, scanner robot', () => {
    const e = one('29-harbor-webhook-pull-artifact-cloudevents.json');
    assert.equal(harborDefaultSource.matches(load('29-harbor-webhook-pull-artifact-cloudevents.json').obj), false);
    assert.equal(e['@timestamp'], '2023-03-06T06:08:43.000Z');
    assert.equal(e.event.id, '4b2f89a6-548d-4c12-9993-a1f5790b97d2');
    assert.equal(e.oci_registry.event_id, '4b2f89a6-548d-4c12-9993-a1f5790b97d2');
    assert.equal(e.http?.request?.id, '2eedfab8-61d3-4f3c-8ec3-8f82d1ec4c84');
    assert.equal(e.oci_registry.webhook_policy, '/projects/1/webhook/policies/3');
    assert.equal(e.oci_registry.source_format, 'harbor-cloudevents');
    assert.equal(e.event.action, 'manifest-pull');
    assert.equal(e.oci_registry.image_pull, true);
    assert.equal(e.user?.name, 'robot$library+scanner-Trivy-51fe4548-bbe5-11ed-9217-0242ac14000d');
    assert.equal(e.oci_registry.actor.kind, 'robot');
    assert.equal(e.oci_registry.tag, undefined);
    assert.equal(e.oci_registry.digest, D28);
    assert.equal(e.oci_registry.repository, 'library/busybox');
  });

  test('unknown CloudEvents type → unsupported_event; bad time → invalid_timestamp', () => {
    const { obj, raw } = load('29-harbor-webhook-pull-artifact-cloudevents.json');
    const [r1] = harborCloudEventsSource.normalize({ ...obj, type: 'harbor.project.created' }, raw, {});
    assert.equal(r1?.kind === 'rejected' && r1.reason, 'unsupported_event');
    const [r2] = harborCloudEventsSource.normalize({ ...obj, time: 'yesterday' }, raw, {});
    assert.equal(r2?.kind === 'rejected' && r2.reason, 'invalid_timestamp');
    const [r3] = harborCloudEventsSource.normalize({ ...obj, data: [] }, raw, {});
    assert.equal(r3?.kind === 'rejected' && r3.reason, 'schema_mismatch');
  });
});

describe('case C06: Harbor tag holds a digest or is empty; operators that are not people', () => {
  const payloads = JSON.parse(readFileSync(new URL('C06.json', CASES), 'utf8')) as Record<string, unknown>[];
  const [p1, p2, p3] = payloads.map((p) => {
    assert.ok(harborDefaultSource.matches(p));
    const evs = events(harborDefaultSource.normalize(p, JSON.stringify(p), {}));
    assert.equal(evs.length, 1);
    return evs[0] as RegistryEvent;
  });

  test('payload 1: proxy-cache push → cache fill by a service actor, no tag, repo from repo_full_name', () => {
    assert.ok(p1);
    assert.equal(p1['@timestamp'], '2024-02-15T01:38:29.000Z');
    assert.equal(p1.oci_registry.actor.kind, 'service');
    assert.equal(p1.event.action, 'cache-fill');
    assert.notEqual(p1.event.action, 'manifest-push');
    assert.equal(p1.oci_registry.tag, undefined);
    assert.equal(p1.container?.image?.tag, undefined);
    assert.equal(p1.oci_registry.digest, 'sha256:4646464646464646464646464646464646464646464646464646464646464646');
    assert.equal(p1.oci_registry.repository, 'ext.mcr.example.test/devcontainers/node');
  });

  test('payload 2: scan by `auto` with tag "" and a URL ending in ":" → no tag, clean repository', () => {
    assert.ok(p2);
    assert.equal(p2.oci_registry.tag, undefined);
    assert.equal(p2.container?.image?.tag, undefined);
    assert.equal(p2.oci_registry.repository, 'team-d/ubuntu');
    assert.equal(p2.oci_registry.actor.kind, 'service');
    assert.equal(p2.event.action, 'scan-completed');
    assert.equal(p2['@timestamp'], '2020-11-06T09:08:24.000Z');
  });

  test('payload 3: robot push with digest-as-tag → robot actor, no tag entity', () => {
    assert.ok(p3);
    assert.equal(p3.user?.name, 'robot$team-e+ci');
    assert.equal(p3.oci_registry.actor.kind, 'robot');
    assert.equal(p3.oci_registry.tag, undefined);
    assert.ok(!JSON.stringify([p1, p2, p3]).includes('"tag":["sha256:'), 'no tag named sha256:… anywhere');
  });
});
