import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isJsonText } from '../../../services/ingest/src/json-syntax.ts';

/** The reference: what the receiver did before (decode as UTF-8, JSON.parse). */
function parses(bytes: Uint8Array): boolean {
  try {
    JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
    return true;
  } catch {
    return false;
  }
}

const check = (bytes: Uint8Array): void => {
  assert.equal(
    isJsonText(bytes),
    parses(bytes),
    `disagrees on ${JSON.stringify(Buffer.from(bytes).toString('latin1'))}`,
  );
};
const text = (s: string): Uint8Array => Buffer.from(s, 'utf8');

/** Bytes that make up JSON and its usual mistakes, so random strings of them hit the edge cases. */
const JSONISH = [...'{}[]:,"\\/ \t\n\r0123456789-+.eEtruefalsnubfx\u00e9\u20ac', '\u0000', '\u001f', '\ufeff'];

describe('isJsonText: same verdict as JSON.parse of the UTF-8 text', () => {
  test('hand-picked edge cases', () => {
    const cases = [
      '{}',
      '[]',
      ' {} ',
      '\r\n\t[ ]\n',
      '0',
      '-0',
      '1.5e+10',
      '-1E-2',
      '"x"',
      'true',
      'false',
      'null',
      '',
      ' ',
      '{',
      '}',
      '[',
      '[1,]',
      '[,1]',
      '{"a":1,}',
      '{"a" 1}',
      '{a:1}',
      "{'a':1}",
      '01',
      '1.',
      '.5',
      '+1',
      '-',
      '1e',
      '1e+',
      '--1',
      '0x10',
      'NaN',
      'Infinity',
      'tru',
      'nul',
      'truex',
      '[true false]',
      '{"a":1 "b":2}',
      '"\\u00e9"',
      '"\\u00G0"',
      '"\\x41"',
      '"\\',
      '"abc',
      '"a\tb"',
      '"a\u007fb"',
      '\ufeff{}',
      '{}{}',
      '[]]',
      '[[[[[]]]]]',
      '[[[[[]]]]',
      '{"a":{"b":[1,{"c":null}]}}',
      '{"a":{"b":[1,{"c":null}]]}',
      '"\\ud800"',
      '[1,2,3] x',
      '{"":""}',
      '{"a":1,"a":2}',
      '1 2',
      '[1 2]',
      '{"a":}',
      '{"a"}',
      '{,}',
      '[-]',
      '[1.e1]',
    ];
    for (const c of cases) check(text(c));
  });

  test('invalid UTF-8 inside and outside strings, a byte-order mark', () => {
    check(Uint8Array.from([0x22, 0xe2, 0x22])); // lone lead byte in a string: U+FFFD, valid
    check(Uint8Array.from([0x22, 0xff, 0xfe, 0x22]));
    check(Uint8Array.from([0xe2, 0x22, 0x22])); // outside a string: invalid
    check(Uint8Array.from([0xef, 0xbb, 0xbf, 0x7b, 0x7d])); // BOM + {}
    check(Uint8Array.from([0x5b, 0x22, 0xc3, 0xa9, 0x22, 0x5d]));
  });

  test('deep nesting does not overflow the stack', () => {
    const depth = 200_000;
    check(text('['.repeat(depth) + ']'.repeat(depth)));
    check(text('['.repeat(depth) + ']'.repeat(depth - 1)));
    assert.equal(isJsonText(text('{"a":'.repeat(depth) + '1' + '}'.repeat(depth))), true);
  });

  test('every JSON value fast-check generates (compact and pretty-printed) is accepted', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.constantFrom(undefined, 2, '\t'), (v, indent) => {
        const bytes = text(JSON.stringify(v, null, indent));
        assert.equal(isJsonText(bytes), true);
      }),
      { numRuns: 3000 },
    );
  });

  test('random edits of valid JSON (truncate, delete, insert, replace a byte) get the same verdict', () => {
    fc.assert(
      fc.property(
        fc.jsonValue(),
        fc.nat(),
        fc.constantFrom('truncate', 'delete', 'insert', 'replace'),
        fc.constantFrom(...JSONISH),
        (v, at, edit, ch) => {
          const s = JSON.stringify(v, null, 1) ?? 'null';
          const p = at % (s.length + 1);
          const edited =
            edit === 'truncate'
              ? s.slice(0, p)
              : edit === 'delete'
                ? s.slice(0, p) + s.slice(p + 1)
                : edit === 'insert'
                  ? s.slice(0, p) + ch + s.slice(p)
                  : s.slice(0, p) + ch + s.slice(p + 1);
          check(text(edited));
        },
      ),
      { numRuns: 5000 },
    );
  });

  test('random strings over JSON-ish characters and random bytes get the same verdict', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...JSONISH), { maxLength: 24 }), (parts) => check(text(parts.join('')))),
      { numRuns: 20_000 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 16 }), (bytes) => check(bytes)),
      { numRuns: 5000 },
    );
  });

  test('works on a subarray view (a Buffer from a pool)', () => {
    const pool = Buffer.from('xx{"a":[1,2]}yy');
    assert.equal(isJsonText(pool.subarray(2, 13)), true);
    assert.equal(isJsonText(pool.subarray(2, 12)), false);
  });
});
