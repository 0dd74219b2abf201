import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSeriesCsv, parseTimestamp } from '../../../services/detector/src/forecast/csv.ts';
import { AppError } from '../../../shared/src/errors.ts';
import { chartFormatOf } from '../../../services/detector/src/forecast/chart.ts';

const root = join(import.meta.dirname, '..', '..', '..');
const fixture = join(root, 'test', 'fixtures', 'storage', 'series-gc-migration.csv');

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('sh', [join(root, 'bin', 'regwatch'), ...args], { cwd: root }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

const invalidAt = (line: number) => (e: unknown) =>
  e instanceof AppError && e.code === 'FORECAST_INPUT_INVALID' && e.message.startsWith(`line ${line}:`);

void describe('parseSeriesCsv', () => {
  void test('timestamps: space form is UTC, ISO 8601 with offsets', () => {
    assert.equal(parseTimestamp('2026-03-02 14:00:00'), Date.UTC(2026, 2, 2, 14));
    assert.equal(parseTimestamp('2026-03-02T14:00:00Z'), Date.UTC(2026, 2, 2, 14));
    assert.equal(parseTimestamp('2026-03-02T16:00:00+02:00'), Date.UTC(2026, 2, 2, 14));
    assert.equal(parseTimestamp('2026-03-02T14:00'), Date.UTC(2026, 2, 2, 14));
    assert.ok(Number.isNaN(parseTimestamp('yesterday')));
    assert.ok(Number.isNaN(parseTimestamp('1772460000')));
  });
  void test('good file', () => {
    const pts = parseSeriesCsv(
      'timestamp,value\r\n2026-03-02 14:00:00,10\n\n2026-03-02T15:00:00Z,12\n2026-03-02T15:00:00Z,12\n',
    );
    assert.deepEqual(
      pts.map((p) => p.v),
      [10, 12, 12],
    );
  });
  void test('errors name the line', () => {
    assert.throws(
      () => parseSeriesCsv(''),
      (e: unknown) => e instanceof AppError && e.code === 'FORECAST_INPUT_INVALID' && /empty/.test(e.message),
    );
    assert.throws(
      () => parseSeriesCsv('timestamp,value\n'),
      (e: unknown) => e instanceof AppError && /no rows/.test(e.message),
    );
    assert.throws(() => parseSeriesCsv('time,bytes\n2026-03-02 14:00:00,1\n'), invalidAt(1));
    assert.throws(
      () => parseSeriesCsv('timestamp,value\n2026-03-02 14:00:00,1\n2026-03-02 15:00:00,abc\n'),
      invalidAt(3),
    );
    assert.throws(
      () => parseSeriesCsv('timestamp,value\n2026-03-02 14:00:00,1\n2026-03-02 13:00:00,2\n'),
      invalidAt(3),
    );
    assert.throws(() => parseSeriesCsv('timestamp,value\n2026-13-02 14:00:00,1\n'), invalidAt(2));
    assert.throws(() => parseSeriesCsv('timestamp,value\n2026-03-02 14:00:00,-5\n'), invalidAt(2));
    assert.throws(() => parseSeriesCsv('timestamp,value\n2026-03-02 14:00:00,1,2\n'), invalidAt(2));
  });
});

void describe('regwatch forecast', () => {
  void test('prints the forecast JSON on the last stdout line and renders a chart', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rw-forecast-'));
    const chart = join(dir, 'c.svg');
    const r = await run(['forecast', '--series', fixture, '--capacity', '10000000000000', '--chart', chart]);
    assert.equal(r.code, 0, r.stderr);
    const last = r.stdout.trim().split('\n').pop() as string;
    const out = JSON.parse(last) as Record<string, unknown>;
    for (const k of [
      'days_to_warn',
      'days_to_full',
      'days_to_full_lower',
      'days_to_full_upper',
      'growth_bytes_per_day',
      'last_gc',
      'method',
    ])
      assert.ok(k in out, k);
    const full = out.days_to_full as number;
    assert.ok(full > 40 && full < 120, `days_to_full ${full}`);
    assert.ok((out.days_to_full_lower as number) <= full && full <= (out.days_to_full_upper as number));
    assert.match(String(out.last_gc), /^2026-/);
    assert.match(await readFile(chart, 'utf8'), /^<svg/);
    assert.match(r.stderr, /100 %:/);
  });
  void test('clear errors with exit code 2', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rw-forecast-'));
    const cases: [string, RegExp][] = [
      ['', /FORECAST_INPUT_INVALID: the series file is empty/],
      [
        'timestamp,value\n2026-03-02 14:00:00,1\n2026-03-02 13:00:00,2\n',
        /FORECAST_INPUT_INVALID: line 3: rows are not sorted/,
      ],
      ['timestamp,value\n2026-03-02 14:00:00,x\n', /FORECAST_INPUT_INVALID: line 2: value "x" is not a number/],
      [
        'timestamp,value\n2026-03-02 14:00:00,1\n2026-03-02 15:00:00,2\n',
        /FORECAST_INPUT_INVALID: the forecast needs at least/,
      ],
    ];
    for (const [i, [body, re]] of cases.entries()) {
      const f = join(dir, `s${i}.csv`);
      await writeFile(f, body);
      const r = await run(['forecast', '--series', f, '--capacity', '1000']);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, re);
      assert.equal(r.stdout, '');
    }
    const missing = await run(['forecast', '--series', join(dir, 'nope.csv'), '--capacity', '1000']);
    assert.match(missing.stderr, /INPUT_UNREADABLE/);
    const badCap = await run(['forecast', '--series', join(dir, 's1.csv'), '--capacity', 'lots']);
    assert.match(badCap.stderr, /--capacity must be a number/);
  });
});

void describe('chart file formats', () => {
  void test('chartFormatOf: .svg and .png in any case, anything else is FORECAST_INPUT_INVALID', () => {
    assert.equal(chartFormatOf('/tmp/fc.svg'), 'svg');
    assert.equal(chartFormatOf('out/Chart.SVG'), 'svg');
    assert.equal(chartFormatOf('/tmp/fc.png'), 'png');
    assert.equal(chartFormatOf('fc.PnG'), 'png');
    const bad = (re: RegExp) => (e: unknown) =>
      e instanceof AppError && e.code === 'FORECAST_INPUT_INVALID' && re.test(e.message);
    assert.throws(
      () => chartFormatOf('/tmp/fc.jpg'),
      bad(/"\.jpg" is not a supported chart format; use a file name ending in \.svg or \.png/),
    );
    assert.throws(() => chartFormatOf('/tmp/fc.svg.gz'), bad(/"\.gz"/));
    assert.throws(() => chartFormatOf('/tmp/png'), bad(/no file extension/));
  });
  void test('regwatch forecast --chart x.jpg fails with exit 2 and writes nothing; .PNG writes a PNG', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rw-forecast-'));
    const jpg = join(dir, 'fc.jpg');
    const r = await run(['forecast', '--series', fixture, '--capacity', '10000000000000', '--chart', jpg]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      /FORECAST_INPUT_INVALID: cannot write a chart to .*fc\.jpg: "\.jpg" is not a supported chart format/,
    );
    assert.equal(r.stdout, '');
    await assert.rejects(readFile(jpg), { code: 'ENOENT' });
    const png = join(dir, 'fc.PNG');
    const ok = await run(['forecast', '--series', fixture, '--capacity', '10000000000000', '--chart', png]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal((await readFile(png)).subarray(1, 4).toString('latin1'), 'PNG');
  });
});

void describe('regwatch report capacity: missing local store', () => {
  void test('a missing --data-dir, a data dir without samples file and an empty samples file each say so', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rw-report-'));
    const out = join(dir, 'out');
    const missing = join(dir, 'nonexistent');
    const a = await run(['report', 'capacity', '--out', out, '--data-dir', missing]);
    assert.equal(a.code, 1, a.stderr);
    assert.match(a.stderr, new RegExp(`INPUT_UNREADABLE: data directory ${missing} does not exist`));
    assert.doesNotMatch(a.stderr, /enough samples/);
    const b = await run(['report', 'capacity', '--out', out, '--data-dir', dir]);
    assert.equal(b.code, 1, b.stderr);
    assert.match(b.stderr, /INPUT_UNREADABLE: .* has no storage samples file \(.*storage\/samples\.ndjson\)/);
    await mkdir(join(dir, 'storage'));
    await writeFile(join(dir, 'storage', 'samples.ndjson'), 'not json\n');
    const c = await run(['report', 'capacity', '--out', out, '--data-dir', dir]);
    assert.equal(c.code, 2, c.stderr);
    assert.match(
      c.stderr,
      /FORECAST_INPUT_INVALID: .*samples\.ndjson holds no storage samples \(1 unreadable line\(s\)\)/,
    );
    await assert.rejects(readFile(join(out, 'capacity.md')), { code: 'ENOENT' }, 'nothing is written');
  });
});

void describe('regwatch forecast / report capacity: over capacity, small capacities, stale data', () => {
  /** The tester's series: 90 days, 4×/day, daily 2.5 GB steps from 400 GB; last sample `ageDays` ago. */
  async function testerCsv(dir: string, ageDays: number): Promise<string> {
    const last = Math.floor(Date.now() / 3_600_000) * 3_600_000 - ageDays * 86_400_000;
    const rows = ['timestamp,value'];
    for (let i = 0; i < 360; i++)
      rows.push(`${new Date(last - (359 - i) * 6 * 3_600_000).toISOString()},${400e9 + 2.5e9 * Math.floor(i / 4)}`);
    const f = join(dir, `usage-${ageDays}.csv`);
    await writeFile(f, rows.join('\n') + '\n');
    return f;
  }

  void test('over capacity says "already at/over … since", small capacity keeps its unit, stale data is flagged', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rw-forecast-'));
    const old = await testerCsv(dir, 180);
    const r = await run(['forecast', '--series', old, '--capacity', '600000000000']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stderr.trim().split('\n');
    assert.match(
      lines[0] as string,
      /^WARNING: stale data: the last sample \(.*\) is 180\.0 d old \(stale after 1\.0 d\)/,
    );
    assert.match(r.stderr, /^used 622\.5 GB of 600\.0 GB \(103\.8 %\)/m);
    assert.match(r.stderr, /^85 %: already at\/over 85 % \(510\.0 GB\) since \d{4}-/m);
    assert.match(r.stderr, /^100 %: already at\/over 100 % \(600\.0 GB\) since \d{4}-/m);
    assert.doesNotMatch(r.stderr, /0\.0 days/);
    const out = JSON.parse(r.stdout.trim().split('\n').pop() as string) as Record<string, unknown>;
    assert.equal(out.warn_reached, true);
    assert.equal(out.full_reached, true);
    assert.equal(out.stale, true);
    assert.equal(out.level_shifts, 0);
    assert.equal(out.days_to_warn, 0);

    const tiny = await run(['forecast', '--series', old, '--capacity', '100', '--stale-after', '200d']);
    assert.equal(tiny.code, 0, tiny.stderr);
    assert.match(tiny.stderr, /^used 622\.5 GB of 100 B \(> 999 %\)/m);
    assert.doesNotMatch(tiny.stderr, /WARNING: stale/, '--stale-after 200d: 180-day-old data is not stale');

    const bad = await run(['forecast', '--series', old, '--capacity', '100', '--stale-after', 'soon']);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /FORECAST_INPUT_INVALID: "soon" is not a duration/);
  });

  void test('report capacity on six-month-old data: STALE DATA in the report and a WARNING on stderr', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rw-report-'));
    const old = await testerCsv(dir, 180);
    const out = join(dir, 'out');
    const r = await run(['report', 'capacity', '--series', old, '--capacity', '1e12', '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /report: scope series: WARNING: stale data: the last sample .* is 180\.0 d old/);
    const json = JSON.parse(r.stdout.trim().split('\n').pop() as string) as { stale: string[] };
    assert.deepEqual(json.stale, ['series']);
    const md = await readFile(join(out, 'capacity.md'), 'utf8');
    assert.match(md, /\*\*⚠ STALE DATA\*\*/);
    assert.match(
      md,
      /days are counted from that last sample, not from now; 100 % was projected for \d{4}-\d\d-\d\d, already past by/,
    );
    assert.match(md, /Most urgent: series is full \d+\.\d d after its last sample \(.*, STALE\)/);
  });
});
