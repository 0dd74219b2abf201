import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { inputReadError } from '../../../../shared/src/io/open-input.ts';
import { createNormalizer, normalizePayload } from '../../../../shared/src/normalize/index.ts';
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

/**
 * Reads recorded inputs (any mix of registry stdout, notification envelopes one per line, Harbor
 * payloads, normalized events; a file whose first line is a lone `{`/`[` is read as one
 * pretty-printed JSON document), normalizes them, yields DetectorEvents in input order.
 * @throws AppError INPUT_UNREADABLE (naming the input) when a stream fails (I/O, corrupt gzip).
 */
export async function* readInputEvents(
  inputs: readonly AnalyzeInput[],
  summary: AnalyzeSummary,
  onProgress?: (n: number) => void,
): AsyncGenerator<DetectorEvent> {
  let bytes = 0;
  for (const input of inputs) {
    const normalizer = createNormalizer();
    const rl = createInterface({ input: input.stream, crlfDelay: Infinity });
    let lineNo = 0;
    let doc: string[] | undefined;
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
    const lines = (async function* () {
      try {
        yield* rl;
      } catch (err) {
        throw inputReadError(input.name, err);
      }
    })();
    for await (const line of lines) {
      lineNo++;
      bytes += Buffer.byteLength(line) + 1;
      if (lineNo % 4096 === 0) onProgress?.(bytes);
      if (doc) {
        doc.push(line);
        continue;
      }
      if (line.trim() === '') continue;
      summary.lines++;
      if (lineNo === 1 && (line.trim() === '{' || line.trim() === '[')) {
        doc = [line];
        continue;
      }
      if (line.includes('"oci_registry"')) {
        let parsed: unknown;
        try {
          parsed = JSON.parse(line);
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
      yield* take(normalizer.push(line, { origin: input.name, offset: lineNo }), lineNo);
    }
    if (doc) yield* take(normalizePayload(doc.join('\n'), 'auto', { origin: input.name }), 1);
    yield* take(normalizer.flush(), lineNo);
  }
  onProgress?.(bytes);
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
