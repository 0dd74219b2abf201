/**
 * `regwatch analyze --from/--to`: strict ISO 8601 (the parser replay uses), `--to` after `--from`,
 * a summary that says when findings fell outside the window, and the per-rule table counting each
 * finding id once under its last severity.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { AppError } from '../../../shared/src/errors.ts';
import type { Finding } from '../../../shared/src/model/finding.ts';
import { checkTimeWindow, parseTimeOption, printSummary } from '../../../cli/commands/analyze.ts';
import { createEngine, parseDetectionConfig } from '../../../services/detector/src/config.ts';
import { analyzeInputs, newSummary, type AnalyzeOptions } from '../../../services/detector/src/pipeline/analyze.ts';
import { generateScenario } from '../../fixtures/scenarios/generate.ts';
import { regwatch } from './cli-run.ts';

const isConfigInvalid = (re: RegExp) => (e: unknown) =>
  e instanceof AppError && e.code === 'CONFIG_INVALID' && re.test(e.message);

describe('parseTimeOption (analyze and replay --from/--to)', () => {
  test('ISO 8601 dates and times; UTC without an offset', () => {
    assert.equal(parseTimeOption('--from', '2026-03-10'), Date.parse('2026-03-10T00:00:00Z'));
    assert.equal(parseTimeOption('--from', '2026-03-10T08:00'), Date.parse('2026-03-10T08:00:00Z'));
    assert.equal(parseTimeOption('--from', '2026-03-10T08:00:00.5+02:00'), Date.parse('2026-03-10T06:00:00.500Z'));
    assert.equal(parseTimeOption('--to', '20260310T080000Z'), Date.parse('2026-03-10T08:00:00Z'));
    assert.equal(parseTimeOption('--to', undefined), undefined);
  });

  test('free-form and impossible dates are CONFIG_INVALID naming the option', () => {
    for (const v of ['nov 30', 'dec 1', 'yesterday', 'Tue Mar 10 2026', '2026-02-30', '2026-03-10 08:00', '10:00', ''])
      assert.throws(() => parseTimeOption('--from', v), isConfigInvalid(/^--from must be an ISO 8601 time/), v);
  });

  test('--to must be after --from (as replay)', () => {
    assert.throws(() => checkTimeWindow(10, 10), isConfigInvalid(/--to must be after --from/));
    assert.throws(() => checkTimeWindow(11, 10), isConfigInvalid(/--to must be after --from/));
    checkTimeWindow(10, 11);
    checkTimeWindow(undefined, 10);
    checkTimeWindow(10, undefined);
  });
});

describe('analyze summary', () => {
  const scenario = generateScenario({ days: 21, trainingDays: 14 });

  async function run(
    opts: AnalyzeOptions = {},
  ): Promise<{ findings: Finding[]; summary: ReturnType<typeof newSummary> }> {
    const summary = newSummary();
    const findings: Finding[] = [];
    const input = { name: 'scenario', stream: Readable.from(scenario.lines.map((l) => l + '\n')) };
    for await (const f of analyzeInputs([input], createEngine(parseDetectionConfig(scenario.config)), summary, opts))
      findings.push(f);
    return { findings, summary };
  }

  test('a finding re-emitted with a higher severity is counted once, under its last severity', async () => {
    const { findings, summary } = await run();
    const last = new Map<string, Finding>();
    for (const f of findings) last.set(f.id, f);
    assert.ok(findings.length > last.size, 'the scenario re-emits at least one finding with a new severity');
    const expected = new Map<string, Map<string, number>>();
    for (const f of last.values()) {
      const m = expected.get(f.rule) ?? new Map<string, number>();
      expected.set(f.rule, m);
      m.set(f.severity, (m.get(f.severity) ?? 0) + 1);
    }
    const nonZero = (byRule: Map<string, Map<string, number>>): [string, [string, number][]][] =>
      [...byRule]
        .map(([r, m]): [string, [string, number][]] => [r, [...m].filter(([, n]) => n > 0).sort()])
        .sort((a, b) => a[0].localeCompare(b[0]));
    assert.deepEqual(nonZero(summary.byRule), nonZero(expected));
    assert.equal(summary.findings, last.size);
    assert.equal(summary.outsideWindow, 0);
    assert.equal(summary.windowed, false);
    for (const m of summary.byRule.values()) for (const n of m.values()) assert.ok(n >= 0);

    const out: string[] = [];
    printSummary(
      summary,
      new Writable({
        write(c: Buffer, _e, cb) {
          out.push(c.toString());
          cb();
        },
      }),
    );
    const text = out.join('');
    assert.match(text, new RegExp(`, ${last.size} findings\\n`));
    // The table's total column adds up to the unique findings.
    const totals = text
      .split('\n')
      .slice(3)
      .map((l) => /\s(\d+)$/.exec(l)?.[1])
      .filter((n): n is string => n !== undefined)
      .reduce((a, n) => a + Number(n), 0);
    assert.equal(totals, last.size);
  });

  test('findings outside --from/--to are counted and named in the summary', async () => {
    const all = await run();
    const outside = await run({ from: Date.parse('2025-11-30T00:00:00Z'), to: Date.parse('2025-12-01T00:00:00Z') });
    assert.deepEqual(outside.findings, []);
    assert.equal(outside.summary.findings, 0);
    assert.equal(outside.summary.outsideWindow, all.summary.findings);
    assert.equal(outside.summary.windowed, true);

    const mid = Date.parse('2026-03-01T00:00:00Z');
    const part = await run({ from: mid });
    const ids = new Set(all.findings.filter((f) => Date.parse(f.window.start) >= mid).map((f) => f.id));
    assert.equal(part.summary.findings, ids.size);
    assert.equal(part.summary.outsideWindow, all.summary.findings - ids.size);
    assert.ok(part.summary.findings > 0 && part.summary.outsideWindow > 0);
  });
});

describe('regwatch analyze CLI', () => {
  let dir = '';
  let file = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'regwatch-analyze-window-'));
    file = join(dir, 'scenario.ndjson');
    writeFileSync(file, generateScenario({ days: 21, trainingDays: 14 }).lines.join('\n') + '\n');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("--from 'nov 30' is rejected before any input is read (exit 2)", async () => {
    const r = await regwatch(['analyze', '--from', 'nov 30', '--to', 'dec 1', file]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^regwatch: CONFIG_INVALID: --from must be an ISO 8601 time .*got "nov 30"/);
    assert.equal(r.stdout, '');
  });

  test('--to not after --from is rejected (exit 2)', async () => {
    const r = await regwatch(['analyze', '--from', '2026-03-02', '--to', '2026-03-01', file]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /CONFIG_INVALID: --to must be after --from/);
  });

  test('a window with no findings says how many fell outside it', async () => {
    const r = await regwatch(['analyze', '--from', '2025-11-30', '--to', '2025-12-01', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '');
    const m = /, 0 findings in the window; (\d+) outside --from\/--to\n/.exec(r.stderr);
    assert.ok(m, r.stderr);
    assert.ok(Number(m[1]) > 0);
  });
});
