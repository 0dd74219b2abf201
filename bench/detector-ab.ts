/**
 * A/B harness for the streaming detector engine: main-thread CPU per event of two versions of the
 * engine, measured in one process on the same events, as a ratio with its spread.
 *
 *   sh scripts/node.sh bench/detector-ab.ts                      # A = HEAD, B = working tree
 *   sh scripts/node.sh bench/detector-ab.ts --a HEAD --b HEAD    # A/A: the noise floor
 *   sh scripts/node.sh bench/detector-ab.ts --a <ref> --b <ref>  # any two commits
 *   sh scripts/node.sh --cpu-prof bench/detector-ab.ts --only b  # profile one side alone
 *
 * Sides: `worktree` is this checkout as it is on disk; any other value is a git ref whose
 * `package.json`, `services/detector/src` and `shared/src` are extracted (`git archive`, read-only
 * for the repository) into a temporary directory with a `node_modules` link to this checkout's,
 * and removed at exit. Each side gets its own copy, also in an A/A run, so both sides are separate
 * module instances with their own JIT feedback, as in an A/B run.
 *
 * Method: the events of `npm run bench:detect` (bench/detector-events.ts: 20,000 identities over
 * 6 hours of event time, sessions, pushes, login failures, 32-hex ids and request ids), built once
 * and fed to both engines. After a warm-up pass of each side, every round creates a fresh engine
 * per side (default settings, every rule) and feeds them the events in alternating chunks
 * (`--chunk`, 25,000 events): chunk k goes to A then B for even k, B then A for odd k, so order
 * effects (caches, GC debt left by the other side) fall on both sides alike; the round ends with
 * each engine's `flush()`. Each chunk is timed with `process.threadCpuUsage()` (CPU time of the
 * main thread: the detector's own work and the GC work done on it; helper-thread GC not counted),
 * so other processes on a shared machine do not enter the figure as they do a wall clock.
 *
 * Output: per round, A and B in ns of main-thread CPU per event and the ratio B/A (< 1: B is
 * cheaper); then the median ratio over rounds with its min–max, and the median and interquartile
 * range of the per-chunk-pair ratios (chunk k of A vs chunk k of B, all rounds). Run an A/A first:
 * only a B/A ratio outside the A/A spread is a real difference. The detections of both sides in the
 * first round are compared (JSON, in order) and a mismatch is reported and sets exit code 1.
 *
 * Options: --a, --b (sides, defaults HEAD and worktree), --rounds (6), --events (1,000,000),
 * --chunk (25,000), --only a|b (one side only, for profiling; prints its CPU per event).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { DetectorEvent } from '../services/detector/src/event.ts';
import { makeEvents } from './detector-events.ts';

const H = 3_600_000;
const ROOT = resolve(import.meta.dirname, '..');

const { values: opt } = parseArgs({
  options: {
    a: { type: 'string', default: 'HEAD' },
    b: { type: 'string', default: 'worktree' },
    rounds: { type: 'string', default: '6' },
    events: { type: 'string', default: '1000000' },
    chunk: { type: 'string', default: '25000' },
    only: { type: 'string' },
  },
});
const ROUNDS = Number(opt.rounds);
const N = Number(opt.events);
const CHUNK = Number(opt.chunk);
if (!(ROUNDS >= 1 && N >= 1 && CHUNK >= 1)) throw new Error('--rounds, --events and --chunk must be positive numbers');
if (opt.only !== undefined && opt.only !== 'a' && opt.only !== 'b') throw new Error('--only takes a or b');

/** The part of an engine the harness drives (both versions have it). */
interface Engine {
  process(ev: DetectorEvent): readonly unknown[];
  flush(): unknown[];
}
interface Side {
  label: string;
  make: () => Engine;
}

const tempDirs: string[] = [];
process.on('exit', () => {
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
});

/** Loads the engine of `source` (`worktree` or a git ref) as a module instance of its own. */
async function loadSide(source: string, name: string): Promise<Side> {
  let root = ROOT;
  let label = 'working tree';
  if (source !== 'worktree') {
    const sha = execFileSync('git', ['rev-parse', '--short', source], { cwd: ROOT, encoding: 'utf8' }).trim();
    root = mkdtempSync(join(os.tmpdir(), `regwatch-detector-ab-${name}-`));
    tempDirs.push(root);
    const tar = execFileSync('git', ['archive', source, 'package.json', 'services/detector/src', 'shared/src'], {
      cwd: ROOT,
      maxBuffer: 256 * 1024 * 1024,
    });
    execFileSync('tar', ['-x', '-C', root], { input: tar });
    symlinkSync(join(ROOT, 'node_modules'), join(root, 'node_modules'));
    label = `${source} (${sha})`;
  }
  const mod = (await import(pathToFileURL(join(root, 'services/detector/src/config.ts')).href)) as {
    createEngine: (c: unknown) => Engine;
    parseDetectionConfig: (x: unknown) => unknown;
  };
  return { label, make: () => mod.createEngine(mod.parseDetectionConfig({})) };
}

/** Main-thread CPU time (ns) of `fn`. */
function cpuNs(fn: () => void): number {
  const t0 = process.threadCpuUsage();
  fn();
  const t = process.threadCpuUsage(t0);
  return (t.user + t.system) * 1000;
}

/** Feeds events [from, to) to `eng`; detections are kept in `sink` when given. */
function feed(eng: Engine, events: readonly DetectorEvent[], from: number, to: number, sink?: unknown[]): void {
  for (let i = from; i < to; i++) {
    const d = eng.process(events[i]!);
    if (sink !== undefined && d.length) sink.push(...d);
  }
}

const median = (xs: readonly number[]): number => quantile(xs, 0.5);
function quantile(xs: readonly number[], q: number): number {
  const a = xs.slice().sort((x, y) => x - y);
  const at = (a.length - 1) * q;
  const lo = Math.floor(at);
  return a[lo]! + (a[Math.min(lo + 1, a.length - 1)]! - a[lo]!) * (at - lo);
}
const out = (s: string): boolean => process.stdout.write(s + '\n');

const sides: Side[] = [];
if (opt.only !== 'b') sides.push(await loadSide(opt.a, 'a'));
if (opt.only !== 'a') sides.push(await loadSide(opt.b, 'b'));

const events = makeEvents(N, 20_000, Date.parse('2026-03-02T00:00:00Z'), 6 * H);
const chunks = Math.ceil(N / CHUNK);
out(
  `detector A/B: ${N.toLocaleString('en-US')} events (bench:detect stream), ${chunks} chunks of ${CHUNK.toLocaleString('en-US')}, ${ROUNDS} rounds after a warm-up; main-thread CPU per event`,
);
for (const [i, s] of sides.entries()) out(`  ${'AB'[opt.only === 'b' ? 1 : i]}: ${s.label}`);

// Warm-up: one full pass per side (JIT tiers, inline caches), detections of the first round compared.
const detections: string[] = [];
for (const s of sides) {
  const eng = s.make();
  const sink: unknown[] = [];
  feed(eng, events, 0, N, sink);
  sink.push(...eng.flush());
  detections.push(JSON.stringify(sink));
}
let mismatch = false;
if (sides.length === 2) {
  mismatch = detections[0] !== detections[1];
  out(
    `  detections A ${detections[0]!.length.toLocaleString('en-US')} B ${detections[1]!.length.toLocaleString('en-US')} JSON chars: ${mismatch ? 'DIFFERENT' : 'identical'}`,
  );
}

const perRound: number[][] = []; // [side] → ns per event, per round
const pairRatios: number[] = [];
for (const _ of sides) perRound.push([]);
const wall0 = process.hrtime.bigint();
for (let r = 0; r < ROUNDS; r++) {
  const engines = sides.map((s) => s.make());
  const total = sides.map(() => 0);
  for (let k = 0; k < chunks; k++) {
    const from = k * CHUNK;
    const to = Math.min(N, from + CHUNK);
    const ns = sides.map(() => 0);
    const order = k % 2 === 0 ? [0, 1] : [1, 0];
    for (const j of order) {
      if (j >= sides.length) continue;
      const eng = engines[j]!;
      ns[j] = cpuNs(() => feed(eng, events, from, to));
      if (to === N) ns[j] += cpuNs(() => void eng.flush());
    }
    for (let j = 0; j < sides.length; j++) total[j]! += ns[j]!;
    if (sides.length === 2 && ns[0]! > 0) pairRatios.push(ns[1]! / ns[0]!);
  }
  for (let j = 0; j < sides.length; j++) perRound[j]!.push(total[j]! / N);
  const cells = perRound.map((xs, j) => `${'AB'[opt.only === 'b' ? 1 : j]} ${xs[r]!.toFixed(0)} ns/event`);
  out(
    `  round ${r + 1}: ${cells.join(', ')}${sides.length === 2 ? `; B/A ${(perRound[1]![r]! / perRound[0]![r]!).toFixed(3)}` : ''}`,
  );
}
const wall = Number(process.hrtime.bigint() - wall0) / 1e9;
if (sides.length === 2) {
  const ratios = perRound[0]!.map((a, r) => perRound[1]![r]! / a);
  out(
    `A ${median(perRound[0]!).toFixed(0)} ns/event, B ${median(perRound[1]!).toFixed(0)} ns/event (medians of rounds)`,
  );
  out(
    `B/A ratio: median ${median(ratios).toFixed(3)} (rounds ${Math.min(...ratios).toFixed(3)}–${Math.max(...ratios).toFixed(3)}); chunk pairs median ${median(pairRatios).toFixed(3)}, IQR ${quantile(pairRatios, 0.25).toFixed(3)}–${quantile(pairRatios, 0.75).toFixed(3)} (n=${pairRatios.length})`,
  );
} else {
  out(`${sides[0]!.label}: ${median(perRound[0]!).toFixed(0)} ns/event (median of rounds)`);
}
out(
  `  timed part ${wall.toFixed(1)} s wall; load average ${os.loadavg()[0]!.toFixed(1)} on ${os.availableParallelism()} cores`,
);
if (mismatch) process.exitCode = 1;
