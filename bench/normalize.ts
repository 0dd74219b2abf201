/**
 * `npm run bench:normalize` — normalizer throughput against a baseline measured in the same run.
 *
 * Builds ~200k realistic JSON registry lines from the fixtures (Distribution notification envelopes,
 * logrus JSON app-log lines, GitLab/DTR lines, Harbor webhooks and audit records, Quay Kafka entries),
 * each copy with fresh UUIDs, request ids and client IPs so nothing is cached by identity. Measures
 * lines/s of `normalizeLine` against raw `JSON.parse` of the same lines (1 warm-up round, then
 * ROUNDS rounds, median), prints both and the ratio (target ≥ 0.5). Also measures the stream form
 * (`createNormalizer().push`), text lines (logrus text, Harbor syslog) and access lines (Apache
 * combined, Artifactory, Nexus), each against `String.prototype.split(' ')` of the same lines.
 * Env: BENCH_LINES (default 200000), BENCH_ROUNDS (default 5). Exit 0.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { createNormalizer, normalizeLine } from '../shared/src/normalize/index.ts';
import type { NormalizeResult } from '../shared/src/normalize/types.ts';

const SAMPLES = new URL('../test/fixtures/registry-samples/', import.meta.url);
const TARGET_LINES = Number(process.env.BENCH_LINES ?? 200_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

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

const jsonTemplates: string[] = [];
for (const f of files) {
  if (f.endsWith('.ndjson')) jsonTemplates.push(...nonBlank(read(f)).filter((l) => l.startsWith('{')));
  else if (f.endsWith('.log')) jsonTemplates.push(...nonBlank(read(f)).filter((l) => l.startsWith('{')));
  else if (f.endsWith('.json')) {
    const v = JSON.parse(read(f)) as unknown;
    const items = Array.isArray(v) ? v : [v];
    for (const it of items) jsonTemplates.push(JSON.stringify(it));
  }
}
const textTemplates: string[] = files
  .filter((f) => f.endsWith('.log'))
  .flatMap((f) => nonBlank(read(f)))
  .filter((l) => !l.startsWith('{') && (/level=|^[A-Z]{4}\[|\] \[INFO\] /.test(l) || / audit\[/.test(l)));
const accessTemplates: string[] = [
  ...nonBlank(read('21-dist-accesslog-combined.log')),
  ...nonBlank(read('39-artifactory-request.log')),
  ...nonBlank(read('41-nexus-request.log')),
];

function build(templates: string[], n: number): string[] {
  const out = new Array<string>(n);
  for (let i = 0; i < n; i++) out[i] = vary(templates[i % templates.length] ?? '');
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

/** Runs `fn` over all lines: 1 warm-up + ROUNDS timed rounds; returns median lines/s. */
function measure(lines: readonly string[], fn: (line: string) => unknown): number {
  let sink = 0;
  const rates: number[] = [];
  for (let round = 0; round <= ROUNDS; round++) {
    const t0 = process.hrtime.bigint();
    for (const l of lines) if (fn(l) !== undefined) sink++;
    const ns = Number(process.hrtime.bigint() - t0);
    if (round > 0) rates.push(lines.length / (ns / 1e9));
  }
  if (sink < 0) console.log(sink); // keep the work observable
  return median(rates);
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

const jsonLines = build(jsonTemplates, TARGET_LINES);
const textLines = build(textTemplates, Math.max(1000, Math.floor(TARGET_LINES / 4)));
const accessLines = build(accessTemplates, Math.max(1000, Math.floor(TARGET_LINES / 4)));

console.log(
  `normalize benchmark: node ${process.version}, ${ROUNDS} rounds after 1 warm-up, median lines/s\n` +
    `JSON mix: ${fmt(jsonLines.length)} lines (${mb(jsonLines).toFixed(1)} MB) from ${jsonTemplates.length} fixture templates\n` +
    `  results: ${tally(jsonLines.slice(0, 20_000))} (first 20k lines)`,
);

const parseRate = measure(jsonLines, (l) => JSON.parse(l) as unknown);
const normRate = measure(jsonLines, (l) => normalizeLine(l));
const stream = createNormalizer();
const streamRate = measure(jsonLines, (l) => stream.push(l));
const ratio = normRate / parseRate;
console.log(
  `  JSON.parse (baseline)        ${fmt(parseRate).padStart(12)} lines/s\n` +
    `  normalizeLine                ${fmt(normRate).padStart(12)} lines/s   ratio ${ratio.toFixed(2)} (target >= 0.5) ${ratio >= 0.5 ? 'OK' : 'BELOW TARGET'}\n` +
    `  createNormalizer().push      ${fmt(streamRate).padStart(12)} lines/s   ratio ${(streamRate / parseRate).toFixed(2)}`,
);

for (const [name, lines, templates] of [
  ['text lines (logrus text, Harbor syslog)', textLines, textTemplates],
  ['access lines (combined, Artifactory, Nexus)', accessLines, accessTemplates],
] as const) {
  const splitRate = measure(lines, (l) => l.split(' '));
  const rate = measure(lines, (l) => normalizeLine(l));
  console.log(
    `${name}: ${fmt(lines.length)} lines (${mb(lines).toFixed(1)} MB) from ${templates.length} templates\n` +
      `  results: ${tally(lines.slice(0, 20_000))}\n` +
      `  split(' ') (baseline)        ${fmt(splitRate).padStart(12)} lines/s\n` +
      `  normalizeLine                ${fmt(rate).padStart(12)} lines/s   ratio ${(rate / splitRate).toFixed(3)}`,
  );
}
