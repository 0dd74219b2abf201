import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { durationToNs, formatGoDuration, parseGoDuration } from '../../../shared/src/normalize/common/duration.ts';

describe('parseGoDuration (Go time.ParseDuration grammar)', () => {
  const table: [string, number][] = [
    ['0', 0],
    ['+0', 0],
    ['-0', 0],
    ['5s', 5e9],
    ['30s', 30e9],
    ['1478s', 1478e9],
    ['-5s', -5e9],
    ['+5s', 5e9],
    ['5.0s', 5e9],
    ['5.6s', 5.6e9],
    ['5.s', 5e9],
    ['.5s', 0.5e9],
    ['1.0s', 1e9],
    ['1.00s', 1e9],
    ['1.004s', 1.004e9],
    ['100.00100s', 100.001e9],
    ['10ns', 10],
    ['11us', 11_000],
    ['12µs', 12_000], // U+00B5
    ['12μs', 12_000], // U+03BC
    ['13ms', 13_000_000],
    ['14s', 14e9],
    ['15m', 15 * 60e9],
    ['16h', 16 * 3600e9],
    ['3h30m', 3.5 * 3600e9],
    ['10.5s4m', 4 * 60e9 + 10.5e9],
    ['-2m3.4s', -(2 * 60e9 + 3.4e9)],
    ['1h2m3s4ms5us6ns', 3600e9 + 120e9 + 3e9 + 4e6 + 5e3 + 6],
    ['39h9m14.425s', 39 * 3600e9 + 9 * 60e9 + 14.425e9],
    ['52763797000ns', 52763797000],
    ['0.3333333333333333333h', 1200000000000],
    ['1m51.900179248s', 111900179248],
    ['2m20.799846616s', 140799846616],
    ['41.2µs', 41200],
    ['843.2µs', 843200],
    ['843.2μs', 843200],
    ['3.731842ms', 3731842],
    ['2.345140976s', 2345140976],
    ['850ns', 850],
  ];
  for (const [s, ns] of table) {
    test(`${s} = ${ns} ns`, () => assert.equal(parseGoDuration(s), ns));
  }
  for (const bad of [
    '',
    '3',
    '-',
    's',
    '.',
    '.s',
    '+.s',
    '1d',
    '1.2.3s',
    '1 s',
    '1S',
    'x1s',
    '9223372036854775808ns',
    '3000000h',
  ]) {
    test(`rejects ${JSON.stringify(bad)}`, () => assert.equal(parseGoDuration(bad), null));
  }
});

describe('formatGoDuration (Go Duration.String)', () => {
  const table: [number, string][] = [
    [0, '0s'],
    [1, '1ns'],
    [1100, '1.1µs'],
    [2200000, '2.2ms'],
    [3300000000, '3.3s'],
    [4 * 60e9 + 5e9, '4m5s'],
    [4 * 60e9 + 5001e6, '4m5.001s'],
    [5 * 3600e9 + 6 * 60e9 + 7001e6, '5h6m7.001s'],
    [8 * 60e9 + 1, '8m0.000000001s'],
    [3600e9, '1h0m0s'],
    [-1100, '-1.1µs'],
  ];
  for (const [ns, s] of table) test(`${ns} → ${s}`, () => assert.equal(formatGoDuration(ns), s));

  test('round trip: parse(format(ns)) === ns for any int64-safe duration', () => {
    fc.assert(
      fc.property(fc.integer({ min: -Number.MAX_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }), (ns) => {
        assert.equal(parseGoDuration(formatGoDuration(ns)), ns === 0 ? 0 : ns);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('durationToNs', () => {
  test('JSON integer nanoseconds (Go time.Duration JSON encoding, C12)', () =>
    assert.equal(durationToNs(1420000), 1420000));
  test('digit string is nanoseconds', () => assert.equal(durationToNs('1420000'), 1420000));
  test('Go string', () => assert.equal(durationToNs('1.42ms'), 1420000));
  test('garbage is undefined', () => {
    assert.equal(durationToNs('fast'), undefined);
    assert.equal(durationToNs({}), undefined);
    assert.equal(durationToNs(undefined), undefined);
  });
});
