import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import type { RegistryEvent } from '../../../shared/src/model/registry-event.ts';
import type { NormalizeResult } from '../../../shared/src/normalize/types.ts';
import { REJECT_REASONS } from '../../../shared/src/normalize/types.ts';
import { createNormalizer, normalizeLine, normalizePayload } from '../../../shared/src/normalize/index.ts';

const dir = new URL('../../fixtures/registry-samples/', import.meta.url);
const lines = (name: string): string[] =>
  readFileSync(new URL(name, dir), 'utf8')
    .split('\n')
    .filter((l) => l.length > 0);
const ev = (r: NormalizeResult | undefined): RegistryEvent => {
  assert.ok(r?.kind === 'event', JSON.stringify(r));
  return r.event;
};

describe('access log (samples 21, 22)', () => {
  test('21 combined lines: every line is an event with exact action/status/bytes', () => {
    const rs = lines('21-dist-accesslog-combined.log').map((l, i) => ev(normalizeLine(l, { offset: i * 1000 })[0]));
    assert.deepEqual(
      rs.map((e) => [e.event.action, e.http?.response?.status_code, e.http?.response?.body?.bytes, e.event.outcome]),
      [
        ['auth-challenge', 401, 87, 'failure'],
        ['ping', 200, 2, 'success'],
        ['manifest-head', 200, 0, 'success'],
        ['blob-pull', 307, 1186, 'success'],
        ['blob-head', 404, 157, 'failure'],
        ['upload', 202, 0, 'success'],
        ['upload', 202, 0, 'success'],
        ['manifest-push', 201, 0, 'success'],
        ['blob-mount', 201, 0, 'success'],
        ['tags-list', 200, 74, 'success'],
        ['catalog', 200, 412, 'success'],
        ['blob-pull', 200, 41834157, 'success'],
        ['manifest-pull', 404, 19, 'failure'],
        ['other', 200, 0, 'success'],
        ['manifest-head', 200, 0, 'success'],
      ],
    );
    for (const e of rs) {
      assert.equal(e.event.dataset, 'oci_registry.access');
      assert.equal(e.oci_registry.source_format, 'combined');
      assert.equal(e.user, undefined);
      assert.equal(e.oci_registry.image_pull, false);
      assert.match(e['@timestamp'], /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.000Z$/);
    }
    assert.equal(
      rs[0]?.user_agent?.original,
      'docker/24.0.7 go/go1.20.10 git-commit/311b9ff kernel/6.5.0-1015-azure os/linux arch/amd64 UpstreamClient(Docker-Client/24.0.7 \\(linux\\))',
    );
    assert.equal(rs[3]?.http?.version, '2.0');
    assert.equal(rs[1]?.http?.version, '1.1');
    assert.equal(rs[6]?.url?.query, undefined);
    assert.equal(rs[8]?.oci_registry.from_repository, 'team-a/base/python');
    assert.equal(rs[8]?.oci_registry.digest, 'sha256:0cd97fc901c483ea690605965a09c7cd1eb6d68d29023e28ac492389e9250ead');
    assert.equal(rs[10]?.url?.query, 'n=100&last=team-a/platform/api');
    assert.equal(rs[11]?.['@timestamp'], '2025-08-20T12:00:58.000Z');
    assert.equal(rs[12]?.oci_registry.repository, 'Team-A/Platform');
    assert.equal(rs[13]?.oci_registry.client_family, 'kube-probe');
    assert.deepEqual(rs[14]?.source, {
      address: '2001:db8:5505:418:9506:31c3:5e86:2125',
      ip: '2001:db8:5505:418:9506:31c3:5e86:2125',
    });
    assert.equal(new Set(rs.map((e) => e.event.id)).size, rs.length);
    assert.equal(rs[0]?.log?.offset, 0);
  });

  test('21 stream form: access-log ids depend on offset, so identical lines are not deduplicated', () => {
    const n = createNormalizer();
    const line = lines('21-dist-accesslog-combined.log')[2] ?? '';
    const a = n.push(line, { offset: 10 });
    const b = n.push(line, { offset: 20 });
    assert.notEqual(ev(a[0]).event.id, ev(b[0]).event.id);
  });

  test('22 fluentd-wrapped combined lines', () => {
    const [a, b] = lines('22-dist-accesslog-fluentd-wrapped.ndjson').map((l) => ev(normalizeLine(l)[0]));
    assert.ok(a && b);
    assert.equal(a.event.action, 'auth-challenge');
    assert.equal(a.http?.response?.body?.bytes, 87);
    assert.equal(a['@timestamp'], '2019-03-13T11:05:44.000Z');
    assert.equal(b.event.action, 'manifest-pull');
    assert.equal(b.oci_registry.repository, 'group-x/subgroup-y/project-z');
    assert.equal(b.oci_registry.namespace, 'group-x');
    assert.equal(b.oci_registry.tag, 'v1.2.3');
    assert.equal(
      b.user_agent?.original,
      'docker/17.03.2-ce go/go1.10.3 git-commit/f5ec1e2 kernel/4.14.65+ os/linux arch/amd64 UpstreamClient(Go-http-client/1.1)',
    );
    // Access lines repeat what the app log records (C12): pulls are counted from the app log only.
    assert.equal(b.oci_registry.image_pull, false);
  });

  test('gorilla escapes inside quoted parts are decoded', () => {
    const [r] = normalizeLine(
      '192.0.2.9 - - [20/Aug/2025:09:14:02 +0000] "GET /v2/a/manifests/x\\x22y HTTP/1.1" 404 19 "" "tool \\"q\\" \\\\ end"',
    );
    const e = ev(r);
    assert.equal(e.url?.path, '/v2/a/manifests/x"y');
    assert.equal(e.user_agent?.original, 'tool "q" \\ end');
  });
});

describe('container runtime wrappers and partial lines', () => {
  const inner = lines('16-dist-applog-v3-json-pull-and-push.ndjson')[2] ?? '';

  test('Docker json-file line is unwrapped', () => {
    const wrapped = JSON.stringify({ log: `${inner}\n`, stream: 'stderr', time: '2025-08-20T09:14:03.6Z' });
    const e = ev(normalizeLine(wrapped)[0]);
    assert.equal(e.event.action, 'manifest-pull');
    assert.equal(e['@timestamp'], '2025-08-20T09:14:03.5190038Z');
  });

  test('Docker json-file 16 KiB split is rejoined by the stream form', () => {
    const n = createNormalizer();
    const parts = [inner.slice(0, 300), inner.slice(300, 700), `${inner.slice(700)}\n`];
    const out = parts.flatMap((p, i) =>
      n.push(JSON.stringify({ log: p, stream: 'stderr', time: `2025-08-20T09:14:03.6${i}Z` }), { origin: 'c1.log' }),
    );
    assert.equal(out.length, 1);
    assert.equal(ev(out[0]).http?.request?.id, '0198f3d0-1a20-7f11-9c2a-0b1c2d3e4f50');
    assert.equal(ev(out[0]).log?.file?.path, 'c1.log');
    assert.deepEqual(n.flush(), []);
  });

  test('CRI P/F lines are rejoined; an unfinished partial is emitted by flush()', () => {
    const n = createNormalizer();
    const a = n.push(`2025-08-20T09:14:03.600000001Z stderr P ${inner.slice(0, 500)}`);
    const b = n.push(`2025-08-20T09:14:03.600000002Z stderr F ${inner.slice(500)}`);
    assert.deepEqual(a, []);
    assert.equal(ev(b[0]).event.action, 'manifest-pull');
    const c = n.push(`2025-08-20T09:14:03.600000003Z stdout P ${inner.slice(0, 100)}`);
    assert.deepEqual(c, []);
    const flushed = n.flush();
    assert.equal(flushed.length, 1);
    assert.equal(flushed[0]?.kind, 'rejected');
  });

  test('CRI line with a combined access line inside', () => {
    const e = ev(
      normalizeLine(`2025-08-20T09:14:03.1Z stdout F ${lines('21-dist-accesslog-combined.log')[1] ?? ''}`)[0],
    );
    assert.equal(e.event.action, 'ping');
  });

  test('a 28 KB line (long UA) is normalized, not rejected', () => {
    const long = JSON.parse(inner) as Record<string, unknown>;
    long['http.request.useragent'] = `docker/24.0.7 ${'x'.repeat(28_000)}`;
    const e = ev(normalizeLine(JSON.stringify(long))[0]);
    assert.equal(e.user_agent?.original?.length, 28_014);
    assert.equal(e.oci_registry.client_family, 'docker');
  });
});

describe('bad input never throws and is rejected with a reason', () => {
  const reasonOf = (r: NormalizeResult[]): string | undefined => (r[0]?.kind === 'rejected' ? r[0].reason : undefined);
  test('catalogue of bad lines', () => {
    assert.equal(reasonOf(normalizeLine('')), 'empty');
    assert.equal(reasonOf(normalizeLine('   \r\n')), 'empty');
    assert.equal(reasonOf(normalizeLine(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]))), 'invalid_utf8');
    assert.equal(reasonOf(normalizeLine('{"level":"info","msg":"response comp')), 'not_json');
    assert.equal(reasonOf(normalizeLine('{"just":"json"}')), 'unknown_format');
    assert.equal(reasonOf(normalizeLine('hello world')), 'unknown_format');
    assert.equal(reasonOf(normalizeLine('x'.repeat(2 * 1024 * 1024))), 'too_large');
    assert.equal(reasonOf(normalizeLine('time="2025" level=info msg="unterminated')), 'schema_mismatch');
    assert.equal(
      reasonOf(normalizeLine('192.0.2.1 - - [99/Foo/2025:00:00:00 +0000] "GET /v2/ HTTP/1.1" 200 2 "" "x"')),
      'invalid_timestamp',
    );
  });
  test('invalid UTF-8 original is byte-exact (latin1)', () => {
    const bytes = new Uint8Array([0x61, 0xc3, 0x28, 0x62]);
    const [r] = normalizeLine(bytes);
    assert.ok(r?.kind === 'rejected');
    assert.deepEqual([...Buffer.from(r.original, 'latin1')], [...bytes]);
  });
  test('valid UTF-8 bytes are accepted', () => {
    const line = lines('21-dist-accesslog-combined.log')[1] ?? '';
    assert.equal(normalizeLine(new TextEncoder().encode(line))[0]?.kind, 'event');
  });
  test('arbitrary strings and bytes: never throw, always well-formed results', () => {
    const reasons = new Set(Object.keys(REJECT_REASONS));
    // A line always yields a result; a payload may legitimately hold no events (`[]`, `{"events":[]}`).
    const check = (rs: NormalizeResult[], min = 1): void => {
      assert.ok(rs.length >= min);
      for (const r of rs) if (r.kind === 'rejected') assert.ok(reasons.has(r.reason), r.reason);
    };
    fc.assert(
      fc.property(
        fc
          .oneof(fc.string(), fc.json(), fc.constantFrom('{', 'time=', 'INFO[0001] ', '192.0.2.1 - - ['))
          .chain((p) => fc.string().map((s) => p + s)),
        (s) => {
          check(normalizeLine(s));
          check(normalizePayload(s.length === 0 ? ' ' : s, 'auto'), 0);
        },
      ),
      { numRuns: 1500 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => check(normalizeLine(b))),
      { numRuns: 500 },
    );
  });
});
