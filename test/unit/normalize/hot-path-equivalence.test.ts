/**
 * The normalizer's hot path replaces zod, regexes and Date work with hand-written scans. Each of
 * those must agree with the form it replaced: these property tests (fast-check) compare them with
 * the documented contract (zod schema, route/digest regexes, ipaddr.js, Date#toISOString) and with
 * the general code path on generated inputs, including the edge cases each scan has to get right.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { NotificationEventSchema, isNotificationEvent } from '../../../shared/src/normalize/distribution/schemas.ts';
import { canonicalIp, parseAddress } from '../../../shared/src/normalize/common/address.ts';
import { isDigest, parseV2Path, splitUri } from '../../../shared/src/normalize/common/repository.ts';
import { toUtcTimestamp } from '../../../shared/src/normalize/common/time.ts';
import { parseGoDuration } from '../../../shared/src/normalize/common/duration.ts';
import { FieldReader } from '../../../shared/src/normalize/common/fields.ts';

const RUNS = { numRuns: 3000 };

describe('isNotificationEvent (hand check) never accepts what NotificationEventSchema rejects', () => {
  const SAMPLES = new URL('../../fixtures/registry-samples/', import.meta.url);
  const events: unknown[] = [];
  for (const f of readdirSync(SAMPLES).filter((n) => /^\d\d-dist-notif/.test(n))) {
    const body = readFileSync(new URL(f, SAMPLES), 'utf8');
    const docs = f.endsWith('.ndjson') ? body.split('\n').filter((l) => l.trim().length > 0) : [body];
    for (const d of docs) {
      const v = JSON.parse(d) as { events?: unknown[] };
      events.push(...(Array.isArray(v.events) ? v.events : [v]));
    }
  }

  test('accepts every notification event in the samples', () => {
    assert.ok(events.length > 20);
    for (const e of events) {
      assert.equal(NotificationEventSchema.safeParse(e).success, true);
      assert.equal(isNotificationEvent(e), true, JSON.stringify(e).slice(0, 200));
    }
  });

  // Values of every JSON type (and the edge numbers) in every field the schema constrains.
  const anyValue = fc.oneof(
    fc.constant(undefined),
    fc.constant(null),
    fc.string({ maxLength: 4 }),
    fc.constantFrom('', 'x', 'sha256:abc'),
    fc.constantFrom(0, -0, -1, 1.5, 2 ** 53, 2 ** 60, 42),
    fc.boolean(),
    fc.constant([]),
    fc.constant({}),
  );
  // Each field is usually of the right type (so that whole events are often valid) and sometimes any value.
  const mostly = <T>(good: fc.Arbitrary<T>) =>
    fc.oneof({ weight: 6, arbitrary: good }, { weight: 1, arbitrary: anyValue });
  const optStr = mostly(fc.option(fc.string({ maxLength: 4 }), { nil: undefined }));
  const optSize = mostly(fc.option(fc.nat(), { nil: undefined }));
  const descriptor = mostly(
    fc.record(
      {
        mediaType: optStr,
        digest: optStr,
        size: optSize,
        platform: mostly(fc.record({ os: optStr, architecture: optStr, variant: optStr }, { requiredKeys: [] })),
      },
      { requiredKeys: [] },
    ),
  );
  const event = fc.record(
    {
      id: mostly(fc.string({ minLength: 1, maxLength: 4 })),
      timestamp: optStr,
      action: mostly(fc.constantFrom('pull', 'push', 'mount', 'delete')),
      target: mostly(
        fc.record(
          {
            mediaType: optStr,
            digest: optStr,
            size: optSize,
            length: optSize,
            repository: optStr,
            fromRepository: optStr,
            url: optStr,
            tag: optStr,
            references: mostly(fc.option(fc.array(descriptor, { maxLength: 3 }), { nil: null })),
          },
          { requiredKeys: [] },
        ),
      ),
      request: mostly(
        fc.option(
          fc.record(
            { id: optStr, addr: optStr, host: optStr, method: optStr, useragent: optStr },
            { requiredKeys: [] },
          ),
          { nil: null },
        ),
      ),
      actor: mostly(fc.option(fc.record({ name: optStr }, { requiredKeys: [] }), { nil: null })),
      source: mostly(fc.option(fc.record({ addr: optStr, instanceID: optStr }, { requiredKeys: [] }), { nil: null })),
    },
    { requiredKeys: ['id', 'action', 'target'] },
  );

  test('generated events: hand check and zod agree (true ⇒ zod accepts)', () => {
    let accepted = 0;
    let rejected = 0;
    fc.assert(
      fc.property(event, (e) => {
        // JSON round trip: inputs are always parsed JSON (no undefined values, -0 becomes 0).
        const v = JSON.parse(JSON.stringify(e)) as unknown;
        const hand = isNotificationEvent(v);
        if (hand) accepted++;
        else rejected++;
        // The hand check may only be stricter; on these shapes it is exactly as strict.
        assert.equal(hand, NotificationEventSchema.safeParse(v).success, JSON.stringify(v));
      }),
      { numRuns: 20000 },
    );
    assert.ok(accepted > 1000 && rejected > 1000, `both outcomes generated (${accepted} / ${rejected})`);
  });

  test('mutated sample events: hand check and zod agree', () => {
    const keys = ['id', 'timestamp', 'action', 'target', 'request', 'actor', 'source'] as const;
    fc.assert(
      fc.property(
        fc.constantFrom(...events),
        fc.constantFrom(...keys),
        fc.constantFrom('mediaType', 'size', 'references', 'name', 'addr', 'method', 'instanceID'),
        anyValue,
        (e, k, inner, val) => {
          const copy = JSON.parse(JSON.stringify(e)) as Record<string, unknown>;
          const slot = copy[k];
          if (typeof slot === 'object' && slot !== null && !Array.isArray(slot))
            (slot as Record<string, unknown>)[inner] = val;
          else copy[k] = val;
          const v = JSON.parse(JSON.stringify(copy)) as unknown;
          // Exact agreement on these shapes: every difference would fall back to zod anyway.
          assert.equal(isNotificationEvent(v), NotificationEventSchema.safeParse(v).success, JSON.stringify(v));
        },
      ),
      RUNS,
    );
  });
});

describe('route and digest scans agree with the grammar regexes', () => {
  const DIGEST_RE = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
  const ROUTES: [string, RegExp][] = [
    ['manifest', /^\/v2\/(.+)\/manifests\/([^/]+)$/],
    ['upload', /^\/v2\/(.+)\/blobs\/uploads(?:\/([^/]*))?$/],
    ['blob', /^\/v2\/(.+)\/blobs\/([^/]+)$/],
    ['tags-list', /^\/v2\/(.+)\/tags\/list$/],
    ['referrers', /^\/v2\/(.+)\/referrers\/([^/]+)$/],
  ];
  /** The regex form of parseV2Path (first matching route wins). */
  function byRegex(path: string): Record<string, string> {
    if (path === '/v2/' || path === '/v2') return { route: 'base' };
    if (!path.startsWith('/v2/')) return { route: 'unknown' };
    if (path === '/v2/_catalog') return { route: 'catalog' };
    for (const [route, re] of ROUTES) {
      const m = re.exec(path);
      if (!m) continue;
      const name = m[1] ?? '';
      if (route === 'manifest' || route === 'referrers') return { route, name, reference: m[2] ?? '' };
      if (route === 'blob') return { route, name, digest: m[2] ?? '' };
      if (route === 'upload') return m[2] ? { route, name, uploadId: m[2] } : { route, name };
      return { route, name };
    }
    return { route: 'unknown' };
  }
  const segment = fc.constantFrom(
    'a',
    'team/app',
    'manifests',
    'blobs',
    'uploads',
    'tags',
    'list',
    'referrers',
    '_catalog',
    'sha256:abc',
    '',
    'x\ny',
    'v2',
    'é',
  );
  const path = fc
    .tuple(fc.constantFrom('/v2/', '/v2', '/', 'v2/'), fc.array(segment, { maxLength: 6 }), fc.boolean())
    .map(([head, segs, slash]) => head + segs.join('/') + (slash ? '/' : ''));

  test('parseV2Path', () => {
    fc.assert(
      fc.property(path, (p) => assert.deepEqual(parseV2Path(p), byRegex(p), JSON.stringify(p))),
      { numRuns: 20000 },
    );
  });

  test('isDigest', () => {
    const text = fc
      .array(fc.constantFrom('a', 'z', '0', 'A', ':', '+', '.', '_', '-', '=', '/', 'sha256', 'é', '\n'), {
        maxLength: 10,
      })
      .map((xs) => xs.join(''));
    fc.assert(
      fc.property(text, (s) => assert.equal(isDigest(s), DIGEST_RE.test(s), JSON.stringify(s))),
      { numRuns: 20000 },
    );
    assert.equal(isDigest(`sha256:${'a'.repeat(249)}`), true);
    assert.equal(isDigest(`sha256:${'a'.repeat(250)}`), false, 'longer than 256 characters');
  });

  test('splitUri(uri, only) gives the same params as splitUri(uri), restricted to `only`', () => {
    const only = new Set(['digest', 'mount', 'from']);
    const part = fc.constantFrom(
      'digest',
      'mount',
      'from',
      '_state',
      '%5Fstate',
      '%64igest',
      '=',
      '&',
      '&&',
      'x',
      '%zz',
      '+',
      '?',
    );
    fc.assert(
      fc.property(fc.array(part, { maxLength: 8 }), (parts) => {
        const uri = `/v2/a/blobs/uploads/u?${parts.join('')}`;
        const all = splitUri(uri);
        const some = splitUri(uri, only);
        assert.deepEqual(
          [...some.params],
          [...all.params].filter(([k]) => only.has(k)),
        );
        assert.equal(some.safeQuery, all.safeQuery);
        assert.equal(some.query, all.query);
        assert.equal(some.path, all.path);
      }),
      RUNS,
    );
  });
});

describe('address scan agrees with ipaddr.js', () => {
  test('dotted-quad IPv4 is canonical exactly when ipaddr.js says four-part decimal', () => {
    const part = fc.oneof(fc.nat({ max: 300 }).map(String), fc.constantFrom('00', '01', '010', '0x1', '', '1000', '٣'));
    const text = fc.oneof(
      fc.array(part, { minLength: 1, maxLength: 5 }).map((p) => p.join('.')),
      fc.string({ maxLength: 16 }),
    );
    fc.assert(
      fc.property(text, (s) => {
        const expected = ipaddr.IPv4.isValidFourPartDecimal(s) ? ipaddr.IPv4.parse(s).toString() : undefined;
        if (s.includes(':')) return; // IPv6 still goes through ipaddr.js
        assert.equal(canonicalIp(s), expected, JSON.stringify(s));
      }),
      { numRuns: 20000 },
    );
  });

  test('ports and whitespace', () => {
    assert.deepEqual(parseAddress('192.0.2.1:65535'), { address: '192.0.2.1:65535', ip: '192.0.2.1', port: 65535 });
    assert.deepEqual(parseAddress('192.0.2.1:65536'), { address: '192.0.2.1:65536', ip: '192.0.2.1' });
    assert.deepEqual(parseAddress('192.0.2.1:'), { address: '192.0.2.1:', ip: '192.0.2.1' });
    assert.deepEqual(parseAddress('\u00a0192.0.2.1\u00a0'), { address: '192.0.2.1', ip: '192.0.2.1' });
    assert.deepEqual(parseAddress('192.0.2.1:٣'), { address: '192.0.2.1:٣', ip: '192.0.2.1' });
  });
});

describe('time fast paths agree with the general path', () => {
  const two = (max: number) => fc.nat({ max }).map((n) => String(n).padStart(2, '0'));
  const fields = fc.record({
    y: fc.constantFrom('0000', '0004', '0099', '1900', '2000', '2024', '2100', '9999'),
    mo: two(13),
    d: two(32),
    h: two(24),
    mi: two(60),
    s: two(60),
    frac: fc.constantFrom('', '.1', '.12', '.123', '.1234567', '.123456789'),
    zone: fc.constantFrom('Z', '+00:00', '+01:00', '-08:00', '+23:59', '+24:00', '-00:60'),
  });

  test('RFC 3339 with T (fast path) equals the same time with a space (regex path)', () => {
    fc.assert(
      fc.property(fields, ({ y, mo, d, h, mi, s, frac, zone }) => {
        const fast = toUtcTimestamp(`${y}-${mo}-${d}T${h}:${mi}:${s}${frac}${zone}`);
        const general = toUtcTimestamp(`${y}-${mo}-${d} ${h}:${mi}:${s}${frac}${zone}`);
        assert.equal(fast?.timestamp, general?.timestamp);
      }),
      { numRuns: 20000 },
    );
  });

  test('epoch seconds render as Date#toISOString does (years 0000–9999)', () => {
    fc.assert(
      fc.property(fc.integer({ min: -62167219200, max: 253402300799 }), (sec) => {
        const iso = new Date(sec * 1000).toISOString();
        assert.equal(toUtcTimestamp(sec, { epochUnit: 's' })?.timestamp, iso);
        assert.equal(toUtcTimestamp(`${sec}`, { epochUnit: 's' })?.timestamp, iso);
      }),
      { numRuns: 20000 },
    );
    assert.equal(toUtcTimestamp(253402300800, { epochUnit: 's' }), null, 'year 10000');
  });

  test('epoch milliseconds (number and text) agree', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 253402300799999 }), (ms) => {
        assert.deepEqual(toUtcTimestamp(ms, { epochUnit: 'ms' }), toUtcTimestamp(String(ms), { epochUnit: 'ms' }));
      }),
      RUNS,
    );
  });
});

describe('Go duration number-only path agrees with exact BigInt arithmetic', () => {
  const UNITS: Record<string, bigint> = {
    ns: 1n,
    us: 1_000n,
    µs: 1_000n,
    ms: 1_000_000n,
    s: 1_000_000_000n,
    m: 60_000_000_000n,
    h: 3_600_000_000_000n,
  };
  test('groups whose value is exact', () => {
    const group = fc.record({
      whole: fc.nat({ max: 999_999 }),
      frac: fc.constantFrom('', '5', '25', '125', '000001', '123456789'),
      unit: fc.constantFrom(...Object.keys(UNITS)),
    });
    fc.assert(
      fc.property(fc.boolean(), fc.array(group, { minLength: 1, maxLength: 3 }), (neg, groups) => {
        const text = (neg ? '-' : '') + groups.map((g) => `${g.whole}${g.frac ? `.${g.frac}` : ''}${g.unit}`).join('');
        let total = 0n;
        let exact = true;
        for (const g of groups) {
          const unit = UNITS[g.unit] ?? 1n;
          const scale = 10n ** BigInt(g.frac.length);
          const f = g.frac ? BigInt(g.frac) * unit : 0n;
          if (f % scale !== 0n) exact = false;
          total += BigInt(g.whole) * unit + f / scale;
        }
        if (!exact) return; // Go truncates such fractions in float64; covered by common-duration tests
        // Go's ParseDuration rejects values outside int64 nanoseconds ("invalid duration").
        const limit = neg ? 1n << 63n : (1n << 63n) - 1n;
        if (total > limit) {
          assert.equal(parseGoDuration(text), null, text);
          return;
        }
        const expected = Number(total);
        assert.equal(parseGoDuration(text), neg ? -expected : expected, text);
      }),
      RUNS,
    );
  });
});

describe('FieldReader reads a Map like the equivalent object', () => {
  test('str/int/any and the first problem', () => {
    const value = fc.oneof(
      fc.string({ maxLength: 3 }),
      fc.constantFrom('12', '1e3', '-1', ''),
      fc.integer(),
      fc.constant(null),
    );
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom('a', 'b', 'c'), value), (obj) => {
        const fromObj = new FieldReader(obj);
        const fromMap = new FieldReader(new Map(Object.entries(obj)));
        for (const k of ['a', 'b', 'c', 'd']) {
          assert.equal(fromMap.str(k), fromObj.str(k));
          assert.equal(fromMap.int(k), fromObj.int(k));
          assert.equal(fromMap.any(k), fromObj.any(k));
        }
        assert.equal(fromMap.problem, fromObj.problem);
      }),
      RUNS,
    );
  });
});
