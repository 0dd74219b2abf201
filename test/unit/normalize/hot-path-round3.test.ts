/**
 * Third round of hot-path work (bench:normalize): each shortcut must give exactly what the plain
 * form gave. stableId's typed-array copy is compared with the documented per-code-unit algorithm,
 * the one-pass IPv4 address scan with the grammar, and the per-URI route memo and host split are
 * checked through whole events (shared memo entries must never leak into, or be changed through,
 * an event).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { stableId } from '../../../shared/src/normalize/common/hash.ts';
import { parseAddress } from '../../../shared/src/normalize/common/address.ts';
import { normalizeLine } from '../../../shared/src/normalize/index.ts';
import type { RegistryEvent } from '../../../shared/src/model/registry-event.ts';

const RUNS = { numRuns: 2000 };

/** The id as hash.ts documents it: four multiply-rotate lanes over every UTF-16 code unit of the U+001F-joined parts. */
function referenceId(...parts: (string | number | undefined)[]): string {
  const joined = parts.map((p) => (p === undefined ? '' : String(p))).join('\u001f');
  let a = 0x9e3779b1 | 0;
  let b = 0x85ebca77 | 0;
  let c = 0xc2b2ae3d | 0;
  let d = 0x27d4eb2f | 0;
  for (let i = 0; i < joined.length; i++) {
    const u = joined.charCodeAt(i);
    a = Math.imul(a ^ u, 0x85ebca6b);
    a = (a << 13) | (a >>> 19);
    b = Math.imul(b ^ u, 0xcc9e2d51);
    b = (b << 15) | (b >>> 17);
    c = Math.imul(c ^ u, 0x1b873593);
    c = (c << 11) | (c >>> 21);
    d = Math.imul(d ^ u, 0xe6546b64);
    d = (d << 17) | (d >>> 15);
  }
  const len = joined.length;
  a ^= len;
  a = (a + b) | 0;
  b = (b + c) | 0;
  c = (c + d) | 0;
  d = (d + a) | 0;
  const fmix = (h0: number): number => {
    let h = h0;
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    return h >>> 0;
  };
  const hex = (n: number) => n.toString(16).padStart(8, '0');
  return hex(fmix(a)) + hex(fmix(b)) + hex(fmix(c)) + hex(fmix(d ^ len));
}

describe('stableId (typed-array copy for long parts) matches the per-code-unit definition', () => {
  const part = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 400 }),
    fc.string({ unit: 'grapheme-ascii', minLength: 40, maxLength: 3000 }),
    fc.nat(),
    fc.constant(undefined),
  );
  test('random parts (any code units, lone surrogates, long and short)', () => {
    fc.assert(
      fc.property(fc.array(part, { minLength: 1, maxLength: 5 }), (parts) => {
        assert.equal(stableId(...parts), referenceId(...parts));
      }),
      RUNS,
    );
  });
  test('sliced and concatenated strings hash like flat ones', () => {
    const line = `198.51.100.7 - - [29/Nov/2026:15:04:12 +0000] "GET /v2/a/b/manifests/latest HTTP/1.1" 200 527 "-" "docker/24.0.7"\n`;
    const sliced = line.slice(0, -1);
    const flat = [...sliced].join('');
    assert.equal(stableId(sliced, undefined), stableId(flat, undefined));
    assert.equal(stableId(sliced, 42), referenceId(flat, 42));
    const lone = `${'x'.repeat(60)}\ud800${'y'.repeat(10)}\udfff`;
    assert.equal(stableId(lone), referenceId(lone));
    const huge = 'z'.repeat(100_000);
    assert.equal(stableId(huge, huge), referenceId(huge, huge));
  });
  test('ids are 32 lower-case hex characters', () => {
    assert.match(stableId('a'), /^[0-9a-f]{32}$/);
    assert.match(stableId('b'.repeat(500), 7), /^[0-9a-f]{32}$/);
  });
});

describe('one-pass IPv4 address scan agrees with the address grammar', () => {
  /** Reference: Go-style four-part decimal (no leading zeros, ≤ 255) and a 1–5 digit port ≤ 65535. */
  function expected(s: string): { address: string; ip?: string; port?: number } {
    const m = /^([^:]*)(?::(.*))?$/.exec(s);
    const host = m?.[1] ?? s;
    const rest = m?.[2];
    const four = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/.test(host);
    const port = rest !== undefined && /^\d{1,5}$/.test(rest) && Number(rest) <= 65535 ? Number(rest) : undefined;
    const out: { address: string; ip?: string; port?: number } = { address: s };
    if (four) out.ip = host;
    if (port !== undefined) out.port = port;
    return out;
  }
  const octet = fc.oneof(
    fc.integer({ min: 0, max: 300 }).map(String),
    fc.constantFrom('00', '01', '007', '255', '256', '1000', ''),
  );
  const addr = fc
    .tuple(
      fc.array(octet, { minLength: 3, maxLength: 5 }),
      fc.option(fc.oneof(fc.integer({ min: 0, max: 999_999 }).map(String), fc.constantFrom('', 'x', '80a', '0080'))),
    )
    .map(([parts, port]) => parts.join('.') + (port === null ? '' : `:${port}`));
  test('dotted quads with and without a port', () => {
    fc.assert(
      fc.property(addr, (s) => {
        assert.deepStrictEqual(parseAddress(s), expected(s));
      }),
      RUNS,
    );
  });
  test('edge cases keep their key order and absent keys', () => {
    assert.deepStrictEqual(Object.keys(parseAddress('192.0.2.1:8080')), ['address', 'ip', 'port']);
    assert.deepStrictEqual(parseAddress('192.0.2.1'), { address: '192.0.2.1', ip: '192.0.2.1' });
    assert.deepStrictEqual(parseAddress('192.0.2.1:1:2'), { address: '192.0.2.1:1:2' });
    assert.deepStrictEqual(parseAddress('registry:5000'), { address: 'registry:5000', port: 5000 });
    assert.deepStrictEqual(parseAddress('1.2.3.4.5'), { address: '1.2.3.4.5' });
  });
});

function eventOf(line: string): RegistryEvent {
  const [r] = normalizeLine(line);
  assert.equal(r?.kind, 'event', JSON.stringify(r));
  if (r?.kind !== 'event') throw new Error('no event');
  return r.event;
}

const access = (uri: string, method = 'GET', status = 200) =>
  `198.51.100.7 - - [29/Nov/2026:15:04:12 +0000] "${method} ${uri} HTTP/1.1" ${status} 527 "-" "docker/24.0.7"`;

describe('per-URI route memo', () => {
  test('repeated URIs give equal, independent events', () => {
    const uri = '/v2/team/app/blobs/uploads/0b5c?_state=abc&digest=sha256%3A' + 'a'.repeat(64);
    const first = eventOf(access(uri, 'PUT', 201));
    const second = eventOf(access(uri, 'PUT', 201));
    assert.deepStrictEqual(second, first);
    assert.notEqual(second.url, first.url);
    assert.equal(first.oci_registry.digest, `sha256:${'a'.repeat(64)}`);
    assert.equal(first.url?.query, `digest=sha256%3A${'a'.repeat(64)}`);
    // Changing one event never reaches the memo or a later event.
    if (first.url !== undefined) first.url.path = '/changed';
    assert.equal(eventOf(access(uri, 'PUT', 201)).url?.path, '/v2/team/app/blobs/uploads/0b5c');
  });
  test('URIs that share a memo slot (same length and probed characters) keep their own routes', () => {
    // Same length, same last, sixth-from-last and middle characters: the same slot.
    const a = '/v2/aa/x/manifests/v1.0.0-tag';
    const b = '/v2/bb/y/manifests/v1.0.0-tag';
    assert.equal(a.length, b.length);
    for (let i = 0; i < 3; i++) {
      assert.equal(eventOf(access(a)).oci_registry.repository, 'aa/x');
      assert.equal(eventOf(access(b)).oci_registry.repository, 'bb/y');
    }
  });
  test('a tag reference and a digest reference on the same path shape', () => {
    const byTag = eventOf(access('/v2/team/app/manifests/latest'));
    assert.equal(byTag.oci_registry.tag, 'latest');
    assert.equal(byTag.oci_registry.digest, undefined);
    const digest = `sha256:${'b'.repeat(64)}`;
    const byDigest = eventOf(access(`/v2/team/app/manifests/${digest}`));
    assert.equal(byDigest.oci_registry.digest, digest);
    assert.equal(byDigest.oci_registry.tag, undefined);
    assert.deepStrictEqual(byDigest.container?.image?.hash, { all: [digest] });
  });
});

describe('url.domain / url.port from the Host header', () => {
  const appLine = (host: string) =>
    JSON.stringify({
      'http.request.host': host,
      'http.request.id': 'b2f0c0a4-6b7e-4f5e-9d3c-0c2b1a7e9f10',
      'http.request.method': 'GET',
      'http.request.remoteaddr': '198.51.100.7:53110',
      'http.request.uri': '/v2/team/app/manifests/latest',
      'http.response.status': 200,
      level: 'info',
      msg: 'response completed',
      time: '2026-11-29T15:04:12.123456Z',
    });
  for (const [host, domain, port] of [
    ['registry.example.com:5000', 'registry.example.com', 5000],
    ['registry.example.com', 'registry.example.com', undefined],
    ['a:b:12', 'a:b', 12],
    ['registry:123456', 'registry:123456', undefined],
    ['registry:', 'registry:', undefined],
    [':5000', ':5000', undefined],
    ['198.51.100.9:443', '198.51.100.9', 443],
  ] as const) {
    test(`${host}`, () => {
      const ev = eventOf(appLine(host));
      assert.equal(ev.url?.domain, domain);
      assert.equal(ev.url?.port, port);
      assert.equal('port' in (ev.url ?? {}), port !== undefined);
    });
  }
});
