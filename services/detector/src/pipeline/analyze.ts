import type { Readable } from 'node:stream';
import { inputReadError } from '../../../../shared/src/io/open-input.ts';
import { readInputUnits } from '../../../../shared/src/io/input-lines.ts';
import { MAX_LINE_BYTES, MAX_PAYLOAD_BYTES, createNormalizer } from '../../../../shared/src/normalize/index.ts';
import type { NormalizeResult } from '../../../../shared/src/normalize/types.ts';
import type { Finding } from '../../../../shared/src/model/finding.ts';
import type { RegistryEvent } from '../../../../shared/src/model/registry-event.ts';
import type { DetectorEngine } from '../engine.ts';
import { toDetectorEvent, type DetectorEvent } from '../event.ts';
import { buildFinding, findingId } from '../findings.ts';
import { ExternalSorter } from './external-sort.ts';
import { RequestJoiner } from './request-join.ts';

export interface AnalyzeInput {
  /** File name (or `-`), recorded as `log.file.path` origin. */
  readonly name: string;
  /**
   * The input's (already decompressed) bytes; open files with `openInput`
   * (shared/src/io/open-input.ts) so gzip is handled. A stream error becomes INPUT_UNREADABLE.
   */
  readonly stream: Readable;
}

export interface AnalyzeOptions {
  /** Report only findings whose window starts in [from, to) (ms); detection still sees everything. */
  from?: number;
  to?: number;
  /** Events per in-memory sort run before spilling to disk. Default 250 000. */
  chunkSize?: number;
  /** Join window for notification + log of one request, ms of event time. Default 5 000. */
  joinWindowMs?: number;
  /** Called with the number of bytes read so far (progress bar). */
  onProgress?: (bytesRead: number) => void;
}

export interface AnalyzeSummary {
  /** Input lines read (blank ones and every line of a pretty-printed document included, as `regwatch normalize` counts). */
  lines: number;
  events: number;
  rejected: number;
  ignored: number;
  duplicates: number;
  joined: number;
  late: number;
  /** Unique finding ids reported (inside --from/--to when a window is given). */
  findings: number;
  /**
   * Unique finding ids detected but not reported because their window starts outside
   * [from, to) (`AnalyzeOptions.from`/`to`); 0 without a window.
   */
  outsideWindow: number;
  /** True when `from` or `to` limited the report (the summary then says "in the window"). */
  windowed: boolean;
  spilledRuns: number;
  /**
   * rule → severity → unique findings reported: each finding id counted once, under its last
   * severity (a finding re-emitted with a higher severity moves to that column).
   */
  byRule: Map<string, Map<string, number>>;
  rejects: { origin: string; line: number; reason: string; detail: string }[];
}

/** True when a parsed JSON object is already a normalized RegistryEvent. */
function isNormalized(o: unknown): o is RegistryEvent {
  const x = o as { event?: { action?: unknown }; oci_registry?: unknown; '@timestamp'?: unknown } | null;
  return (
    !!x &&
    typeof x === 'object' &&
    typeof x.event?.action === 'string' &&
    typeof x.oci_registry === 'object' &&
    typeof x['@timestamp'] === 'string'
  );
}

/** True for a line of only spaces, tabs and CR (blank lines are not inputs). */
function isBlank(b: Buffer): boolean {
  for (const c of b) if (c !== 32 && c !== 9 && c !== 13) return false;
  return true;
}

/**
 * Reads recorded inputs (any mix of registry stdout, notification envelopes, Harbor payloads and
 * audit pages — one per line or pretty-printed anywhere in the stream — and normalized events),
 * normalizes them, yields DetectorEvents in input order. Inputs are cut into messages exactly as
 * `regwatch normalize` and `regwatch run --input` cut them (shared/src/io/input-lines.ts): byte
 * lines, pretty-printed JSON documents whole (`pushPayload(…, 'auto')`), a line over
 * MAX_LINE_BYTES a `too_large` reject; a line's `log.offset` is its byte offset, as in normalize.
 * @throws AppError INPUT_UNREADABLE (naming the input) when a stream fails (I/O, corrupt gzip).
 */
export async function* readInputEvents(
  inputs: readonly AnalyzeInput[],
  summary: AnalyzeSummary,
  onProgress?: (n: number) => void,
): AsyncGenerator<DetectorEvent> {
  let before = 0; // bytes of the inputs already read
  for (const input of inputs) {
    const normalizer = createNormalizer();
    let lastLine = 0;
    let read = 0; // bytes of this input read so far (about: an over-long line counts 4 KiB)
    const take = function* (results: NormalizeResult[], line: number): Generator<DetectorEvent> {
      for (const r of results) {
        if (r.kind === 'event') {
          const ev = toDetectorEvent(r.event);
          if (ev) {
            summary.events++;
            yield ev;
          } else summary.rejected++;
        } else if (r.kind === 'rejected') {
          summary.rejected++;
          if (summary.rejects.length < 1000)
            summary.rejects.push({ origin: input.name, line, reason: r.reason, detail: r.detail });
        } else summary.ignored++;
      }
    };
    const units = (async function* () {
      try {
        yield* readInputUnits(input.stream as AsyncIterable<Buffer | string>, MAX_LINE_BYTES, MAX_PAYLOAD_BYTES);
      } catch (err) {
        throw inputReadError(input.name, err);
      }
    })();
    const ctx = { origin: input.name };
    for await (const u of units) {
      if (u.kind === 'document') {
        const first = u.lines[0]!;
        const last = u.lines[u.lines.length - 1]!;
        lastLine = last.line;
        read = last.offset + last.bytes.length + 1;
        // Lines as `regwatch normalize` counts them: every line of the document.
        summary.lines += u.lines.length;
        yield* take(normalizer.pushPayload(u.bytes, 'auto', ctx), first.line);
        continue;
      }
      const l = u.line;
      lastLine = l.line;
      read = l.offset + l.bytes.length + 1;
      if (l.line % 4096 === 0) onProgress?.(before + read);
      summary.lines++;
      if (!l.overflow && isBlank(l.bytes)) {
        // A blank line is an input line that is ignored, as `regwatch normalize` counts it.
        summary.ignored++;
        continue;
      }
      if (l.overflow) {
        summary.rejected++;
        if (summary.rejects.length < 1000)
          summary.rejects.push({
            origin: input.name,
            line: l.line,
            reason: 'too_large',
            detail: `line exceeds ${MAX_LINE_BYTES} bytes`,
          });
        continue;
      }
      if (l.bytes.includes('"oci_registry"')) {
        let parsed: unknown;
        try {
          parsed = JSON.parse(l.bytes.toString('utf8'));
        } catch {
          parsed = undefined;
        }
        if (isNormalized(parsed)) {
          const ev = toDetectorEvent(parsed);
          if (ev) {
            summary.events++;
            yield ev;
          } else summary.rejected++;
          continue;
        }
      }
      yield* take(normalizer.push(l.bytes, { ...ctx, offset: l.offset }), l.line);
    }
    yield* take(normalizer.flush(), lastLine);
    before += read;
  }
  onProgress?.(before);
}

export function newSummary(): AnalyzeSummary {
  return {
    lines: 0,
    events: 0,
    rejected: 0,
    ignored: 0,
    duplicates: 0,
    joined: 0,
    late: 0,
    findings: 0,
    outsideWindow: 0,
    windowed: false,
    spilledRuns: 0,
    byRule: new Map(),
    rejects: [],
  };
}

/**
 * Runs detection over events already in event-time order (request join → engine), turning
 * detections into findings. `detected_at` is the event-time watermark at which the finding fired
 * (what live detection would have seen), so output is reproducible. A finding id is yielded again
 * only when its severity changes (e.g. an early spike escalates at the hour's close).
 */
export async function* detectOrdered(
  events: AsyncIterable<DetectorEvent>,
  engine: DetectorEngine,
  summary: AnalyzeSummary,
  opts: AnalyzeOptions = {},
): AsyncGenerator<Finding> {
  const joiner = new RequestJoiner(opts.joinWindowMs ?? 5_000);
  const emitted = new Map<string, string>();
  const outside = new Set<string>();
  const settings = engine.settings;
  summary.windowed = summary.windowed || opts.from !== undefined || opts.to !== undefined;
  const report = function* (dets: ReturnType<DetectorEngine['process']>): Generator<Finding> {
    for (const d of dets) {
      if (
        (opts.from !== undefined && d.windowStart < opts.from) ||
        (opts.to !== undefined && d.windowStart >= opts.to)
      ) {
        const id = findingId(d.rule, d.entity, d.windowStart);
        if (!outside.has(id)) {
          outside.add(id);
          summary.outsideWindow++;
        }
        continue;
      }
      const f = buildFinding(d, {
        kibanaUrl: settings.kibanaUrl,
        dataView: settings.dataView,
        detectedAt: Math.max(engine.newestEventTime, d.windowStart),
      });
      const prev = emitted.get(f.id);
      // Same id again: only a higher severity or the end of the finding (`resolved`) is news.
      if (prev === f.severity && f.status === 'firing') continue;
      const bySev = summary.byRule.get(f.rule) ?? new Map<string, number>();
      summary.byRule.set(f.rule, bySev);
      if (prev === undefined) summary.findings++;
      else bySev.set(prev, (bySev.get(prev) ?? 1) - 1);
      bySev.set(f.severity, (bySev.get(f.severity) ?? 0) + 1);
      emitted.set(f.id, f.severity);
      yield f;
    }
  };
  for await (const ev of events) {
    for (const ready of joiner.push(ev)) yield* report(engine.process(ready));
  }
  for (const ready of joiner.flush()) yield* report(engine.process(ready));
  yield* report(engine.flush());
  summary.joined += joiner.joined;
  summary.duplicates = engine.stats.duplicates;
  summary.late = engine.stats.lateEvents;
}

/**
 * `regwatch analyze` core: reads and normalizes every input, sorts all events by event time with
 * bounded memory (external merge sort), then runs the same detection as the live service.
 */
export async function* analyzeInputs(
  inputs: readonly AnalyzeInput[],
  engine: DetectorEngine,
  summary: AnalyzeSummary,
  opts: AnalyzeOptions = {},
): AsyncGenerator<Finding> {
  const sorter = new ExternalSorter<DetectorEvent>((e) => e.ts, opts.chunkSize);
  for await (const ev of readInputEvents(inputs, summary, opts.onProgress)) await sorter.add(ev);
  summary.spilledRuns = sorter.spilledRuns;
  yield* detectOrdered(sorter.sorted(), engine, summary, opts);
}
