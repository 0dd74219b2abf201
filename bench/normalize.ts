/**
 * `npm run bench:normalize` — normalizer throughput against a baseline measured in the same run.
 *
 * Headline (the issue's target, ratio ≥ 0.5): **registry JSON log lines**, i.e. what a CNCF
 * Distribution registry's stdout/stderr carries as a JSON stream, plus its notification envelopes:
 * - logrus JSON app-log lines (fixtures 15, 16, 17, 19, 20, 23 and the recorded real 2.8.2 run);
 * - its Apache combined access-log lines as they arrive in a JSON stream — wrapped by the container
 *   runtime (Docker `json-file`: `{"log":…,"stream":…,"time":…}`) or by a collector (fluentd
 *   `{"message":…}`, fixture 22) — since the access log itself is not JSON;
 * - notification envelopes, one compact JSON document per line (fixtures 01–12 and the real run's
 *   POST bodies).
 * The weights are those of the recorded real run (test/fixtures/real-registry: 161 app-log lines,
 * 88 access lines, 32 notification envelopes for the same client traffic), so the headline mix is
 * 57 % app log, 31 % access, 12 % notifications.
 *
 * Reported separately (never folded into the headline, and never hidden): Harbor webhooks and audit
 * API records, Quay API/Kafka records and GitLab registry lines (these arrive over HTTP or from
 * other registries' logs at far lower rates), the uniform mix of every JSON fixture template (the
 * previous headline), the stream form (`createNormalizer().push`), text lines and access lines.
 *
 * Method: every line is a varied copy of a template (fresh UUIDs, request ids, client IPs), so
 * nothing is cached by identity. Each figure is CPU time of this process (`process.cpuUsage()`,
 * user + system), not wall clock: on a shared, loaded machine wall time measures the neighbours.
 * Baseline (`JSON.parse` of the same lines; `split(' ')` for text) and normalizer rounds are
 * interleaved A/B, B/A, … after one warm-up of each, and the reported ratio is the median of the
 * per-round ratios (baseline CPU / normalizer CPU for the same lines), so slow drift in machine
 * state affects both sides of a ratio alike. Rates are medians of lines per CPU-second.
 * Floor (informative, not a headline): for access lines in a JSON stream, JSON.parse of the wrapper
 * plus only the `event.id` hash of the inner line (its documented definition) — no normalizer with
 * that id can beat this ratio on that format.
 * Also printed under the headline: the normalizer's rate against the issue's implied absolute
 * figure (0.5 × its stated 350k lines/s of JSON.parse per core = 175k lines/CPU-s) and how fast
 * JSON.parse runs here against that 350k.
 * Env: BENCH_LINES (headline lines, default 100000; each other group gets a quarter),
 * BENCH_ROUNDS (A/B pairs, default 7). Exit 0.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { createNormalizer, normalizeLine } from '../shared/src/normalize/index.ts';
import type { NormalizeResult } from '../shared/src/normalize/types.ts';
import { stableId } from '../shared/src/normalize/common/hash.ts';

const SAMPLES = new URL('../test/fixtures/registry-samples/', import.meta.url);
const REAL = new URL('../test/fixtures/real-registry/', import.meta.url);
const TARGET_LINES = Number(process.env.BENCH_LINES ?? 100_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const GROUP_LINES = Math.max(2000, Math.floor(TARGET_LINES / 4));

// Deterministic PRNG (mulberry32) so runs are comparable.
let seed = 0x5eed;
function rand(): number {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const hex = (n: number) =>
  Array.from({ length: n }, () =>
    Math.floor(rand() * 16)
      .toString(16)
      .toLowerCase(),
  ).join('');
const uuid = () => `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`;
const ipv4 = () => `${['198.51.100', '203.0.113', '192.0.2'][Math.floor(rand() * 3)]}.${1 + Math.floor(rand() * 254)}`;

const UUID_RE = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;
const IPV4_RE = /\b(?:\d{1,3}\.){3}\d{1,3}\b/g;
const TRACE_RE = /\|[0-9a-f]{16}\|/g;
/** One varied copy of a fixture line: new UUIDs, IPs and trace ids. */
function vary(line: string): string {
  return line
    .replace(UUID_RE, () => uuid())
    .replace(IPV4_RE, () => ipv4())
    .replace(TRACE_RE, () => `|${hex(16)}|`);
}

const files = readdirSync(SAMPLES).filter((f) => /^\d/.test(f));
const read = (f: string) => readFileSync(new URL(f, SAMPLES), 'utf8');
const nonBlank = (s: string) => s.split('\n').filter((l) => l.trim().length > 0);
const isJson = (l: string) => l.startsWith('{');
/** JSON documents of a fixture as compact lines (NDJSON lines as they are; `.json` files compacted, arrays split). */
function jsonDocs(f: string): string[] {
  if (f.endsWith('.json')) {
    const v = JSON.parse(read(f)) as unknown;
    return (Array.isArray(v) ? v : [v]).map((it) => JSON.stringify(it));
  }
  return nonBlank(read(f)).filter(isJson);
}
const byPrefix = (...prefixes: string[]) => files.filter((f) => prefixes.some((p) => f.startsWith(p))).sort();

const realOutput = nonBlank(readFileSync(new URL('registry-output.log', REAL), 'utf8'));
const realNotifications = nonBlank(readFileSync(new URL('notifications.ndjson', REAL), 'utf8')).map((l) =>
  JSON.stringify(JSON.parse((JSON.parse(l) as { body: string }).body)),
);
const COMBINED_RE = /^\S+ \S+ \S+ \[[^\]]+\] "/;
const combinedLines = [
  ...realOutput.filter((l) => COMBINED_RE.test(l)),
  ...byPrefix('15-', '21-').flatMap((f) => nonBlank(read(f)).filter((l) => COMBINED_RE.test(l))),
];

/** Templates per input family. */
const T = {
  appLog: [...byPrefix('15-', '16-', '17-', '19-', '20-', '23-').flatMap(jsonDocs), ...realOutput.filter(isJson)],
  accessJson: [
    ...jsonDocs('22-dist-accesslog-fluentd-wrapped.ndjson'),
    ...combinedLines.map((l, i) =>
      JSON.stringify({ log: `${l}\n`, stream: 'stdout', time: `2026-11-29T15:04:${String(10 + (i % 50))}.7161Z` }),
    ),
  ],
  notification: [
    ...byPrefix('01-', '02-', '03-', '04-', '05-', '06-', '07-', '08-', '09-', '10-', '11-', '12-').flatMap(jsonDocs),
    ...realNotifications,
  ],
  harbor: byPrefix('26-', '27-', '28', '29-', '30-', '31-', '32-', '33-', '35-', '36-').flatMap(jsonDocs),
  quayGitlab: byPrefix('25-', '37-', '38-').flatMap(jsonDocs),
  allJson: files.flatMap((f) =>
    f.endsWith('.json') || f.endsWith('.ndjson') || f.endsWith('.log') ? jsonDocs(f) : [],
  ),
  text: files
    .filter((f) => f.endsWith('.log'))
    .flatMap((f) => nonBlank(read(f)))
    .filter((l) => !isJson(l) && (/level=|^[A-Z]{4}\[|\] \[INFO\] /.test(l) || / audit\[/.test(l))),
  access: [
    ...nonBlank(read('21-dist-accesslog-combined.log')),
    ...nonBlank(read('39-artifactory-request.log')),
    ...nonBlank(read('41-nexus-request.log')),
  ],
};

/** `n` varied lines cycling through `templates`. */
function build(templates: readonly string[], n: number): string[] {
  const out = new Array<string>(n);
  for (let i = 0; i < n; i++) out[i] = vary(templates[i % templates.length] ?? '');
  return out;
}

/** `n` varied lines drawn from weighted families in a fixed interleaving (deterministic). */
function buildMix(parts: readonly { templates: readonly string[]; weight: number }[], n: number): string[] {
  const total = parts.reduce((a, p) => a + p.weight, 0);
  const next = parts.map(() => 0);
  const credit = parts.map(() => 0);
  const out = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    // Largest-remainder interleaving: each family appears at its share, spread evenly.
    let best = 0;
    for (let k = 0; k < parts.length; k++) {
      credit[k] = (credit[k] ?? 0) + (parts[k]?.weight ?? 0) / total;
      if ((credit[k] ?? 0) > (credit[best] ?? 0)) best = k;
    }
    credit[best] = (credit[best] ?? 0) - 1;
    const p = parts[best];
    const j = next[best] ?? 0;
    next[best] = j + 1;
    out[i] = vary(p?.templates[j % (p?.templates.length ?? 1)] ?? '');
  }
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

let sink = 0;
/** CPU microseconds (user + system of this process) to run `fn` over every line once. */
function cpuPass(lines: readonly string[], fn: (line: string) => unknown): number {
  const t0 = process.cpuUsage();
  for (let i = 0; i < lines.length; i++) if (fn(lines[i] ?? '') !== undefined) sink++;
  const d = process.cpuUsage(t0);
  return Math.max(1, d.user + d.system);
}

interface Figures {
  baseRate: number;
  rate: number;
  ratio: number;
  /** Per-round ratios, min and max (spread of the measurement). */
  lo: number;
  hi: number;
}

/** One warm-up of each side, then ROUNDS interleaved pairs (A/B, B/A, …). Rates in lines per CPU-second. */
function compare(
  lines: readonly string[],
  baseline: (line: string) => unknown,
  subject: () => (line: string) => unknown,
): Figures {
  cpuPass(lines, baseline);
  cpuPass(lines, subject());
  const ratios: number[] = [];
  const baseRates: number[] = [];
  const rates: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const fn = subject();
    let b: number;
    let s: number;
    if (round % 2 === 0) {
      b = cpuPass(lines, baseline);
      s = cpuPass(lines, fn);
    } else {
      s = cpuPass(lines, fn);
      b = cpuPass(lines, baseline);
    }
    ratios.push(b / s);
    baseRates.push(lines.length / (b / 1e6));
    rates.push(lines.length / (s / 1e6));
  }
  return {
    baseRate: median(baseRates),
    rate: median(rates),
    ratio: median(ratios),
    lo: Math.min(...ratios),
    hi: Math.max(...ratios),
  };
}

function tally(lines: readonly string[]): string {
  const counts = { event: 0, rejected: 0, ignored: 0 };
  const reasons = new Map<string, number>();
  for (const l of lines) {
    for (const r of normalizeLine(l) as NormalizeResult[]) {
      counts[r.kind]++;
      if (r.kind === 'rejected') reasons.set(r.reason, (reasons.get(r.reason) ?? 0) + 1);
    }
  }
  const rj = [...reasons].map(([k, v]) => `${k} ${v}`).join(', ');
  return `events ${counts.event}, ignored ${counts.ignored}, rejected ${counts.rejected}${rj ? ` (${rj})` : ''}`;
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const mb = (lines: readonly string[]) => lines.reduce((a, l) => a + Buffer.byteLength(l) + 1, 0) / 1e6;
const parse = (l: string) => JSON.parse(l) as unknown;
const split = (l: string) => l.split(' ');
const stateless = () => (l: string) => normalizeLine(l);
/** A fresh stream normalizer per round (its duplicate memory must not see the previous round's ids). */
const stream = () => {
  const n = createNormalizer();
  return (l: string) => n.push(l);
};

function report(
  name: string,
  lines: readonly string[],
  templates: number,
  baseName: string,
  f: Figures,
  target?: number,
): void {
  const verdict = target === undefined ? '' : ` (target >= ${target}) ${f.ratio >= target ? 'OK' : 'BELOW TARGET'}`;
  const from = templates > 0 ? ` from ${templates} templates` : '';
  console.log(
    `${name}: ${fmt(lines.length)} lines (${mb(lines).toFixed(1)} MB)${from}\n` +
      `  results: ${tally(lines.slice(0, 20_000))}${lines.length > 20_000 ? ' (first 20k lines)' : ''}\n` +
      `  ${baseName.padEnd(26)} ${fmt(f.baseRate).padStart(12)} lines/CPU-s\n` +
      `  ${'normalizer'.padEnd(26)} ${fmt(f.rate).padStart(12)} lines/CPU-s   ratio ${f.ratio.toFixed(3)}` +
      ` [rounds ${f.lo.toFixed(3)}–${f.hi.toFixed(3)}]${verdict}`,
  );
}

const W = { appLog: 161, accessJson: 88, notification: 32 };
/** lines/CPU-s: 0.5 × the issue's "roughly 350k lines/s per core" for JSON.parse of registry JSON lines. */
const ISSUE_RATE = 175_000;
const headline = buildMix(
  [
    { templates: T.appLog, weight: W.appLog },
    { templates: T.accessJson, weight: W.accessJson },
    { templates: T.notification, weight: W.notification },
  ],
  TARGET_LINES,
);

console.log(
  `normalize benchmark: node ${process.version}, CPU time (process.cpuUsage), ${ROUNDS} interleaved ` +
    `baseline/normalizer rounds after 1 warm-up each; ratio = median of per-round CPU ratios\n`,
);
const head = compare(headline, parse, stateless);
report(
  `HEADLINE registry JSON stream (app log ${W.appLog} : access ${W.accessJson} : notifications ${W.notification}), normalizeLine`,
  headline,
  T.appLog.length + T.accessJson.length + T.notification.length,
  'JSON.parse (baseline)',
  head,
  0.5,
);
// The issue states its ratio target with a figure for the baseline: JSON.parse of registry JSON
// lines "at roughly 350k lines/s per core on this machine kind", so ratio 0.5 meant a normalizer of
// ~175k lines per CPU-second. Printed beside the ratio because JSON.parse measures far faster here.
console.log(
  `  issue's implied rate: 0.5 × 350k = ${fmt(ISSUE_RATE)} lines/CPU-s; normalizer ${fmt(head.rate)} → ` +
    `${head.rate >= ISSUE_RATE ? 'above' : 'below'} it; JSON.parse here ${fmt(head.baseRate)} lines/CPU-s ` +
    `(${(head.baseRate / 350_000).toFixed(1)}× the issue's 350k)`,
);
report('  same lines, createNormalizer().push', headline, 0, 'JSON.parse (baseline)', compare(headline, parse, stream));
console.log('\nPer format (normalizeLine vs JSON.parse of the same lines):');
for (const [name, templates] of [
  ['Distribution app-log JSON (logrus, logstash, DTR)', T.appLog],
  ['Distribution access lines in a JSON stream (json-file, fluentd)', T.accessJson],
  ['Distribution notification envelopes', T.notification],
  ['Harbor webhooks + audit API records (HTTP, low rate)', T.harbor],
  ['Quay API/Kafka records + GitLab registry lines (low rate)', T.quayGitlab],
  ['All JSON fixture templates, uniform (previous headline)', T.allJson],
] as const) {
  const lines = build(templates, GROUP_LINES);
  report(name, lines, templates.length, 'JSON.parse (baseline)', compare(lines, parse, stateless));
}
// Floor of the access-log lines in a JSON stream: their `event.id` is defined as a hash of the whole
// inner line (FORMATS.md "Dedupe and correlation keys"), so JSON.parse of the wrapper plus that hash
// alone, with no other work, bounds what any normalizer can reach on this format.
{
  const lines = build(T.accessJson, GROUP_LINES);
  const inner = (l: string): string => {
    const o = JSON.parse(l) as { log?: string; message?: string };
    const s = o.log ?? o.message ?? '';
    return s.endsWith('\n') ? s.slice(0, -1) : s;
  };
  const f = compare(lines, parse, () => (l: string) => stableId(inner(l), undefined));
  console.log(
    '\nFloor: access lines in a JSON stream, JSON.parse + the event.id hash of the inner line only\n' +
      `  ${'parse + stableId'.padEnd(26)} ${fmt(f.rate).padStart(12)} lines/CPU-s   ratio ${f.ratio.toFixed(3)}` +
      ` [rounds ${f.lo.toFixed(3)}–${f.hi.toFixed(3)}] (bound for any normalizer that parses the wrapper and keeps this id)`,
  );
}
console.log('\nNon-JSON lines (normalizeLine vs split(" ") of the same lines):');
for (const [name, templates] of [
  ['text lines (logrus text, Harbor syslog)', T.text],
  ['access lines (combined, Artifactory, Nexus)', T.access],
] as const) {
  const lines = build(templates, GROUP_LINES);
  report(name, lines, templates.length, "split(' ') (baseline)", compare(lines, split, stateless));
}
if (sink < 0) console.log(sink); // keep the work observable
