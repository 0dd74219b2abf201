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
