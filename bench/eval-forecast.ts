/**
 * `npm run eval:forecast`: accuracy of the storage forecast against Prometheus `predict_linear`
 * (least squares over the last 7 days) on synthetic registry traces with a known future
 * (test/unit/forecast/traces.ts): months of hourly samples with weekday rhythm, GC drops,
 * migration steps, gaps, duplicates and noise.
 *
 * Prints, for days to 100 % and to the 85 % warning level: the median absolute error in days of
 * both methods (predictions and truths capped at the 365-day horizon; `null` counts as the
 * horizon), their ratio (target ≤ 0.5), and how often the 80 % interval holds the true day
 * (target 70–90 %). Exit code 1 when a target is missed. `--traces N` (default 300), `--json`.
 */
import { forecastStorage, predictLinearDays } from '../services/detector/src/forecast/model.ts';
import { makeTrace, rng, trueDays, type TraceOptions } from '../test/unit/forecast/traces.ts';

const args = process.argv.slice(2);
const nIdx = args.indexOf('--traces');
const N = nIdx >= 0 ? Number(args[nIdx + 1]) : 300;
const H = 365;

function scenario(i: number): TraceOptions {
  const r = rng(1000 + i);
  const kind = i % 6;
  const base: TraceOptions = {
    seed: 7919 * (i + 1),
    historyDays: 45 + Math.floor(r() * 90) + r(),
    targetDaysToFull: 15 + r() * 280,
    gaps: Math.floor(r() * 4),
    duplicates: 0.02,
    drift: 0.03,
    migrationsPerDay: 1 / 365,
  };
  switch (kind) {
    case 0: // steady growth with weekday rhythm only
      return base;
    case 1: // weekly GC
      return { ...base, gc: 'scheduled', gcEveryDays: 7, gcFraction: 0.2 + 0.3 * r() };
    case 2: // bi-weekly / monthly GC
      return { ...base, gc: 'scheduled', gcEveryDays: 14 + Math.floor(r() * 17), gcFraction: 0.2 + 0.3 * r() };
    case 3: // a migration step within the last 10 days
      return { ...base, migrationDaysBeforeCut: 0.5 + r() * 9.5 };
    case 4: // GC and a recent migration
      return {
        ...base,
        gc: 'scheduled',
        gcEveryDays: 7 + Math.floor(r() * 14),
        gcFraction: 0.3,
        migrationDaysBeforeCut: 1 + r() * 20,
      };
    default: // many gaps, more duplicates
      return { ...base, gaps: 6, duplicates: 0.1 };
  }
}

interface Tally {
  ours: number[];
  linear: number[];
  covered: number;
  total: number;
}
const newTally = (): Tally => ({ ours: [], linear: [], covered: 0, total: 0 });
const cap = (x: number | null): number => (x === null ? H : Math.min(x, H));
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

const tallies = { full: newTally(), warn: newTally() };
const byKind = new Map<number, Tally>();
const started = performance.now();
for (let i = 0; i < N; i++) {
  const opts = scenario(i);
  const trace = makeTrace(opts);
  const res = forecastStorage(trace.history, { horizonDays: H });
  const pts = trace.history.map((s) => ({ t: Date.parse(s.timestamp), v: s.used_bytes }));
  for (const [name, thr, d, lo, hi] of [
    ['full', trace.capacity, res.days_to_full, res.days_to_full_lower, res.days_to_full_upper],
    ['warn', 0.85 * trace.capacity, res.days_to_warn, res.days_to_warn_lower, res.days_to_warn_upper],
  ] as const) {
    const truth = trueDays(trace, thr);
    const t = tallies[name];
    const lin = predictLinearDays(pts, thr, 7, H);
    t.ours.push(Math.abs(cap(d) - cap(truth)));
    t.linear.push(Math.abs(cap(lin) - cap(truth)));
    t.total++;
    const inside = cap(truth) >= cap(lo) && cap(truth) <= (hi === null ? Infinity : hi);
    if (inside) t.covered++;
    if (name === 'full') {
      const k = byKind.get(i % 6) ?? newTally();
      k.ours.push(Math.abs(cap(d) - cap(truth)));
      k.linear.push(Math.abs(cap(lin) - cap(truth)));
      k.total++;
      if (inside) k.covered++;
      byKind.set(i % 6, k);
    }
  }
}
const ms = performance.now() - started;
const KINDS = ['steady', 'weekly-gc', 'monthly-gc', 'recent-migration', 'gc+migration', 'gaps+duplicates'];
const summary = Object.fromEntries(
  Object.entries(tallies).map(([k, t]) => {
    const mo = median(t.ours);
    const ml = median(t.linear);
    return [
      k,
      {
        traces: t.total,
        median_abs_error_days: +mo.toFixed(2),
        predict_linear_median_abs_error_days: +ml.toFixed(2),
        ratio: +(mo / ml).toFixed(3),
        interval80_coverage: +(t.covered / t.total).toFixed(3),
      },
    ];
  }),
);
process.stderr.write(`forecast eval: ${N} traces, horizon ${H} d, ${(ms / N).toFixed(1)} ms per forecast\n`);
for (const [k, v] of Object.entries(summary)) {
  process.stderr.write(
    `  days to ${k === 'full' ? '100 %' : '85 % '}: ours ${v.median_abs_error_days} d, predict_linear ${v.predict_linear_median_abs_error_days} d, ratio ${v.ratio} (target ≤ 0.5), 80 % interval coverage ${(v.interval80_coverage * 100).toFixed(1)} % (target 70–90 %)\n`,
  );
}
for (const [kind, t] of [...byKind.entries()].sort((a, b) => a[0] - b[0])) {
  process.stderr.write(
    `    ${(KINDS[kind] ?? String(kind)).padEnd(17)} full: ours ${median(t.ours).toFixed(2)} d, predict_linear ${median(t.linear).toFixed(2)} d, coverage ${((t.covered / t.total) * 100).toFixed(0)} % (n=${t.total})\n`,
  );
}
process.stdout.write(JSON.stringify(summary) + '\n');
const okTargets = Object.values(summary).every(
  (v) => v.ratio <= 0.5 && v.interval80_coverage >= 0.7 && v.interval80_coverage <= 0.9,
);
if (!okTargets) {
  process.stderr.write('forecast eval: a target was missed\n');
  process.exitCode = 1;
}
