import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import {
  anomalyScore,
  SeriesBaseline,
  type ScoredPoint,
} from '../../../services/detector/src/baseline/series-baseline.ts';
import {
  checkSeriesCsv,
  MAX_LISTED_PROBLEMS,
  scoreSeriesCsv,
} from '../../../services/detector/src/baseline/score-series.ts';
import { parseSeriesTimestamp } from '../../../services/detector/src/baseline/timestamp.ts';
import { AppError } from '../../../shared/src/errors.ts';

const H = 3_600_000;
const T0 = Date.parse('2026-03-02T00:00:00Z');

/** Deterministic pseudo-noise in [-1, 1]. */
const noise = (i: number): number => (((i * 2654435761) >>> 0) % 1000) / 500 - 1;

function run(points: [number, number][]): ScoredPoint[] {
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
      // The score is a logistic of the robust z beyond the band (0.5 on its edge): a clear anomaly
      // is far outside (≈ 1), a normal point inside the band (< 0.5). The old erf(z/√2) scale gave
      // 0.9+ to ordinary points, so "normal" used to mean only "< 0.99".
      const band = `score ${p.score} value ${c.points[c.at]![1]} band [${p.lower}, ${p.upper}]`;
      if (c.expectAnomalous) {
        assert.ok(p.anomaly, band);
        assert.ok(p.score >= 0.99, band);
      } else {
        assert.ok(!p.anomaly, band);
        assert.ok(p.score < 0.5, band);
      }
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

  test('the score is low inside the band, 0.5 on its edge, high outside, monotone in the deviation', () => {
    for (const k of [1, 2, 3, 4.5]) {
      assert.ok(Math.abs(anomalyScore(k, k) - 0.5) < 1e-12, 'band edge');
      let prev = -1;
      for (let z = 0; z <= 20; z += 0.25) {
        const s = anomalyScore(z, k);
        assert.ok(s > prev || (s >= prev && s > 1 - 1e-9), `increasing at z=${z} (flat only once saturated at 1)`);
        assert.ok(s >= 0 && s <= 1);
        assert.equal(s < 0.5, z < k, `z=${z} k=${k}: inside the band ⇔ score < 0.5`);
        prev = s;
      }
    }
    // Figures quoted in the docs (k = 3).
    assert.equal(anomalyScore(0, 3).toFixed(4), '0.0025');
    assert.equal(anomalyScore(2, 3).toFixed(2), '0.12');
    assert.equal(anomalyScore(4, 3).toFixed(2), '0.88');
    assert.equal(anomalyScore(Infinity, 3), 1);
  });

  test('every scored point: anomaly ⇔ outside [lower, upper] ⇔ score > 0.5 (after warm-up)', () => {
    const pts = hourly(24 * 12, (i) => (i % 53 === 0 && i > 48 ? 900 : daily(i)));
    const out = run(pts);
    let inside = 0;
    let outside = 0;
    out.forEach((p, i) => {
      if (i < 24 || p.lower === undefined || p.upper === undefined) {
        assert.equal(p.anomaly, false);
        return;
      }
      const v = pts[i]![1];
      const out_ = v < p.lower || v > p.upper;
      assert.equal(p.anomaly, out_, `point ${i}`);
      assert.equal(p.score > 0.5, out_, `point ${i}: score ${p.score} value ${v} band [${p.lower}, ${p.upper}]`);
      if (out_) outside++;
      else inside++;
    });
    assert.ok(inside > 200 && outside >= 4, `inside ${inside}, outside ${outside}`);
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
        checkSeriesCsv(csv(text)),
        (err: unknown) => err instanceof AppError && err.code === 'BASELINE_INPUT_INVALID' && re.test(err.message),
      );
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

describe('scoreSeriesCsv: every bad row at once', () => {
  const csv = (text: string): Readable => Readable.from([text]);

  test('three bad rows are all reported in one error, with line numbers; nothing scored after the first', async () => {
    const text = [
      'timestamp,value',
      '2026-03-02 10:00:00,1',
      '2026-03-02 11:00:00,abc', // line 3
      '2026-03-02 12:00:00,3',
      'soon,4', // line 5
      '2026-03-02 14:00:00,5,6', // line 6
      '2026-03-02 15:00:00,7',
    ].join('\n');
    const rows: unknown[] = [];
    const err = await (async () => {
      try {
        for await (const r of scoreSeriesCsv(csv(text))) rows.push(r);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    assert.ok(err instanceof AppError && err.code === 'BASELINE_INPUT_INVALID', String(err));
    assert.equal(err.retriable, false);
    assert.match(err.message, /^3 bad rows:/);
    assert.match(err.message, /line 3: value "abc" is not a finite number/);
    assert.match(err.message, /line 5: unparseable timestamp "soon"/);
    assert.match(err.message, /line 6: expected 2 fields \(timestamp,value\), got 3/);
    assert.deepEqual(
      (err.context?.['problems'] as { line: number }[]).map((p) => p.line),
      [3, 5, 6],
    );
    assert.equal(rows.length, 1, 'only the row before the first bad line was yielded');
    await assert.rejects(
      checkSeriesCsv(csv(text)),
      (e: unknown) => e instanceof AppError && /^3 bad rows/.test(e.message),
    );
  });

  test('the list is capped; the count covers all bad rows', async () => {
    const lines = ['timestamp,value'];
    for (let i = 0; i < 50; i++) lines.push(`2026-03-02 10:${String(i).padStart(2, '0')}:00,x${i}`);
    await assert.rejects(checkSeriesCsv(csv(lines.join('\n'))), (e: unknown) => {
      assert.ok(e instanceof AppError);
      assert.match(e.message, /^50 bad rows:/);
      assert.match(e.message, /… and 30 more$/);
      assert.equal((e.context?.['problems'] as unknown[]).length, MAX_LISTED_PROBLEMS);
      assert.equal(e.context?.['count'], 50);
      assert.match(e.message, /line 2: value "x0"/);
      return true;
    });
  });
});
