/**
 * The hand-written Apache combined scanner (sources/distribution-combined.ts `scanCombined`) must
 * match exactly what its grammar regex `COMBINED_RE` matches, with the same groups, on real access
 * lines, on lines built from the grammar with awkward characters, and on arbitrary text.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { COMBINED_RE, scanCombined } from '../../../shared/src/normalize/sources/distribution-combined.ts';

const RUNS = { numRuns: 3000, seed: 20261129 };

/** The regex's answer in the scanner's shape (groups 1, 3–9). */
function viaRegex(line: string): ReturnType<typeof scanCombined> {
  const m = COMBINED_RE.exec(line);
  if (m === null) return null;
  return {
    host: m[1] ?? '',
    user: m[3] ?? '',
    time: m[4] ?? '',
    request: m[5] ?? '',
    status: m[6] ?? '',
    bytes: m[7] ?? '',
    referer: m[8],
    ua: m[9],
  };
}

const same = (line: string): void => assert.deepEqual(scanCombined(line), viaRegex(line), JSON.stringify(line));

// Characters that sit on the grammar's edges: quotes, backslashes, brackets, ASCII and Unicode
// spaces, line terminators, digits, dashes.
const tricky = fc.constantFrom(
  '"',
  '\\',
  '\\"',
  '\\\\',
  ']',
  '[',
  ' ',
  '\t',
  '\n',
  '\r',
  '\u2028',
  '\u00a0',
  '\u3000',
  '\ufeff',
  '-',
  '0',
  '7',
  'a',
  'Z',
  '/',
  ':',
  'é',
);
const piece = fc.array(fc.oneof(tricky, fc.string({ maxLength: 3 })), { maxLength: 6 }).map((a) => a.join(''));
const often = <T>(valid: fc.Arbitrary<T>, odd: fc.Arbitrary<T>): fc.Arbitrary<T> =>
  fc.oneof({ arbitrary: valid, weight: 12 }, { arbitrary: odd, weight: 1 });
const word = often(fc.constantFrom('203.0.113.9', '-', 'alice', '::1'), piece);
const digits = often(fc.constantFrom('200', '404', '-', '0', '1234', '-5', '20'), piece);

const grammarLine = fc
  .record({
    host: word,
    ident: word,
    user: word,
    time: often(fc.constant('10/Oct/2000:13:55:36 -0700'), piece),
    request: fc.oneof(fc.constant('GET /v2/ HTTP/1.1'), piece),
    status: often(fc.constantFrom('200', '401', '2000', '20'), piece),
    bytes: digits,
    tail: fc.option(fc.tuple(piece, piece), { nil: undefined }),
    junk: fc.option(piece, { nil: undefined, freq: 8 }),
  })
  .map(
    (r) =>
      `${r.host} ${r.ident} ${r.user} [${r.time}] "${r.request}" ${r.status} ${r.bytes}` +
      (r.tail === undefined ? '' : ` "${r.tail[0]}" "${r.tail[1]}"`) +
      (r.junk ?? ''),
  );

/** A valid line with 1–3 edge characters inserted at random positions. */
const insertedLine = fc
  .tuple(
    fc.constantFrom(
      '203.0.113.9 - alice [10/Oct/2000:13:55:36 -0700] "GET /v2/ HTTP/1.1" 200 87 "-" "docker/27.3.1"',
      '::1 - - [10/Oct/2000:13:55:36 -0700] "HEAD /v2/a\\"b HTTP/1.1" 401 - "ref" "ua \\\\ x"',
      '10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "PUT /v2/x HTTP/1.1" 201 0',
    ),
    fc.array(fc.tuple(fc.nat(), tricky), { minLength: 1, maxLength: 3 }),
  )
  .map(([line, edits]) => {
    let out = line;
    for (const [at, ch] of edits) {
      const i = at % (out.length + 1);
      out = out.slice(0, i) + ch + out.slice(i);
    }
    return out;
  });

describe('scanCombined equals COMBINED_RE', () => {
  test('real access lines (fixtures) match, with the same groups', () => {
    const lines = [
      ...readFileSync(
        new URL('../../fixtures/registry-samples/21-dist-accesslog-combined.log', import.meta.url),
        'utf8',
      )
        .split('\n')
        .filter((l) => l.length > 0),
      '172.17.0.1 - - [29/Nov/2026:15:04:10 +0000] "GET /v2/team/app/manifests/latest HTTP/1.1" 200 1570 "" "docker/27.3.1 go/go1.22.7"',
      '2001:db8::7 - - [29/Nov/2026:15:04:10 +0000] "HEAD /v2/ HTTP/1.1" 401 87',
      '10.0.0.1 - - [29/Nov/2026:15:04:10 +0000] "GET /v2/a\\"b HTTP/1.1" 200 - "-" "ua \\\\ \\x41"',
    ];
    let matched = 0;
    for (const l of lines) {
      same(l);
      if (scanCombined(l) !== null) matched++;
    }
    assert.ok(matched >= lines.length - 1, `only ${matched} of ${lines.length} lines matched`);
  });

  test('lines built from the grammar with edge characters', () => {
    let matched = 0;
    fc.assert(
      fc.property(grammarLine, (line) => {
        same(line);
        if (scanCombined(line) !== null) matched++;
      }),
      RUNS,
    );
    // The generator must exercise both outcomes.
    assert.ok(matched > 100 && matched < RUNS.numRuns - 100, `matched ${matched} of ${RUNS.numRuns}`);
  });

  test('valid lines with edge characters inserted', () => {
    let matched = 0;
    fc.assert(
      fc.property(insertedLine, (line) => {
        same(line);
        if (scanCombined(line) !== null) matched++;
      }),
      { numRuns: 20000, seed: 20261129 },
    );
    assert.ok(matched > 100, `matched ${matched}`);
  });

  test('arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (line) => same(line)),
      RUNS,
    );
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 120 }), (line) => same(line)),
      RUNS,
    );
  });
});
