import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { toUtcTimestamp } from '../../../shared/src/normalize/common/time.ts';

describe('toUtcTimestamp', () => {
  const table: [string | number, string][] = [
    // RFC 3339 with offsets; every fraction digit is kept (string arithmetic, not Date).
    ['2016-03-09T14:44:26.402973972-08:00', '2016-03-09T22:44:26.402973972Z'],
    ['2016-04-11T16:27:00.558433843+08:00', '2016-04-11T08:27:00.558433843Z'],
    ['2020-07-24T10:55:59.771028+01:00', '2020-07-24T09:55:59.771028Z'],
    ['2020-07-23T13:33:01+01:00', '2020-07-23T12:33:01.000Z'],
    ['2025-08-20T09:14:03.51840233Z', '2025-08-20T09:14:03.51840233Z'],
    ['2025-08-20T11:00:01.25Z', '2025-08-20T11:00:01.250Z'],
    ['2016-02-23T19:10:37Z', '2016-02-23T19:10:37.000Z'],
    ['2016-02-23t19:10:37z', '2016-02-23T19:10:37.000Z'],
    ['2024-01-01T00:30:00+0100', '2023-12-31T23:30:00.000Z'],
    ['2024-01-01T05:30:00.1+05:30', '2024-01-01T00:00:00.100Z'],
    // Go default Time.String() with monotonic suffix (Harbor syslog audit, FORMAT-EDGE-CASES 23).
    ['2022-07-19 06:54:41.148677825 +0000 UTC m=+104056.788453493', '2022-07-19T06:54:41.148677825Z'],
    ['2022-07-19 08:54:41.1 +0200 CEST', '2022-07-19T06:54:41.100Z'],
    // Apache / NCSA.
    ['[10/Oct/2000:13:55:36 -0700]', '2000-10-10T20:55:36.000Z'],
    ['27/Dec/2023:10:43:27 +0100', '2023-12-27T09:43:27.000Z'],
    // RFC 2822 (Quay API).
    ['Tue, 18 Jun 2024 18:59:13 -0000', '2024-06-18T18:59:13.000Z'],
    // Naive ISO (Quay Kafka) defaults to UTC; comma fraction (logback).
    ['2024-06-18T18:58:41.208311', '2024-06-18T18:58:41.208311Z'],
    ['2020-05-15 15:52:11,456', '2020-05-15T15:52:11.456Z'],
    // Epochs.
    [1726568391, '2024-09-17T10:19:51.000Z'],
    ['1726568391', '2024-09-17T10:19:51.000Z'],
    [1726568391123, '2024-09-17T10:19:51.123Z'],
    ['1726568391.5', '2024-09-17T10:19:51.500Z'],
    // Crossing a day/year boundary by offset.
    ['2023-12-31T23:59:59.999999999-00:30', '2024-01-01T00:29:59.999999999Z'],
  ];
  for (const [input, expected] of table) {
    test(`${String(input)} → ${expected}`, () => {
      const r = toUtcTimestamp(input);
      assert.ok(r);
      assert.equal(r.timestamp, expected);
      assert.equal(r.original, String(input));
    });
  }

  test('converted value agrees with Date.parse to the millisecond (C01)', () => {
    const r = toUtcTimestamp('2016-04-11T16:27:00.558433843+08:00');
    assert.equal(Date.parse(r?.timestamp ?? ''), 1460363220558);
  });

  test('naive time in a configured zone', () => {
    assert.equal(
      toUtcTimestamp('2024-06-18T18:58:41', { naiveZone: 'Europe/Paris' })?.timestamp,
      '2024-06-18T16:58:41.000Z',
    );
    assert.equal(
      toUtcTimestamp('2024-01-18T18:58:41', { naiveZone: 'Europe/Paris' })?.timestamp,
      '2024-01-18T17:58:41.000Z',
    );
    assert.equal(toUtcTimestamp('2024-01-18T18:58:41', { naiveZone: 'Not/AZone' }), null);
  });

  test('epoch unit can be forced', () => {
    assert.equal(toUtcTimestamp(1700000000000, { epochUnit: 'ms' })?.timestamp, '2023-11-14T22:13:20.000Z');
    assert.equal(toUtcTimestamp(1700000000, { epochUnit: 'ms' })?.timestamp, '1970-01-20T16:13:20.000Z');
  });

  for (const bad of [
    '',
    'bogus',
    '2016-02-30T00:00:00Z',
    '2016-13-01T00:00:00Z',
    '2016-01-01T24:00:00Z',
    '2016-01-01T00:00:00.1234567890Z',
    '2016-01-01T00:00:00 PST',
    '32/Dec/2023:10:43:27 +0100',
    'x'.repeat(200),
  ]) {
    test(`rejects ${JSON.stringify(bad.slice(0, 40))}`, () => {
      assert.equal(toUtcTimestamp(bad), null);
    });
  }
  test('rejects non-finite numbers', () => {
    assert.equal(toUtcTimestamp(Number.NaN), null);
    assert.equal(toUtcTimestamp(Number.POSITIVE_INFINITY), null);
  });
});
