import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import { forecastStorage } from '../../../services/detector/src/forecast/model.ts';
import { buildCapacityReport } from '../../../services/detector/src/forecast/report.ts';
import { renderForecastChart, DEFAULT_FONT_FILE } from '../../../services/detector/src/forecast/chart.ts';
import { makeTrace } from './traces.ts';

/** Decodes a PNG by letting resvg render it as an <image>, returns RGBA pixels. */
function decodePng(png: Buffer, width: number, height: number): Uint8Array {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><image width="${width}" height="${height}" href="data:image/png;base64,${png.toString('base64')}"/></svg>`;
  return new Resvg(svg, { font: { loadSystemFonts: false, fontFiles: [DEFAULT_FONT_FILE] } }).render().pixels;
}

function pngSize(png: Buffer): { width: number; height: number } {
  assert.equal(png.subarray(1, 4).toString('latin1'), 'PNG');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

const scope = (seed: number, target: number) => {
  const t = makeTrace({
    seed,
    historyDays: 60,
    targetDaysToFull: target,
    gc: 'scheduled',
    gcEveryDays: 7,
    gcFraction: 0.3,
  });
  return {
    t,
    result: forecastStorage(t.history),
    history: t.history.map((s) => ({ t: Date.parse(s.timestamp), v: s.used_bytes })),
  };
};

void describe('capacity chart and report', () => {
  void test('chart PNG is not blank: many non-white pixels, several colours (usage, forecast band, capacity line)', async () => {
    const s = scope(3, 60);
    const { svg, png } = renderForecastChart({
      title: 'fs:/var/lib/registry',
      history: s.history,
      result: s.result,
      width: 960,
      height: 480,
    });
    assert.match(svg, /<svg[^>]*width="960"/);
    const { width, height } = pngSize(png);
    assert.deepEqual([width, height], [960, 480]);
    const px = decodePng(png, width, height);
    let nonWhite = 0;
    let red = 0;
    let blue = 0;
    let green = 0;
    for (let i = 0; i < px.length; i += 4) {
      const [r, g, b] = [px[i] as number, px[i + 1] as number, px[i + 2] as number];
      if (r < 245 || g < 245 || b < 245) nonWhite++;
      if (r > 180 && g < 90 && b < 90) red++; // capacity line #d62728
      if (b > 150 && r < 80) blue++; // usage #1f77b4
      if (g > 140 && r < 120 && b < 120) green++; // forecast #2ca02c
    }
    const total = width * height;
    assert.ok(nonWhite / total > 0.03, `non-white ${nonWhite} of ${total}`);
    assert.ok(red > 200 && blue > 200 && green > 100, `red ${red} blue ${blue} green ${green}`);
    const dir = await mkdtemp(join(tmpdir(), 'rw-chart-'));
    await writeFile(join(dir, 'chart.png'), png);
  });

  void test('over-capacity data (a quota exceeded, a wrong --capacity) is drawn, not clipped, and the PNG renders', () => {
    // The same trace with a capacity a third of the usage: the y axis used to stop at 1.05 ×
    // capacity, the usage line fell outside the plot, and resvg aborted the process (a Rust panic
    // on the degenerate geometry) — `regwatch forecast --chart x.png` exited 134.
    const s = scope(3, 60);
    const maxUsed = Math.max(...s.history.map((p) => p.v));
    const result = forecastStorage(s.t.history.map((x) => ({ ...x, capacity_bytes: Math.round(maxUsed / 3) })));
    assert.ok(result.full_reached);
    const { png } = renderForecastChart({ title: 'over', history: s.history, result, width: 960, height: 480 });
    const { width, height } = pngSize(png);
    const px = decodePng(png, width, height);
    let blue = 0;
    for (let i = 0; i < px.length; i += 4) if ((px[i + 2] as number) > 150 && (px[i] as number) < 80) blue++; // usage #1f77b4
    assert.ok(blue > 200, `usage line drawn: ${blue} blue pixels`);
  });

  void test('report: markdown + html table per scope, most urgent first, chart attached', () => {
    const a = scope(5, 200);
    const b = scope(6, 30);
    const rep = buildCapacityReport({
      generatedAt: new Date('2026-03-30T08:00:00Z'),
      scopes: [
        { scope: 'fs:/var/lib/registry', history: a.history, result: a.result },
        { scope: 'harbor:library', history: b.history, result: b.result, estimate: true },
      ],
    });
    assert.equal(rep.title, 'Registry capacity report (week of 2026-03-30)');
    const lines = rep.markdown.split('\n');
    const tableRows = lines.filter((l) => l.startsWith('| ') && !l.startsWith('| Scope'));
    assert.equal(tableRows.length, 2);
    assert.match(tableRows[0] as string, /^\| harbor:library \(estimate\)/);
    assert.match(rep.markdown, /Most urgent: harbor:library/);
    assert.match(rep.html, /<table>/);
    assert.equal((rep.html.match(/<svg/g) ?? []).length, 2);
    assert.ok(!rep.html.includes('<script'));
    assert.ok(rep.png.length > 5000);
    assert.match(rep.svg, /^<svg/);
  });
});

void describe('capacity report: stale data and thresholds already reached', () => {
  const hourly = (lastMs: number, days: number, capacity: number) =>
    Array.from({ length: days * 24 }, (_, i) => ({
      timestamp: new Date(lastMs - (days * 24 - 1 - i) * 3_600_000).toISOString(),
      used_bytes: 400e9 + (2.5e9 * i) / 24,
      capacity_bytes: capacity,
    }));
  const generatedAt = new Date('2026-11-29T08:00:00Z');

  void test('a scope whose last sample is six months old is flagged at the top, in its row and in the summary', () => {
    const oldLast = generatedAt.getTime() - 240 * 86_400_000;
    const oldSamples = hourly(oldLast, 60, 1e12);
    const fresh = hourly(generatedAt.getTime() - 3_600_000, 60, 2e12);
    const old = forecastStorage(oldSamples);
    const rep = buildCapacityReport({
      generatedAt,
      scopes: [
        {
          scope: 'old-csv',
          history: oldSamples.map((s) => ({ t: Date.parse(s.timestamp), v: s.used_bytes })),
          result: old,
        },
        {
          scope: 'fs:/data',
          history: fresh.map((s) => ({ t: Date.parse(s.timestamp), v: s.used_bytes })),
          result: forecastStorage(fresh),
        },
      ],
    });
    assert.equal(rep.staleness.get('old-csv')?.stale, true);
    assert.equal(rep.staleness.get('fs:/data')?.stale, false);
    const md = rep.markdown.split('\n');
    assert.match(md[2] as string, /^> \*\*⚠ STALE DATA\*\* — 1 scope\(s\) have no recent samples/);
    assert.match(
      md[3] as string,
      /^> - old-csv: the last sample \(2026-04-03T08:00:00\.000Z\) is 240\.0 d old \(stale after 1\.0 d\); days are counted from that last sample, not from now; 100 % was projected for 2026-\d\d-\d\d, already past by \d+\.\d d$/,
    );
    assert.match(
      rep.markdown,
      /Most urgent: old-csv is full \d+\.\d d after its last sample \(2026-04-03 08:00 UTC, STALE\), around 2026-/,
    );
    assert.match(rep.markdown, /\| old-csv \(STALE\) \| .* \| 2026-04-03 08:00 \(240\.0 d old\) \|/);
    assert.doesNotMatch(rep.markdown, /fs:\/data \(STALE\)/);
    assert.match(rep.html, /<strong>⚠ STALE DATA<\/strong>/);
    assert.match(rep.html, /<li>old-csv: the last sample/);
    // configurable: with a 300-day threshold nothing is stale
    const lax = buildCapacityReport({
      generatedAt,
      staleAfterSeconds: 300 * 86_400,
      scopes: [{ scope: 'old-csv', history: [], result: old }],
    });
    assert.doesNotMatch(lax.markdown, /STALE/);
  });

  void test('over capacity: "already at/over since …", units follow the magnitude', () => {
    const samples = hourly(generatedAt.getTime() - 3_600_000, 60, 500e9);
    const r = forecastStorage(samples);
    const rep = buildCapacityReport({ generatedAt, scopes: [{ scope: 'small', history: [], result: r }] });
    assert.match(
      rep.markdown,
      /Most urgent: small is already at\/over capacity since 2026-11-09T08:00:00\.000Z \(last sample 2026-11-29 07:00 UTC\)\./,
    );
    assert.match(
      rep.markdown,
      /\| small \| 549\.\d GB \| 500\.0 GB \| 11\d(\.\d)? % \| 2\.50 GB\/day \| already at\/over since 2026-\d\d-\d\d \d\d:00 \| already at\/over since 2026-/,
    );
    assert.doesNotMatch(rep.markdown, /0\.0 d/);
  });
});
