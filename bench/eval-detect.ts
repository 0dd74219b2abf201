/**
 * `npm run eval:detect`: runs the detector over the labelled scenario (test/fixtures/scenarios/
 * generate.ts: weeks of multi-user Distribution logs + notifications with injected attacks and
 * benign confounders) exactly as `regwatch analyze` does, and prints per attack kind whether it
 * was found (a finding of severity ≥ medium by an expected rule on the attacking entity), the
 * detection delay (finding `detected_at`, event time, minus attack start), precision of findings
 * ≥ medium, false alerts per 1,000 identity-days and confounders that reached medium.
 * Targets: every attack found; precision ≥ 0.95. Exit code 1 when a target is missed.
 */
import { Readable } from 'node:stream';
import { severityRank, type Finding } from '../shared/src/model/finding.ts';
import { createEngine, parseDetectionConfig } from '../services/detector/src/config.ts';
import { analyzeInputs, newSummary } from '../services/detector/src/pipeline/analyze.ts';
import { generateScenario, type Scenario } from '../test/fixtures/scenarios/generate.ts';

const H = 3_600_000;

export interface KindResult {
  kind: string;
  found: boolean;
  rule?: string;
  severity?: string;
  delayMinutes?: number;
}

export interface EvalResult {
  attacks: KindResult[];
  recall: number;
  precision: number;
  truePositives: number;
  falsePositives: number;
  identityDays: number;
  falseAlertsPer1000IdentityDays: number;
  confounders: { kind: string; mediumOrAbove: number }[];
  findings: Finding[];
  falseFindings: Finding[];
  events: number;
  seconds: number;
}

const overlaps = (f: Finding, start: string, end: string, slackMs: number): boolean =>
  Date.parse(f.window.start) < Date.parse(end) + slackMs && Date.parse(f.window.end) > Date.parse(start) - slackMs;

/** Distinct (identity, UTC day) pairs with activity in [from, to), from the scenario lines. */
function identityDays(s: Scenario): number {
  const from = Date.parse(s.reportFrom);
  const pairs = new Set<string>();
  for (const line of s.lines) {
    const o = JSON.parse(line) as Record<string, unknown> & {
      events?: { timestamp: string; actor?: { name?: string }; request?: { addr?: string } }[];
    };
    let t: number;
    let who: string | undefined;
    if (o.events) {
      const e = o.events[0]!;
      t = Date.parse(e.timestamp);
      who = e.actor?.name ?? e.request?.addr?.split(':')[0];
    } else {
      t = Date.parse(o.time as string);
      who =
        (o['auth.user.name'] as string | undefined) ??
        (o['http.request.remoteaddr'] as string | undefined)?.split(':')[0];
    }
    if (t >= from && who) pairs.add(`${who}|${Math.floor(t / (24 * H))}`);
  }
  return pairs.size;
}

/** Generates the scenario, runs detection, scores it against the labels. */
export async function evaluate(opts: { seed?: number } = {}): Promise<EvalResult> {
  const s = generateScenario({ seed: opts.seed ?? 42 });
  const engine = createEngine(parseDetectionConfig(s.config));
  const summary = newSummary();
  const started = process.hrtime.bigint();
  const latest = new Map<string, Finding>();
  for await (const f of analyzeInputs(
    [{ name: 'scenario', stream: Readable.from(s.lines.map((l) => l + '\n')) }],
    engine,
    summary,
    { from: Date.parse(s.reportFrom) },
  )) {
    const prev = latest.get(f.id);
    // Keep the first emission time (detection delay) with the highest severity seen.
    if (!prev) latest.set(f.id, f);
    else if (severityRank(f.severity) > severityRank(prev.severity))
      latest.set(f.id, { ...f, detected_at: prev.detected_at });
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const findings = [...latest.values()];
  const medium = findings.filter((f) => severityRank(f.severity) >= severityRank('medium'));
  const matchesAttack = (f: Finding): boolean =>
    s.attacks.some((a) => a.entities.includes(f.entity.id) && overlaps(f, a.start, a.end, H));
  const attacks: KindResult[] = s.attacks.map((a) => {
    const hits = medium
      .filter((f) => a.rules.includes(f.rule) && a.entities.includes(f.entity.id) && overlaps(f, a.start, a.end, H))
      .sort((x, y) => Date.parse(x.detected_at) - Date.parse(y.detected_at));
    const first = hits[0];
    return first
      ? {
          kind: a.kind,
          found: true,
          rule: first.rule,
          severity: first.severity,
          delayMinutes: Math.max(0, (Date.parse(first.detected_at) - Date.parse(a.start)) / 60_000),
        }
      : { kind: a.kind, found: false };
  });
  const tp = medium.filter(matchesAttack);
  const fp = medium.filter((f) => !matchesAttack(f));
  const days = identityDays(s);
  const confounders = s.confounders.map((c) => ({
    kind: c.kind,
    mediumOrAbove: fp.filter(
      (f) => (c.entities.includes('*') || c.entities.includes(f.entity.id)) && overlaps(f, c.start, c.end, 0),
    ).length,
  }));
  return {
    attacks,
    recall: attacks.filter((a) => a.found).length / attacks.length,
    precision: medium.length ? tp.length / medium.length : 1,
    truePositives: tp.length,
    falsePositives: fp.length,
    identityDays: days,
    falseAlertsPer1000IdentityDays: (fp.length / Math.max(1, days)) * 1000,
    confounders,
    findings,
    falseFindings: fp,
    events: summary.events,
    seconds,
  };
}

if (import.meta.main) {
  const r = await evaluate();
  const w = (s: string, n: number): string => s.padEnd(n);
  process.stdout.write(
    `regwatch detection evaluation — ${r.events.toLocaleString('en-US')} events, ${r.identityDays} identity-days reported, ${r.seconds.toFixed(1)} s\n\n`,
  );
  process.stdout.write(
    `${w('attack kind', 28)}${w('found', 7)}${w('first rule', 30)}${w('severity', 10)}delay (min)\n`,
  );
  for (const a of r.attacks)
    process.stdout.write(
      `${w(a.kind, 28)}${w(a.found ? 'yes' : 'NO', 7)}${w(a.rule ?? '-', 30)}${w(a.severity ?? '-', 10)}${a.delayMinutes === undefined ? '-' : a.delayMinutes.toFixed(1)}\n`,
    );
  process.stdout.write(`\n${w('confounder', 28)}findings ≥ medium\n`);
  for (const c of r.confounders) process.stdout.write(`${w(c.kind, 28)}${c.mediumOrAbove}\n`);
  process.stdout.write(
    `\nrecall ${r.recall.toFixed(3)} (target 1.000) | precision ≥ medium ${r.precision.toFixed(3)} (target ≥ 0.950; ${r.truePositives} true, ${r.falsePositives} false) | false alerts per 1,000 identity-days ${r.falseAlertsPer1000IdentityDays.toFixed(2)} | findings total ${r.findings.length}\n`,
  );
  for (const f of r.falseFindings.slice(0, 10))
    process.stdout.write(
      `  false: ${f.severity} ${f.rule} ${f.entity.id} ${f.window.start} ${f.message.slice(0, 160)}\n`,
    );
  const ok = r.recall === 1 && r.precision >= 0.95 && r.confounders.every((c) => c.mediumOrAbove === 0);
  process.stdout.write(ok ? 'targets met\n' : 'TARGETS MISSED\n');
  process.exitCode = ok ? 0 : 1;
}
