import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { SeriesBaseline } from '../../../services/detector/src/baseline/series-baseline.ts';
import { scoreSeriesCsv } from '../../../services/detector/src/baseline/score-series.ts';
import { parseSeriesTimestamp } from '../../../services/detector/src/baseline/timestamp.ts';
import { AppError } from '../../../shared/src/errors.ts';

const H = 3_600_000;
const T0 = Date.parse('2026-03-02T00:00:00Z');

/** Deterministic pseudo-noise in [-1, 1]. */
const noise = (i: number): number => (((i * 2654435761) >>> 0) % 1000) / 500 - 1;

function run(
  points: [number, number][],
): { score: number; expected: number | undefined; periodMs: number | undefined }[] {
  const b = new SeriesBaseline();
  return points.map(([t, v]) => b.next(t, v));
}

const daily = (i: number): number => Math.round(100 + 60 * Math.sin(((i % 24) / 24) * 2 * Math.PI) + 5 * noise(i));

interface Case {
  name: string;
  points: [number, number][];
  /** Index of the point to check. */
  at: number;
  expectAnomalous: boolean;
}

const hourly = (n: number, f: (i: number) => number): [number, number][] =>
  Array.from({ length: n }, (_, i) => [T0 + i * H, f(i)]);

const cases: Case[] = [
  {
    name: 'flat series stays normal',
    points: hourly(24 * 10, (i) => 40 + Math.round(3 * noise(i))),
    at: 24 * 10 - 1,
    expectAnomalous: false,
  },
  {
    name: 'spike on a daily pattern is anomalous',
    points: hourly(24 * 14, (i) => (i === 24 * 13 + 3 ? 600 : daily(i))),
    at: 24 * 13 + 3,
    expectAnomalous: true,
  },
  {
    name: 'dip on a daily pattern is anomalous',
    points: hourly(24 * 14, (i) => (i === 24 * 13 + 6 ? 5 : daily(i))),
    at: 24 * 13 + 6,
    expectAnomalous: true,
  },
  {
    name: 'daily peak is not anomalous once the period is learned',
    points: hourly(24 * 14, daily),
    at: 24 * 13 + 6,
    expectAnomalous: false,
  },
  {
    name: 'too little history never judges',
    points: hourly(10, (i) => (i === 9 ? 10_000 : 5)),
    at: 9,
    expectAnomalous: false,
  },
  { name: 'zero variance: same value is normal', points: hourly(100, () => 7), at: 99, expectAnomalous: false },
  {
    name: 'zero variance: a jump is anomalous',
    points: hourly(100, (i) => (i === 99 ? 40 : 7)),
    at: 99,
    expectAnomalous: true,
  },
  {
    name: '5-minute series with a spike',
    points: Array.from(
      { length: 2000 },
      (_, i) => [T0 + i * 300_000, i === 1990 ? 90 : 20 + Math.round(2 * noise(i))] as [number, number],
    ),
    at: 1990,
    expectAnomalous: true,
  },
  {
    name: 'irregular timestamps, flat values stay normal',
    points: Array.from(
      { length: 300 },
      (_, i) => [T0 + i * H + Math.round(noise(i) * 600_000), 1.5 + 0.05 * noise(i + 7)] as [number, number],
    ),
    at: 299,
    expectAnomalous: false,
  },
  {
    name: 'outliers in history do not move the expectation',
    points: hourly(24 * 14, (i) =>
      i % 24 === 3 && i < 24 * 13 && i % 48 === 3 ? 900 : i === 24 * 13 + 3 ? 400 : daily(i),
    ),
    at: 24 * 13 + 3,
    expectAnomalous: true,
  },
];

describe('SeriesBaseline (table-driven)', () => {
  for (const c of cases) {
    test(c.name, () => {
      const out = run(c.points);
      const p = out[c.at]!;
      if (c.expectAnomalous) assert.ok(p.score >= 0.99, `score ${p.score} (expected ${p.expected})`);
      else assert.ok(p.score < 0.99, `score ${p.score} (expected ${p.expected})`);
    });
  }

  test('learns the daily period on an hourly series', () => {
    const out = run(hourly(24 * 14, daily));
    assert.equal(out[out.length - 1]!.periodMs, 24 * H);
  });

  test('learns a non-calendar period (every 10 samples) by autocorrelation', () => {
    const out = run(hourly(600, (i) => (i % 10 === 0 ? 100 : 10) + Math.round(noise(i))));
    assert.equal(out[out.length - 1]!.periodMs, 10 * H);
    assert.ok(out[out.length - 1]!.score < 0.99);
  });

  test('scores only from the past: appending future points does not change earlier scores', () => {
    const pts = hourly(24 * 10, daily);
    const a = run(pts.slice(0, 150));
    const b = run(pts);
    assert.deepEqual(a, b.slice(0, 150));
  });

  test('score is always within [0, 1]', () => {
    for (const p of run(hourly(500, (i) => (i % 37 === 0 ? 1e6 : daily(i))))) assert.ok(p.score >= 0 && p.score <= 1);
  });

  test('rejects non-finite input', () => {
    assert.throws(() => new SeriesBaseline().next(NaN, 1), RangeError);
  });
});

describe('scoreSeriesCsv', () => {
  const csv = (text: string): Readable => Readable.from([text]);
  const collect = async (text: string): Promise<unknown[]> => {
    const rows: unknown[] = [];
    for await (const r of scoreSeriesCsv(csv(text))) rows.push(r);
    return rows;
  };

  test('one row per input point, in input order, with the raw timestamp and value', async () => {
    const rows = (await collect('timestamp,value\n2026-03-02 14:00:00,1\n2026-03-02T15:00:00Z,2\n')) as {
      timestamp: string;
      value: string;
    }[];
    assert.deepEqual(
      rows.map((r) => [r.timestamp, r.value]),
      [
        ['2026-03-02 14:00:00', '1'],
        ['2026-03-02T15:00:00Z', '2'],
      ],
    );
  });

  for (const [name, text, re] of [
    ['missing header', '2026-03-02 14:00:00,1\n', /header/],
    ['non-numeric value', 'timestamp,value\n2026-03-02 14:00:00,abc\n', /line 2: value "abc"/],
    ['bad timestamp', 'timestamp,value\nyesterday,1\n', /line 2: unparseable timestamp/],
    ['out of order', 'timestamp,value\n2026-03-02 15:00:00,1\n2026-03-02 14:00:00,1\n', /line 3: .*earlier/],
    ['header only', 'timestamp,value\n', /no rows/],
    ['empty', '', /empty input/],
  ] as const) {
    test(`rejects ${name} with BASELINE_INPUT_INVALID`, async () => {
      await assert.rejects(
        collect(text),
        (err: unknown) => err instanceof AppError && err.code === 'BASELINE_INPUT_INVALID' && re.test(err.message),
      );
    });
  }

  test('timestamps: SQL-style in a zone, ISO with offset, epoch seconds', () => {
    assert.equal(parseSeriesTimestamp('2026-03-02 14:00:00'), Date.parse('2026-03-02T14:00:00Z'));
    assert.equal(parseSeriesTimestamp('2026-03-02 14:00:00', 'Europe/Berlin'), Date.parse('2026-03-02T13:00:00Z'));
    assert.equal(parseSeriesTimestamp('2026-03-02T14:00:00+02:00'), Date.parse('2026-03-02T12:00:00Z'));
    assert.equal(parseSeriesTimestamp('1772460000'), 1772460000_000);
    assert.equal(parseSeriesTimestamp('nope'), undefined);
  });
});
