import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { RegistryEvent } from '../../../shared/src/model/registry-event.ts';
import type { NormalizeResult } from '../../../shared/src/normalize/types.ts';
import { createNormalizer, normalizeLine } from '../../../shared/src/normalize/index.ts';
import { LogrusJsonLineSchema } from '../../../shared/src/normalize/distribution/schemas.ts';

const dir = new URL('../../fixtures/registry-samples/', import.meta.url);
const lines = (name: string): string[] =>
  readFileSync(new URL(name, dir), 'utf8')
    .split('\n')
    .filter((l) => l.length > 0);
function stream(name: string, ctx = {}): NormalizeResult[] {
  const n = createNormalizer();
  return [...lines(name).flatMap((l) => n.push(l, ctx)), ...n.flush()];
}
const ev = (r: NormalizeResult | undefined): RegistryEvent => {
  assert.ok(r?.kind === 'event', JSON.stringify(r));
  return r.event;
};
const kinds = (rs: NormalizeResult[]): string[] =>
  rs.map((r) => (r.kind === 'event' ? `${r.event.event.dataset}:${r.event.event.action}` : r.kind));

describe('Distribution app log (samples 13–20, 23–25)', () => {
  test('13 v2.x text: 401 warning = auth-challenge (no completion line), 200 without vars/user', () => {
    const r = stream('13-dist-applog-v2x-text-401-then-200.log');
    assert.deepEqual(kinds(r), [
      'oci_registry.log:auth-challenge',
      'oci_registry.access:auth-challenge',
      'oci_registry.log:manifest-pull',
      'oci_registry.access:manifest-pull',
      'oci_registry.log:auth-challenge',
      'oci_registry.access:auth-challenge',
    ]);
    const ch = ev(r[0]);
    assert.equal(ch.event.outcome, 'failure');
    assert.deepEqual(ch.event.category, ['authentication', 'web']);
    assert.equal(ch.log?.level, 'warning');
    assert.equal(ch.user, undefined);
    assert.equal(ch['@timestamp'], '2016-02-23T19:10:37.000Z');
    assert.equal(ch.oci_registry.repository, 'ns/repo');
    assert.equal(ch.oci_registry.tag, '8.7.3-021');
    assert.equal(ch.service?.version, 'v2.2.1');
    assert.equal(ch.oci_registry.go_version, 'go1.5.2');
    const ok = ev(r[2]);
    assert.equal(ok.http?.response?.status_code, 200);
    assert.equal(ok.http?.response?.body?.bytes, 4421);
    assert.equal(ok.http?.response?.mime_type, 'application/json; charset=utf-8');
    assert.equal(ok.event.duration, 21387254);
    assert.equal(ok.oci_registry.image_pull, true);
    assert.equal(ok.oci_registry.repository, 'ns/repo'); // from the URI: v2 success lines lack vars.*
    assert.equal(ok.user, undefined);
    assert.deepEqual(ok.source, { address: '192.0.2.4:64383', ip: '192.0.2.4', port: 64383 });
    assert.equal(ok.http?.request?.id, 'c13cd157-4f26-41a0-8c96-3a31045d5a98');
    assert.equal(ok.service?.ephemeral_id, 'fc700d95-56e3-476d-97ff-a077b95e12c9');
    assert.equal(ev(r[4]).oci_registry.head, true);
    assert.equal(ev(r[4]).event.action, 'auth-challenge');
  });

  test('14 TTY text debug lines are ignored; the v3.0.x HEAD shows only in the access line', () => {
    const r = stream('14-dist-applog-v3-text-ipv6-head-manifest.log');
    assert.deepEqual(kinds(r), ['ignored', 'ignored', 'ignored', 'oci_registry.access:manifest-head']);
    const e = ev(r[3]);
    assert.deepEqual(e.source, {
      address: '2001:db8:5505:418:9506:31c3:5e86:2125',
      ip: '2001:db8:5505:418:9506:31c3:5e86:2125',
    });
    assert.equal(e['@timestamp'], '2025-11-04T18:02:11.000Z');
    assert.equal(e.oci_registry.original_timestamp, '04/Nov/2025:18:02:11 +0000');
  });

  test('14 TTY completion line is parsed (message split from padded fields)', () => {
    const [r] = normalizeLine(
      'INFO[0005] response completed                            http.request.method=HEAD http.request.remoteaddr="[2001:db8::2125]:52584" http.request.uri=/v2/busybox/manifests/latest http.response.status=200 vars.name=busybox',
      { receivedAt: '2025-11-04T18:02:11.5Z' },
    );
    const e = ev(r);
    assert.equal(e.event.action, 'manifest-head');
    assert.equal(e.message, 'response completed');
    assert.equal(e.log?.level, 'info');
    assert.equal(e['@timestamp'], '2025-11-04T18:02:11.500Z');
    assert.equal(e.oci_registry.source_format, 'logrus-text-tty');
    assert.deepEqual(e.source, { address: '[2001:db8::2125]:52584', ip: '2001:db8::2125', port: 52584 });
  });

  test('15 JSON and combined interleaved: app IP from XFF ≠ access IP (proxy)', () => {
    const r = stream('15-dist-applog-v2x-json-mixed-with-access-log.log');
    assert.deepEqual(kinds(r), [
      'oci_registry.access:manifest-pull',
      'oci_registry.log:upload',
      'oci_registry.access:upload',
    ]);
    const app = ev(r[1]);
    assert.deepEqual(app.source, { address: '203.0.113.200', ip: '203.0.113.200' });
    assert.deepEqual(app.oci_registry.forwarded_for, ['203.0.113.200']);
    assert.equal(app.event.duration, 40123508);
    assert.equal(app['@timestamp'], '2016-07-15T05:49:20.435122278Z');
    assert.equal(app.oci_registry.repository, 'project-2/repo-2');
    assert.equal(ev(r[2]).source?.ip, '198.51.100.100');
    assert.equal(ev(r[2]).oci_registry.forwarded_for, undefined);
  });

  test('16 v3.1 JSON pull and push flow', () => {
    const r = stream('16-dist-applog-v3-json-pull-and-push.ndjson');
    assert.deepEqual(kinds(r), [
      'ignored',
      'oci_registry.log:manifest-head',
      'oci_registry.log:manifest-pull',
      'oci_registry.log:blob-pull',
      'oci_registry.log:blob-head',
      'oci_registry.log:upload',
      'oci_registry.log:upload',
      'oci_registry.log:blob-push',
      'oci_registry.log:manifest-push',
    ]);
    const head = ev(r[1]);
    assert.equal(head.oci_registry.image_pull, false);
    assert.equal(head.oci_registry.object_kind, 'index');
    assert.equal(head.http?.response?.body?.bytes, 0);
    assert.equal(head.user?.name, 'user-a');
    assert.equal(head.service?.environment, 'production');
    assert.equal(head.service?.name, 'registry');
    const get = ev(r[2]);
    assert.equal(get.oci_registry.image_pull, true);
    assert.equal(get.event.duration, 987400); // 987.4µs
    assert.equal(get['@timestamp'], '2025-08-20T09:14:03.5190038Z');
    assert.equal(get.oci_registry.digest, 'sha256:b6fd458a7205924b78c0b1bcc6730fc69ee72e093dd49f56e106479057f9441d');
    assert.deepEqual(get.container?.image?.hash?.all, [
      'sha256:b6fd458a7205924b78c0b1bcc6730fc69ee72e093dd49f56e106479057f9441d',
    ]);
    const redirect = ev(r[3]);
    assert.equal(redirect.http?.response?.status_code, 307);
    assert.equal(redirect.event.outcome, 'success');
    assert.equal(redirect.http?.response?.body?.bytes, 1186);
    const miss = ev(r[4]);
    assert.equal(miss.event.outcome, 'failure');
    assert.deepEqual(miss.event.type, ['access']); // a 404 existence check is a miss, not an error
    assert.deepEqual(miss.oci_registry.error, {
      code: 'BLOB_UNKNOWN',
      message: 'blob unknown to registry',
      detail: 'sha256:20172d76dc2521f18a26704e1f935a8fdf048abbc7c08d87141d3854f2fb48d6',
    });
    const patch = ev(r[6]);
    assert.equal(patch.event.duration, 2501883012);
    assert.equal(patch.oci_registry.upload_id, '0198f3e1-52d1-7b6e-a3c4-1f2e3d4c5b6a');
    assert.equal(patch.url?.query, undefined); // _state removed
    assert.match(patch.url?.original ?? '', /_state=/);
    const put = ev(r[7]);
    assert.equal(put.oci_registry.digest, 'sha256:20172d76dc2521f18a26704e1f935a8fdf048abbc7c08d87141d3854f2fb48d6');
    assert.equal(put.url?.query, 'digest=sha256:20172d76dc2521f18a26704e1f935a8fdf048abbc7c08d87141d3854f2fb48d6');
    const mp = ev(r[8]);
    assert.equal(mp.oci_registry.tag, '1.4.2');
    assert.equal(mp.oci_registry.media_type, 'application/vnd.oci.image.manifest.v1+json');
    assert.equal(mp.http?.request?.mime_type, 'application/vnd.oci.image.manifest.v1+json');
  });

  test('17 errors, tags list, catalog; err.detail string or object is stringified', () => {
    const r = stream('17-dist-applog-v3-json-errors-catalog-tags.ndjson');
    assert.deepEqual(kinds(r), [
      'oci_registry.log:manifest-pull',
      'oci_registry.log:tags-list',
      'oci_registry.log:tags-list',
      'oci_registry.log:catalog',
      'oci_registry.log:catalog',
      'oci_registry.log:manifest-delete',
    ]);
    const [a, b, c, d, e, f] = r.map(ev);
    assert.ok(a && b && c && d && e && f);
    assert.deepEqual(
      [a.event.outcome, a.oci_registry.image_pull, a.oci_registry.error?.code, a.oci_registry.error?.detail],
      ['failure', false, 'MANIFEST_UNKNOWN', 'unknown tag=9.9.9'],
    );
    assert.deepEqual(
      [b.oci_registry.error?.code, b.oci_registry.error?.detail, b.oci_registry.repository],
      ['NAME_UNKNOWN', '{"name":"team-a/ghost"}', 'team-a/ghost'],
    );
    assert.deepEqual([c.event.outcome, c.url?.query], ['success', 'n=50']);
    assert.deepEqual(
      [d.url?.query, d.event.duration, d.oci_registry.repository],
      ['n=100&last=team-a/platform/api', 118309422, undefined],
    );
    assert.deepEqual(
      [e.oci_registry.error?.code, e.oci_registry.error?.detail, e.http?.response?.status_code, e.event.type],
      ['PAGINATION_NUMBER_INVALID', '{"n":"abc"}', 400, ['access', 'error']],
    );
    assert.deepEqual(
      [f.oci_registry.error?.code, f.http?.response?.status_code, f.event.duration],
      ['UNSUPPORTED', 405, 611050],
    );
    assert.equal(new Set(r.map((x) => ev(x).event.id)).size, 6);
  });

  test('18 proxy cache: upstream 429 surfaces as UNKNOWN/500 with the 429 text kept in detail', () => {
    const r = stream('18-dist-applog-v2x-text-proxy-upstream-429.log');
    const [a, b] = r.map(ev);
    assert.ok(a && b);
    assert.equal(a.event.action, 'manifest-pull');
    assert.equal(a.http?.response?.status_code, 500);
    assert.deepEqual(a.event.type, ['access', 'error']);
    assert.equal(a.oci_registry.error?.code, 'UNKNOWN');
    assert.equal(
      a.oci_registry.error?.detail,
      'error parsing HTTP 429 response body: invalid character \'T\' looking for beginning of value: "Too Many Requests (HAP429).\\n"',
    );
    assert.equal(a.event.duration, 2345140976);
    assert.equal(a['@timestamp'], '2020-10-12T14:56:29.250567326Z');
    assert.equal(b.event.action, 'blob-pull');
    assert.equal(b.event.duration, 1012300000);
    assert.equal(b.oci_registry.client_family, 'go-http-client');
  });

  test('19 auth failures: challenge vs failed login (with attempted user), bad-XFF warning ignored', () => {
    const r = stream('19-dist-applog-v3-json-auth-failures-and-bad-xff.ndjson');
    assert.deepEqual(kinds(r), [
      'oci_registry.log:auth-challenge',
      'ignored',
      'oci_registry.log:login-failure',
      'ignored',
      'oci_registry.log:login-failure',
    ]);
    const lf = ev(r[2]);
    assert.equal(lf.user?.name, 'user-f');
    assert.equal(lf.oci_registry.attempted_user, 'user-f');
    assert.equal(lf.event.outcome, 'failure');
    assert.equal(lf.error?.message, 'crypto/bcrypt: hashedPassword is not the hash of the given password');
    assert.equal(lf['@timestamp'], '2025-08-20T13:00:02.201Z');
    // The follow-up 401 warning of the same request shares the login-failure id and is dropped.
    assert.equal(r[3]?.kind === 'ignored' && r[3].reason, `duplicate delivery of event ${lf.event.id}`);
    const unknownUser = ev(r[4]);
    assert.equal(unknownUser.user, undefined);
    assert.equal(unknownUser.oci_registry.repository, 'team-a/platform/api');
    assert.equal(unknownUser.oci_registry.client_family, 'python-requests');
    // Stateless form: both lines are events with the same id.
    const [s1] = normalizeLine(lines('19-dist-applog-v3-json-auth-failures-and-bad-xff.ndjson')[3] ?? '');
    assert.equal(ev(s1).event.id, lf.event.id);
  });

  test('20 logstash v2 / logstash v3 / json v3: same request, same fields, same dedupe id', () => {
    const r = lines('20-dist-applog-logstash-v2-vs-v3-vs-json.ndjson').map((l) => ev(normalizeLine(l)[0]));
    assert.deepEqual(
      r.map((e) => e.oci_registry.source_format),
      ['logstash-v2', 'logrus-json', 'logrus-json'],
    );
    for (const e of r) {
      assert.equal(e.event.action, 'catalog');
      assert.equal(e['@timestamp'], '2025-08-20T12:01:05.1198Z');
      assert.equal(e.url?.original, '/v2/_catalog?n=100&last=team-a/platform/api');
      assert.equal(e.event.duration, 118309422);
      assert.equal(e.message, 'response completed');
    }
    assert.equal(r[0]?.user, undefined);
    assert.equal(r[1]?.user?.name, 'user-e');
    assert.equal(new Set(r.map((e) => e.event.id)).size, 1);
  });

  test('23 DTR payload line is ignored (the PUT completion line is the event)', () => {
    assert.deepEqual(kinds(stream('23-dtr-applog-json-manifest-put-payload.ndjson')), ['ignored']);
  });

  test('24 OpenShift: response completed is the event, msg=response is ignored', () => {
    const r = stream('24-openshift-registry-text-response-lines.log');
    assert.deepEqual(kinds(r), ['oci_registry.log:manifest-pull', 'ignored']);
    const e = ev(r[0]);
    assert.equal(e.event.duration, 8937191);
    assert.equal(e['@timestamp'], '2018-07-06T11:34:21.914679407Z');
    assert.equal(e.url?.domain, 'image-registry.example.svc');
    assert.equal(e.url?.port, 5000);
    assert.equal(
      e.user_agent?.original,
      'docker/1.13.1 go/go1.10.2 git-commit/1ab62f1-unsupported kernel/4.16.13-300.fc28.x86_64 os/linux arch/amd64 UpstreamClient(Docker-Client/1.13.1 \\(linux\\))',
    );
    assert.equal(e.oci_registry.object_kind, 'manifest');
  });

  test('25 GitLab: pre-LabKit banner ignored; LabKit error lines keep upper-case code and string detail', () => {
    const r = stream('25-gitlab-registry-json-logs.ndjson');
    assert.deepEqual(kinds(r), [
      'ignored',
      'oci_registry.log:other',
      'oci_registry.log:other',
      'oci_registry.log:other',
    ]);
    const [, a, b, c] = r.map((x) => (x.kind === 'event' ? x.event : undefined));
    assert.ok(a && b && c);
    assert.deepEqual(
      [a.oci_registry.error?.code, a.oci_registry.error?.detail, a.http?.request?.id, a.oci_registry.repository],
      ['NAME_UNKNOWN', 'map[name:busyboxs]', 'HTgUvm2F8qa', 'busyboxs'],
    );
    assert.equal(a['@timestamp'], '2020-07-23T12:33:01.000Z');
    assert.equal(a.oci_registry.original_timestamp, '2020-07-23T13:33:01+01:00');
    assert.equal(a.service?.type, 'gitlab-registry');
    assert.equal(a.oci_registry.source_format, 'gitlab-labkit');
    assert.equal(a.event.outcome, 'failure');
    assert.deepEqual(
      [b.oci_registry.error?.code, b.oci_registry.tag, b.oci_registry.error?.message],
      ['MANIFEST_UNKNOWN', 'foo', 'manifest unknown: manifest unknown'],
    );
    assert.equal(c.oci_registry.error?.code, 'UNKNOWN');
  });

  test('the zod contract accepts every JSON app-log line of the corpus that the hot path accepts', () => {
    for (const f of [
      '15-dist-applog-v2x-json-mixed-with-access-log.log',
      '16-dist-applog-v3-json-pull-and-push.ndjson',
      '17-dist-applog-v3-json-errors-catalog-tags.ndjson',
      '19-dist-applog-v3-json-auth-failures-and-bad-xff.ndjson',
      '20-dist-applog-logstash-v2-vs-v3-vs-json.ndjson',
      '23-dtr-applog-json-manifest-put-payload.ndjson',
      '25-gitlab-registry-json-logs.ndjson',
    ]) {
      for (const l of lines(f).filter((x) => x.startsWith('{'))) {
        assert.equal(LogrusJsonLineSchema.safeParse(JSON.parse(l)).success, true, `${f}: ${l.slice(0, 60)}`);
        assert.ok(normalizeLine(l).every((x) => x.kind !== 'rejected'));
      }
    }
  });

  test('wrong field types are rejected with schema_mismatch, and zod agrees', () => {
    const bad = {
      level: 'info',
      msg: 'response completed',
      time: '2025-01-01T00:00:00Z',
      'http.request.method': 'GET',
      'http.request.uri': { x: 1 },
      'http.response.status': 200,
    };
    const [r] = normalizeLine(JSON.stringify(bad));
    assert.equal(r?.kind === 'rejected' && r.reason, 'schema_mismatch');
    assert.equal(r?.kind === 'rejected' && r.detail, 'http.request.uri: expected a string, got object');
    assert.equal(LogrusJsonLineSchema.safeParse(bad).success, false);
    const [s] = normalizeLine(JSON.stringify({ ...bad, 'http.request.uri': '/v2/', 'http.response.status': -3 }));
    assert.equal(s?.kind === 'rejected' && s.reason, 'schema_mismatch');
    const [t] = normalizeLine(JSON.stringify({ ...bad, 'http.request.uri': '/v2/', time: 'yesterday' }));
    assert.equal(t?.kind === 'rejected' && t.reason, 'invalid_timestamp');
  });
});
