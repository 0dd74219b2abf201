/**
 * Property tests (fast-check): the normalizer never throws and answers bad input with a typed
 * rejection — arbitrary bytes, every prefix of real fixture lines, wrong types in known shapes,
 * 28 KB lines, invalid UTF-8 — through normalizeLine, normalizePayload and createNormalizer.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { EVENT_ACTIONS, EVENT_DATASETS } from '../../../shared/src/model/registry-event.ts';
import { REJECT_REASONS } from '../../../shared/src/normalize/types.ts';
import type { NormalizeResult } from '../../../shared/src/normalize/types.ts';
import { createNormalizer, normalizeLine, normalizePayload } from '../../../shared/src/normalize/index.ts';

const SAMPLES = new URL('../../fixtures/registry-samples/', import.meta.url);
const files = readdirSync(SAMPLES).filter((f) => /^\d/.test(f));
const text = (f: string) => readFileSync(new URL(f, SAMPLES), 'utf8');

/** Every non-blank line of the line-oriented fixtures (NDJSON and text logs). */
const fixtureLines: string[] = files
  .filter((f) => f.endsWith('.ndjson') || f.endsWith('.log'))
  .flatMap((f) => text(f).split('\n'))
  .filter((l) => l.trim().length > 0);
/** Whole-file JSON documents, compacted to one line each. */
const docs: { file: string; body: string }[] = files
  .filter((f) => f.endsWith('.json'))
  .map((f) => ({ file: f, body: text(f) }));
const compactDocs = docs.map((d) => JSON.stringify(JSON.parse(d.body)));
const jsonObjects: Record<string, unknown>[] = [
  ...fixtureLines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>),
  ...docs.flatMap((d) => {
    const v = JSON.parse(d.body) as unknown;
    return (Array.isArray(v) ? v : [v]) as Record<string, unknown>[];
  }),
];

const ACTIONS = new Set<string>(EVENT_ACTIONS);
const DATASETS = new Set<string>(EVENT_DATASETS);
const REASONS = new Set(Object.keys(REJECT_REASONS));

/** Asserts the NormalizeResult contract for every result. */
function checkResults(results: unknown): asserts results is NormalizeResult[] {
  assert.ok(Array.isArray(results), 'results are an array');
  for (const r of results as NormalizeResult[]) {
    if (r.kind === 'rejected') {
      assert.ok(REASONS.has(r.reason), `known reason ${r.reason}`);
      assert.equal(typeof r.detail, 'string');
      assert.equal(typeof r.original, 'string');
    } else if (r.kind === 'ignored') {
      assert.equal(typeof r.reason, 'string');
    } else {
      assert.equal(r.kind, 'event');
      const e = r.event;
      assert.ok(ACTIONS.has(e.event.action), `action ${e.event.action} is in EVENT_ACTIONS`);
      assert.ok(DATASETS.has(e.event.dataset), `dataset ${e.event.dataset}`);
      assert.ok(typeof e.event.id === 'string' && e.event.id.length > 0, 'event.id');
      assert.match(e['@timestamp'], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?Z$/);
      assert.ok(!Number.isNaN(Date.parse(e['@timestamp'])), '@timestamp parses');
      assert.equal(typeof e.oci_registry.image_pull, 'boolean');
      assert.equal(typeof e.oci_registry.actor.anonymous, 'boolean');
      if (e.event.duration !== undefined) assert.ok(Number.isFinite(e.event.duration));
    }
  }
}

const RUNS = { numRuns: 300 };

describe('fuzz: arbitrary input never throws', () => {
  test('arbitrary bytes → normalizeLine / normalizePayload return typed results', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        checkResults(normalizeLine(bytes));
        checkResults(normalizePayload(bytes, 'auto'));
        checkResults(normalizePayload(bytes, 'harbor'));
      }),
      RUNS,
    );
  });

  test('arbitrary strings (full Unicode, JSON-ish alphabet) → typed results', () => {
    const jsonish = fc.string({
      unit: fc.constantFrom(...'{}[]":,0123456789.eE+-truefalsnul \\/|[]\n\t'.split('')),
      maxLength: 200,
    });
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 300 }), jsonish), (s) => {
        checkResults(normalizeLine(s));
        checkResults(normalizePayload(s, 'auto'));
      }),
      RUNS,
    );
  });

  test('arbitrary JSON values as lines and payloads → typed results', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const s = JSON.stringify(v);
        checkResults(normalizeLine(s));
        checkResults(normalizePayload(s, 'auto'));
      }),
      RUNS,
    );
  });
});

describe('fuzz: truncated JSON (every prefix of real fixture lines)', () => {
  test('every proper prefix of every compact JSON fixture line/document is rejected as not_json (or empty)', () => {
    const lines = [...fixtureLines.filter((l) => l.startsWith('{')), ...compactDocs.filter((d) => d.startsWith('{'))];
    assert.ok(lines.length >= 30, `enough JSON lines (${lines.length})`);
    let checked = 0;
    for (const line of lines) {
      for (let n = 1; n < line.length; n++) {
        const prefix = line.slice(0, n);
        const res = normalizeLine(prefix);
        checkResults(res);
        assert.equal(res.length, 1, prefix);
        const r = res[0];
        assert.equal(r?.kind, 'rejected', prefix);
        assert.equal(r?.kind === 'rejected' && r.reason, 'not_json', prefix);
        assert.equal(r?.kind === 'rejected' && r.original, prefix);
        checked++;
      }
    }
    assert.ok(checked > 10_000, `${checked} prefixes checked`);
  });

  test('every prefix of every text fixture line gives typed results', () => {
    for (const line of fixtureLines.filter((l) => !l.startsWith('{'))) {
      for (let n = 0; n <= line.length; n++) checkResults(normalizeLine(line.slice(0, n)));
    }
  });

  test('every proper prefix of the pretty-printed Harbor documents is one not_json rejection (kind "harbor")', () => {
    for (const d of docs.filter((x) => /harbor/.test(x.file))) {
      const body = d.body.trimEnd();
      for (let n = 1; n < body.length; n++) {
        const prefix = body.slice(0, n);
        const res = normalizePayload(prefix, 'harbor');
        checkResults(res);
        if (prefix.trim().length === 0) continue;
        assert.equal(res.length, 1);
        assert.equal(res[0]?.kind === 'rejected' && res[0].reason, 'not_json', `${d.file} prefix ${n}`);
      }
      // …and the whole document is accepted.
      assert.ok(
        normalizePayload(body, 'harbor').some((r) => r.kind === 'event'),
        d.file,
      );
    }
  });

  test('prefixes of all documents with kind "auto" never throw', () => {
    for (const d of docs) {
      const body = d.body;
      const step = Math.max(1, Math.floor(body.length / 400));
      for (let n = 0; n <= body.length; n += step) checkResults(normalizePayload(body.slice(0, n), 'auto'));
    }
  });
});

/** All paths to values inside an object (`['event_data','resources',0,'tag']`, …). */
function paths(v: unknown, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  if (v !== null && typeof v === 'object') {
    for (const [k, child] of Object.entries(v)) {
      const key = Array.isArray(v) ? Number(k) : k;
      out.push([...prefix, key]);
      paths(child, [...prefix, key], out);
    }
  }
  return out;
}

function setPath(root: unknown, path: (string | number)[], value: unknown): unknown {
  const copy = structuredClone(root) as Record<string | number, unknown>;
  let cur = copy;
  for (let i = 0; i < path.length - 1; i++) cur = cur[path[i] as string] as Record<string | number, unknown>;
  cur[path[path.length - 1] as string] = value;
  return copy;
}

describe('fuzz: wrong types in known shapes', () => {
  const wrong = fc.oneof(
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.double(),
    fc.string({ maxLength: 20 }),
    fc.constant(''),
    fc.array(fc.jsonValue(), { maxLength: 3 }),
    fc.dictionary(fc.string({ maxLength: 5 }), fc.jsonValue(), { maxKeys: 3 }),
  );
  const mutation = fc.integer({ min: 0, max: jsonObjects.length - 1 }).chain((i) => {
    const obj = jsonObjects[i] ?? {};
    const ps = paths(obj);
    return fc.tuple(fc.constant(obj), fc.constantFrom(...ps), wrong);
  });

  test('any field of any real JSON fixture replaced by a value of another type → typed results', () => {
    fc.assert(
      fc.property(mutation, ([obj, path, value]) => {
        const line = JSON.stringify(setPath(obj, path, value));
        checkResults(normalizeLine(line));
        checkResults(normalizePayload(line, 'auto'));
        checkResults(normalizePayload(line, 'harbor'));
      }),
      { numRuns: 1000 },
    );
  });

  test('required fields of each Harbor/Quay shape with a wrong type → schema_mismatch', () => {
    const cases: [string, string[], unknown][] = [
      ['26-harbor-webhook-push-artifact-user.json', ['occur_at'], '1726568391'],
      ['26-harbor-webhook-push-artifact-user.json', ['event_data'], 'x'],
      ['26-harbor-webhook-push-artifact-user.json', ['type'], 7],
      ['26-harbor-webhook-push-artifact-user.json', ['event_data', 'resources'], {}],
      ['29-harbor-webhook-pull-artifact-cloudevents.json', ['id'], 5],
      ['29-harbor-webhook-pull-artifact-cloudevents.json', ['data'], null],
      ['37-quay-api-logs.json', ['logs'], 'x'],
    ];
    for (const [file, path, value] of cases) {
      const line = JSON.stringify(setPath(JSON.parse(text(file)), path, value));
      const res = normalizeLine(line);
      checkResults(res);
      assert.equal(res.length, 1, `${file} ${path.join('.')}`);
      assert.equal(res[0]?.kind === 'rejected' && res[0].reason, 'schema_mismatch', `${file} ${path.join('.')}`);
    }
    const audit = (JSON.parse(text('35-harbor-api-auditlog-exts.json')) as Record<string, unknown>[])[0];
    const res = normalizeLine(JSON.stringify({ ...audit, operation_result: 'yes' }));
    assert.equal(res[0]?.kind === 'rejected' && res[0].reason, 'schema_mismatch');
    const kafka = JSON.parse(fixtureLines.find((l) => l.includes('random_id')) ?? '{}') as Record<string, unknown>;
    const res2 = normalizeLine(JSON.stringify({ ...kafka, metadata_json: { repo: 'x' } }));
    assert.equal(res2[0]?.kind === 'rejected' && res2[0].reason, 'schema_mismatch');
  });
});

describe('fuzz: 28 KB lines', () => {
  const big = (n: number) => fc.string({ unit: 'grapheme-ascii', minLength: n, maxLength: n });

  test('28 KB of arbitrary text, and 28 KB JSON objects, never throw', () => {
    fc.assert(
      fc.property(big(28 * 1024), (s) => {
        checkResults(normalizeLine(s));
        checkResults(normalizeLine(JSON.stringify({ msg: s, level: 'info', time: '2025-08-20T12:00:00Z' })));
        checkResults(normalizePayload(JSON.stringify({ type: 'PUSH_ARTIFACT', occur_at: 1, operator: s }), 'harbor'));
      }),
      { numRuns: 30 },
    );
  });

  test('a real line with a 28 KB user agent keeps it whole', () => {
    const nexus = text('41-nexus-request.log').split('\n')[3] ?? '';
    const ua = `python-requests/2.31.0 ${'x'.repeat(28 * 1024)}`;
    const res = normalizeLine(nexus.replace('python-requests/2.31.0', ua));
    checkResults(res);
    assert.equal(res[0]?.kind === 'event' && res[0].event.user_agent?.original, ua);
    const harbor = JSON.parse(text('26-harbor-webhook-push-artifact-user.json')) as Record<string, unknown>;
    const op = `user-${'a'.repeat(28 * 1024)}`;
    const res2 = normalizeLine(JSON.stringify({ ...harbor, operator: op }));
    assert.equal(res2[0]?.kind === 'event' && res2[0].event.user?.name, op);
  });
});

describe('fuzz: invalid UTF-8', () => {
  const invalid = fc.constantFrom(
    [0xc3, 0x28], // bad continuation
    [0xff], // never valid
    [0x80], // lone continuation
    [0xc0, 0xaf], // overlong '/'
    [0xed, 0xa0, 0x80], // UTF-16 surrogate
    [0xf4, 0x90, 0x80, 0x80], // above U+10FFFF
    [0xe2, 0x82], // truncated 3-byte sequence
  );
  const lines = [...fixtureLines, ...compactDocs];

  test('an invalid sequence anywhere in a real line → one invalid_utf8 rejection with the exact bytes', () => {
    fc.assert(
      fc.property(fc.constantFrom(...lines), fc.nat(), invalid, (line, at, seq) => {
        const good = Buffer.from(line, 'utf8');
        const pos = at % (good.length + 1);
        const bytes = Buffer.concat([good.subarray(0, pos), Buffer.from(seq), good.subarray(pos)]);
        for (const res of [normalizeLine(bytes), normalizePayload(bytes, 'auto'), createNormalizer().push(bytes)]) {
          checkResults(res);
          assert.equal(res.length, 1);
          const r = res[0];
          assert.equal(r?.kind === 'rejected' && r.reason, 'invalid_utf8');
          assert.ok(
            r?.kind === 'rejected' && Buffer.from(r.original, 'latin1').equals(bytes),
            'original is byte-exact',
          );
        }
      }),
      RUNS,
    );
  });
});

describe('fuzz: the stream normalizer', () => {
  test('any sequence of real lines, prefixes and garbage, then flush → typed results, never throws', () => {
    const item = fc.oneof(
      fc.constantFrom(...fixtureLines, ...compactDocs),
      fc.tuple(fc.constantFrom(...fixtureLines), fc.nat()).map(([l, n]) => l.slice(0, n % (l.length + 1))),
      fc.uint8Array({ maxLength: 200 }),
      fc.string({ maxLength: 100 }),
    );
    fc.assert(
      fc.property(fc.array(item, { maxLength: 40 }), (items) => {
        const n = createNormalizer();
        for (const [i, it] of items.entries()) checkResults(n.push(it, { origin: 'fuzz', offset: i }));
        checkResults(n.flush());
      }),
      { numRuns: 200 },
    );
  });

  test('the same real lines give the same events through push() as through normalizeLine()', () => {
    const n = createNormalizer({ multiArchWindowMs: 0 });
    const harborLines = text('34-harbor-audit-forward-syslog.log').split('\n').filter(Boolean);
    const viaStream = harborLines.flatMap((l) => n.push(l)).concat(n.flush());
    const viaLine = harborLines.flatMap((l) => normalizeLine(l));
    assert.deepEqual(viaStream, viaLine);
  });
});
