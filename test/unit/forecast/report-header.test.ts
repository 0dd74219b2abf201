/**
 * The capacity report's days columns name the level they count to (the warning level, 85 % by
 * default, and 100 %) and say that the bracketed range is the 80 % prediction interval, so the
 * header cannot be read as "days to 80 % full".
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { forecastStorage } from '../../../services/detector/src/forecast/model.ts';
import { buildCapacityReport } from '../../../services/detector/src/forecast/report.ts';
import { makeTrace } from './traces.ts';

const trace = makeTrace({ seed: 5, historyDays: 60, targetDaysToFull: 90, gc: 'none' });
const history = trace.history.map((s) => ({ t: Date.parse(s.timestamp), v: s.used_bytes }));

for (const [warn, label] of [
  [undefined, '85 %'],
  [0.9, '90 %'],
] as const) {
  test(`header names the warning level (${label}) and the 80 % interval`, () => {
    const result = forecastStorage(trace.history, warn !== undefined ? { warn } : {});
    const rep = buildCapacityReport({
      generatedAt: new Date(trace.history.at(-1)!.timestamp),
      scopes: [{ scope: 'fs:/var/lib/registry', history, result }],
    });
    const header = rep.markdown.split('\n').find((l) => l.startsWith('| Scope'));
    assert.ok(header, rep.markdown);
    const cells = header.split('|').map((c) => c.trim());
    assert.ok(cells.includes(`Days to ${label} used (80 % interval)`), header);
    assert.ok(cells.includes('Days to 100 % used (80 % interval)'), header);
    assert.doesNotMatch(header, /Days to warn \(80 %\)|Days to full \(80 %\)/);
    assert.match(rep.markdown, new RegExp(`Warning level ${label} of capacity.*80 % prediction interval`));
    assert.match(rep.html, new RegExp(`<th>Days to ${label} used \\(80 % interval\\)</th>`));
  });
}
