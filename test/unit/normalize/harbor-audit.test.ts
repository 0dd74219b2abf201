import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { RegistryEvent } from '../../../shared/src/model/registry-event.ts';
import type { NormalizeResult } from '../../../shared/src/normalize/types.ts';
import { harborAuditApiSource } from '../../../shared/src/normalize/harbor/audit-api.ts';
import { harborAuditSyslogSource } from '../../../shared/src/normalize/harbor/audit-syslog.ts';
import { stableId } from '../../../shared/src/normalize/common/hash.ts';

const SAMPLES = new URL('../../fixtures/registry-samples/', import.meta.url);
const read = (name: string) => readFileSync(new URL(name, SAMPLES), 'utf8');

function ev(r: NormalizeResult | undefined): RegistryEvent {
  assert.equal(r?.kind, 'event', JSON.stringify(r));
  return (r as { event: RegistryEvent }).event;
}

function apiRecords(name: string, harborHost?: string): RegistryEvent[] {
  const list = JSON.parse(read(name)) as Record<string, unknown>[];
  return list.map((rec) => {
    assert.ok(harborAuditApiSource.matches(rec));
    const out = harborAuditApiSource.normalize(rec, JSON.stringify(rec), harborHost ? { harborHost } : {});
    assert.equal(out.length, 1);
    return ev(out[0]);
  });
}

const E8A1 = 'sha256:e8a1dd13e16daec4f52558870d10ab183b5eebbb9f8134ed4d4b4df21c341b0e';
const NGINX = 'sha256:00c2b4d6e8f0a1b3c5d7e9f1a3b5c7d9e1f3a5b7c9d1e3f5a7b9c1d3e5f7a9b1';
const D4965 = 'sha256:4965673a9e1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5';

describe('harbor audit API, /api/v2.0/auditlog-exts (sample 35)', () => {
  const [push, pull, login, del] = apiRecords('35-harbor-api-auditlog-exts.json', 'harbor.example.com');

  test('create artifact → manifest-push by a robot; digest from operation_description', () => {
    assert.deepEqual(push, {
      '@timestamp': '2025-08-20T12:00:00.118Z',
      message: `push artifact: team-a/app@${E8A1}`,
      event: {
        kind: 'event',
        category: ['web'],
        type: ['creation'],
        action: 'manifest-push',
        outcome: 'success',
        id: 'harbor.example.com/90412',
        dataset: 'harbor.audit',
      },
      user: { name: 'robot$team-a+ci-pusher' },
      container: { image: { name: 'team-a/app', tag: ['2.0.1'], hash: { all: [E8A1] } } },
      service: { type: 'harbor', node: { name: 'harbor.example.com' } },
      oci_registry: {
        image_pull: false,
        actor: { kind: 'robot', anonymous: false },
        source_format: 'harbor-auditlog-ext',
        repository: 'team-a/app',
        namespace: 'team-a',
        digest: E8A1,
        tag: '2.0.1',
        object_kind: 'manifest',
        event_id: '90412',
      },
    });
  });

  test('anonymous pull → manifest-pull, image_pull, no user.name', () => {
    assert.ok(pull);
    assert.equal(pull['@timestamp'], '2025-08-20T12:00:03.400Z');
    assert.equal(pull.event.action, 'manifest-pull');
    assert.equal(pull.oci_registry.image_pull, true);
    assert.equal(pull.user, undefined);
    assert.deepEqual(pull.oci_registry.actor, { kind: 'anonymous', anonymous: true });
    assert.equal(pull.oci_registry.repository, 'library/tools/nginx/edge');
    assert.equal(pull.oci_registry.tag, '1.27');
    assert.equal(pull.oci_registry.digest, NGINX);
    assert.equal(pull.event.id, 'harbor.example.com/90413');
  });

  test('failed login (operation_result false) → login-failure, authentication, attempted user kept', () => {
    assert.ok(login);
    assert.equal(login['@timestamp'], '2025-08-20T12:00:09.000Z');
    assert.equal(login.event.action, 'login-failure');
    assert.equal(login.event.outcome, 'failure');
    assert.deepEqual(login.event.category, ['authentication']);
    assert.equal(login.user?.name, 'user-g');
    assert.equal(login.oci_registry.attempted_user, 'user-g');
    assert.equal(login.oci_registry.repository, undefined, 'a user resource is not a repository');
  });

  test('delete artifact by digest → manifest-delete, no tag', () => {
    assert.ok(del);
    assert.equal(del['@timestamp'], '2025-08-20T12:05:41.992Z');
    assert.equal(del.event.action, 'manifest-delete');
    assert.deepEqual(del.event.type, ['deletion']);
    assert.equal(del.oci_registry.digest, D4965);
    assert.equal(del.oci_registry.tag, undefined);
    assert.equal(del.user?.name, 'release-admin');
  });

  test('ids default to the host "harbor"', () => {
    const [first] = apiRecords('35-harbor-api-auditlog-exts.json');
    assert.equal(first?.event.id, 'harbor/90412');
  });

  test('a successful login → login-success', () => {
    const rec = (JSON.parse(read('35-harbor-api-auditlog-exts.json')) as Record<string, unknown>[])[2] ?? {};
    const e = ev(harborAuditApiSource.normalize({ ...rec, operation_result: true }, '', {})[0]);
    assert.equal(e.event.action, 'login-success');
    assert.equal(e.event.outcome, 'success');
    assert.equal(e.oci_registry.attempted_user, undefined);
  });
});

describe('harbor audit API, legacy /api/v2.0/audit-logs (sample 36)', () => {
  const [userPush, robotPush, anonPull, tagDelete] = apiRecords('36-harbor-api-audit-logs-legacy.json');

  test('create by tag and by digest → manifest-push (outcome success: legacy rows record completed operations)', () => {
    assert.equal(userPush?.event.action, 'manifest-push');
    assert.equal(userPush?.event.outcome, 'success');
    assert.equal(userPush?.oci_registry.source_format, 'harbor-audit-log');
    assert.equal(userPush?.oci_registry.tag, 'latest');
    assert.equal(userPush?.user?.name, 'user-a@example.com');
    assert.equal(userPush?.['@timestamp'], '2024-09-17T10:19:51.000Z');
    assert.equal(userPush?.event.id, 'harbor/51230');
    assert.equal(robotPush?.oci_registry.digest, D4965);
    assert.equal(robotPush?.oci_registry.tag, undefined);
    assert.equal(robotPush?.oci_registry.actor.kind, 'robot');
  });

  test('anonymous pull and tag delete', () => {
    assert.equal(anonPull?.event.action, 'manifest-pull');
    assert.equal(anonPull?.oci_registry.actor.anonymous, true);
    assert.equal(anonPull?.oci_registry.repository, 'library/busybox');
    assert.equal(anonPull?.oci_registry.tag, 'latest');
    assert.equal(tagDelete?.event.action, 'tag-delete');
    assert.equal(tagDelete?.oci_registry.object_kind, 'tag');
    assert.equal(tagDelete?.oci_registry.tag, 'old');
    assert.equal(tagDelete?.['@timestamp'], '2024-09-17T12:00:00.000Z');
  });

  test('bad records are typed rejections', () => {
    const ok = (JSON.parse(read('36-harbor-api-audit-logs-legacy.json')) as Record<string, unknown>[])[0] ?? {};
    const bad = harborAuditApiSource.normalize({ ...ok, op_time: 'not a time' }, 'x', {})[0];
    assert.equal(bad?.kind === 'rejected' && bad.reason, 'invalid_timestamp');
    const wrong = harborAuditApiSource.normalize({ ...ok, username: 42 }, 'x', {})[0];
    assert.equal(wrong?.kind === 'rejected' && wrong.reason, 'schema_mismatch');
    assert.match(wrong?.kind === 'rejected' ? wrong.detail : '', /username/);
    const noId = harborAuditApiSource.normalize({ ...ok, id: undefined }, 'x', {})[0];
    assert.equal(noId?.kind === 'rejected' && noId.reason, 'schema_mismatch');
  });
});

describe('harbor audit forwarded syslog (sample 34)', () => {
  const lines = read('34-harbor-audit-forward-syslog.log').split('\n').filter(Boolean);
  const evs = lines.map((l) => {
    assert.ok(harborAuditSyslogSource.matches(l), l);
    const out = harborAuditSyslogSource.normalize(l, {});
    assert.equal(out.length, 1);
    return ev(out[0]);
  });

  test('v2.6-dev lines: monotonic suffix stripped, ns precision kept, repository delete vs artifact delete', () => {
    const [repoDel, artDel, create] = evs;
    assert.equal(repoDel?.['@timestamp'], '2022-07-19T06:54:41.148677825Z');
    assert.equal(repoDel?.oci_registry.original_timestamp, '2022-07-19 06:54:41.148677825 +0000 UTC');
    assert.equal(repoDel?.event.action, 'other');
    assert.equal(repoDel?.oci_registry.object_kind, 'repository');
    assert.equal(repoDel?.oci_registry.repository, 'test01/photon');
    assert.equal(repoDel?.service?.node?.name, 'harbor-core-host');
    assert.equal(artDel?.event.action, 'manifest-delete');
    assert.equal(
      artDel?.oci_registry.digest,
      'sha256:c371b24a3d8a0f52c5677215307fa760d3712924f55c0e07af2869bffc32a0ed',
    );
    assert.equal(artDel?.oci_registry.tag, undefined);
    assert.equal(create?.event.action, 'manifest-push');
    assert.equal(create?.oci_registry.repository, 'library/golang');
    assert.equal(create?.oci_registry.tag, '1.18.3');
    assert.equal(create?.['@timestamp'], '2022-07-19T06:55:38.233227826Z');
  });

  test('v2.13 lines: resourceType, operation_description, robot / anonymous / login', () => {
    const [, , , push, pull, login] = evs;
    assert.equal(push?.event.action, 'manifest-push');
    assert.equal(push?.user?.name, 'robot$team-a+ci-pusher');
    assert.equal(push?.oci_registry.actor.kind, 'robot');
    assert.equal(push?.oci_registry.digest, E8A1);
    assert.equal(push?.oci_registry.tag, '2.0.1');
    assert.equal(push?.['@timestamp'], '2025-08-20T12:00:00.118204411Z');
    assert.equal(push?.oci_registry.source_format, 'harbor-syslog');
    assert.equal(pull?.event.action, 'manifest-pull');
    assert.equal(pull?.oci_registry.image_pull, true);
    assert.equal(pull?.oci_registry.actor.anonymous, true);
    assert.equal(pull?.user, undefined);
    assert.equal(pull?.['@timestamp'], '2025-08-20T12:00:03.400017Z');
    assert.equal(login?.event.action, 'login-success');
    assert.equal(login?.event.outcome, 'unknown', 'forwarded lines carry no result');
    assert.equal(login?.user?.name, 'user-g');
    assert.equal(login?.message, 'login');
  });

  test('ids: deterministic, unique per line, scoped by host', () => {
    const ids = new Set(evs.map((e) => e.event.id));
    assert.equal(ids.size, lines.length);
    assert.equal(
      evs[3]?.event.id,
      `harbor/${stableId('2025-08-20 12:00:00.118204411 +0000 UTC', 'robot$team-a+ci-pusher', 'create', 'team-a/app:2.0.1')}`,
    );
    const again = ev(harborAuditSyslogSource.normalize(lines[3] ?? '', { harborHost: 'h1' })[0]);
    assert.match(again.event.id, /^h1\//);
  });

  test('a line without the syslog header still parses; a mangled one is rejected', () => {
    const bare = (lines[4] ?? '').replace(/^.*?audit\[1\]: /, '');
    assert.equal(ev(harborAuditSyslogSource.normalize(bare, {})[0]).event.action, 'manifest-pull');
    const r = harborAuditSyslogSource.normalize('action:pull, resource:x][', {})[0];
    assert.equal(r?.kind === 'rejected' && r.reason, 'schema_mismatch');
  });
});
