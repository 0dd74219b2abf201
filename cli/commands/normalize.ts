/**
 * `regwatch normalize [FILES...|-] [--rejects FILE] [--harbor-host HOST] [--keep-original] [--no-progress]`
 *
 * Reads any mix of supported inputs (Distribution notifications/logs/access logs, Harbor webhooks
 * and audit records, Quay, Artifactory, Nexus — see shared/src/normalize/sources/index.ts) from files
 * or stdin (`-` or no argument). Gzip input (`.gz`, detected by its magic bytes) is decompressed
 * with node:zlib. Writes one normalized event (RegistryEvent JSON) per line to stdout; rejected
 * inputs go as NDJSON `{reason, detail, original, file, line}` to stderr or `--rejects FILE`;
 * a one-line summary (events by action, rejects by reason) goes to stderr, and a progress bar
 * (cli-progress) to stderr when stderr is a TTY and the input is larger than 8 MiB (decompressed:
 * a gzip file's size is read from its trailer).
 *
 * Input is a line stream through one `createNormalizer()` per input (partial-line rejoining,
 * pull-once rule, dedupe). Pretty-printed JSON documents anywhere in it (a notification envelope,
 * a Harbor payload, an audit API page — a lone `{` or `[` line, indented lines, the closer at
 * column 0; or a compact JSON array on one line) are found by shared/src/io/json-documents.ts and
 * given whole to the same normalizer's `pushPayload(…, 'auto')`, up to MAX_PAYLOAD_BYTES; lines
 * that only look like the start of one are normalized one by one, so nothing is lost.
 *
 * Lines are split on bytes, not decoded text: split2 decodes with a UTF-8 StringDecoder (invalid
 * bytes become U+FFFD) and aborts on over-long lines, which would silently alter or lose input; here
 * each line's exact bytes reach the normalizer (which rejects invalid UTF-8 with the original kept)
 * and over-long lines become `too_large` rejects.
 *
 * Exit status 0 when the run completed (even with rejects); an unreadable input throws AppError
 * `INPUT_UNREADABLE` (exit 1) before anything is written for it.
 */
import { closeSync, createWriteStream, openSync, readSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { once } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { AppError } from '../../shared/src/errors.ts';
import { inputReadError, openInput, type OpenedInput } from '../../shared/src/io/open-input.ts';
import { MAX_LINE_BYTES, MAX_PAYLOAD_BYTES, createNormalizer } from '../../shared/src/normalize/index.ts';
import type { NormalizeContext, NormalizeResult } from '../../shared/src/normalize/types.ts';
import { createDocumentGrouper, type StreamUnit } from '../../shared/src/io/json-documents.ts';
import { readLines, type RawLine } from '../../shared/src/io/input-lines.ts';

/** Inputs above this many bytes get a progress bar (when stderr is a TTY). */
const PROGRESS_MIN_BYTES = 8 * 1024 * 1024;

export interface NormalizeOptions {
  rejects?: string;
  harborHost?: string;
  keepOriginal?: boolean;
  progress?: boolean;
}

/** Counters reported in the summary line. */
export interface NormalizeSummary {
  lines: number;
  events: number;
  ignored: number;
  rejects: number;
  byAction: Map<string, number>;
  byReason: Map<string, number>;
  /** Ignored inputs by kind of reason ({@link ignoredKind}). */
  byIgnored: Map<string, number>;
}

/**
 * Bytes an input gives once decompressed, for the progress bar: a plain file's size; for a gzip
 * file the ISIZE field of its last member (RFC 1952 §2.3.1: uncompressed size mod 2^32; the last
 * member only, when members were concatenated), at least the compressed size. null when unknown
 * (stdin, pipes). Never throws (an unreadable trailer gives the compressed size).
 */
export function expectedBytes(o: OpenedInput): number | null {
  if (o.size === null) return null;
  if (!o.gzip || o.size < 18) return o.size;
  try {
    const fd = openSync(o.name, 'r');
    try {
      const b = Buffer.alloc(4);
      readSync(fd, b, 0, 4, o.size - 4);
      return Math.max(o.size, b.readUInt32LE(0));
    } finally {
      closeSync(fd);
    }
  } catch {
    return o.size;
  }
}

/** True for a line of only spaces, tabs and CR (blank lines in a stream are not inputs). */
function isBlank(b: Buffer): boolean {
  for (const c of b) if (c !== 32 && c !== 9 && c !== 13) return false;
  return true;
}

/** Buffered writer that respects backpressure. */
class Out {
  private readonly stream: Writable;
  private buf: string[] = [];
  private size = 0;
  constructor(stream: Writable) {
    this.stream = stream;
  }
  async write(s: string): Promise<void> {
    this.buf.push(s);
    this.size += s.length;
    if (this.size >= 64 * 1024) await this.flush();
  }
  async flush(): Promise<void> {
    if (this.buf.length === 0) return;
    const data = this.buf.join('');
    this.buf = [];
    this.size = 0;
    if (!this.stream.write(data)) await once(this.stream, 'drain');
  }
}

function bump(m: Map<string, number>, k: string): void {
  m.set(k, (m.get(k) ?? 0) + 1);
}

/**
 * Normalizes the given inputs (paths, `-` = stdin) to `stdout` (NDJSON events) and `rejectsOut`
 * (NDJSON rejects). Returns the counters. Throws AppError `INPUT_UNREADABLE` when an input cannot be
 * opened or its bytes cannot be read (corrupt gzip); the check for all files happens before output.
 */
export async function normalizeInputs(
  inputs: readonly string[],
  opts: NormalizeOptions,
  io: { stdin: Readable; stdout: Writable; stderr: Writable & { isTTY?: boolean }; rejects: Writable },
): Promise<NormalizeSummary> {
  const files = inputs.length === 0 ? ['-'] : inputs;
  // Open every input first: a missing or unreadable one fails before anything is written.
  const opened: OpenedInput[] = [];
  try {
    for (const f of files) opened.push(await openInput(f, { stdin: io.stdin }));
  } catch (err) {
    for (const o of opened) o.stream.destroy();
    throw err;
  }
  let totalBytes = 0;
  for (const o of opened) totalBytes += expectedBytes(o) ?? 0;

  const summary: NormalizeSummary = {
    lines: 0,
    events: 0,
    ignored: 0,
    rejects: 0,
    byAction: new Map(),
    byReason: new Map(),
    byIgnored: new Map(),
  };
  const out = new Out(io.stdout);
  const rej = new Out(io.rejects);
  const showProgress = opts.progress !== false && io.stderr.isTTY === true && totalBytes > PROGRESS_MIN_BYTES;
  const bar = showProgress
    ? new cliProgress.SingleBar(
        { stream: io.stderr, format: 'normalize [{bar}] {percentage}% | {value}/{total} bytes | {events} events' },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  let readBytes = 0;
  bar?.start(totalBytes, 0, { events: 0 });

  const emit = async (results: NormalizeResult[], file: string, line: number | null): Promise<void> => {
    for (const r of results) {
      if (r.kind === 'event') {
        summary.events++;
        bump(summary.byAction, r.event.event.action);
        await out.write(`${JSON.stringify(r.event)}\n`);
      } else if (r.kind === 'rejected') {
        summary.rejects++;
        bump(summary.byReason, r.reason);
        await rej.write(
          `${JSON.stringify({ reason: r.reason, detail: r.detail, original: r.original, file, line })}\n`,
        );
      } else {
        summary.ignored++;
        bump(summary.byIgnored, ignoredKind(r.reason));
      }
    }
  };

  for (const input of opened) {
    const name = input.name;
    const src = input.stream;
    // Progress counts bytes after decompression, like the total (see expectedBytes).
    if (bar)
      src.on('data', (c: Buffer) =>
        bar.update(Math.min(totalBytes, (readBytes += c.length)), { events: summary.events }),
      );
    const ctx: NormalizeContext = {
      origin: name,
      ...(opts.harborHost ? { harborHost: opts.harborHost } : {}),
      ...(opts.keepOriginal ? { keepOriginal: true } : {}),
    };
    const normalizer = createNormalizer();
    const pushLine = async (l: RawLine): Promise<void> => {
      summary.lines++;
      if (!l.overflow && isBlank(l.bytes)) {
        summary.ignored++;
        bump(summary.byIgnored, 'blank line');
        return;
      }
      if (l.overflow) {
        await emit(
          [
            {
              kind: 'rejected',
              reason: 'too_large',
              detail: `line exceeds ${MAX_LINE_BYTES} bytes (original truncated to 4096 bytes)`,
              original: l.bytes.toString('latin1'),
            },
          ],
          name,
          l.line,
        );
        return;
      }
      await emit(normalizer.push(l.bytes, { ...ctx, offset: l.offset }), name, l.line);
    };
    // Pretty-printed JSON documents (a notification envelope, a Harbor payload, an API page) can
    // sit anywhere in the stream: the grouper gives each back whole, every other line as it came.
    const grouper = createDocumentGrouper((l: RawLine) => l.bytes, MAX_PAYLOAD_BYTES);
    const take = async (units: StreamUnit<RawLine>[]): Promise<void> => {
      for (const u of units) {
        if (u.kind === 'line') {
          await pushLine(u.line);
          continue;
        }
        summary.lines += u.lines.length;
        await emit(normalizer.pushPayload(u.bytes, 'auto', ctx), name, u.lines[0]?.line ?? null);
      }
    };
    try {
      for await (const l of readLines(src, MAX_LINE_BYTES)) {
        if (l.overflow) {
          await take(grouper.flush());
          await pushLine(l);
        } else await take(grouper.push(l));
      }
      await take(grouper.flush());
    } catch (err) {
      bar?.stop();
      await out.flush();
      await rej.flush();
      throw inputReadError(name, err);
    }
    await emit(normalizer.flush(), name, null);
  }
  bar?.update(totalBytes, { events: summary.events });
  bar?.stop();
  await out.flush();
  await rej.flush();
  return summary;
}

/**
 * The kind of an `ignored` result, for the summary: its reason without the variable part (event
 * ids, quoted messages), e.g. `repeated event id`, `not a request completion line`.
 */
export function ignoredKind(reason: string): string {
  // A re-delivered event, or another line of a request already given (same event.id).
  if (/^duplicate (delivery of )?event /.test(reason)) return 'repeated event id';
  const head = (reason.split(':')[0] ?? '').replace(/\s*\(.*\)\s*$/, '').trim();
  return head.length > 0 ? head : 'other';
}

/** `events 12 (manifest-pull 5, blob-pull 7); rejects 2 (not_json 2); ignored 1 (blank line 1); lines 15` */
export function formatSummary(s: NormalizeSummary): string {
  const list = (m: Map<string, number>): string =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
  const actions = s.byAction.size > 0 ? ` (${list(s.byAction)})` : '';
  const reasons = s.byReason.size > 0 ? ` (${list(s.byReason)})` : '';
  const ignored = s.byIgnored.size > 0 ? ` (${list(s.byIgnored)})` : '';
  return `normalize: events ${s.events}${actions}; rejects ${s.rejects}${reasons}; ignored ${s.ignored}${ignored}; lines ${s.lines}`;
}

export function register(program: Command): void {
  program
    .command('normalize')
    .description('normalize registry inputs (files, .gz or stdin) to ECS events as NDJSON on stdout')
    .argument('[files...]', 'input files; "-" or none reads stdin')
    .option(
      '--rejects <file>',
      'write rejected inputs as NDJSON {reason, detail, original, file, line} here (default stderr)',
    )
    .option('--harbor-host <host>', 'Harbor instance host, scopes Harbor audit ids (default "harbor")')
    .option('--keep-original', 'keep the raw input in event.original')
    .option(
      '--no-progress',
      'never show a progress bar (shown on a TTY for inputs over 8 MiB, gzip counted decompressed)',
    )
    .addHelpText(
      'after',
      `
Summary (stderr): events by action; rejects by reason (each reject is also written with its
reason); ignored by kind — inputs that are valid but are not events of their own: blank lines,
log lines that do not complete a request (start-up, "authorized request": the request's
completion line is its event), repeated event ids (an event delivered again, or another line
of a request already given), requests outside the Docker registry API (Artifactory, Nexus).`,
    )
    .action(async (files: string[], opts: NormalizeOptions) => {
      let rejects: Writable = process.stderr;
      if (opts.rejects !== undefined) {
        // Like `run --findings` and `forecast --chart`: a missing parent directory is created.
        const dir = dirname(opts.rejects);
        try {
          await mkdir(dir, { recursive: true });
        } catch (err) {
          throw new AppError('OUTPUT_UNWRITABLE', `cannot create ${dir} for --rejects: ${(err as Error).message}`);
        }
        const ws = createWriteStream(opts.rejects);
        await new Promise<void>((resolve, reject) => {
          ws.once('open', () => resolve());
          ws.once('error', (err) =>
            reject(new AppError('OUTPUT_UNWRITABLE', `cannot open --rejects ${opts.rejects}: ${err.message}`)),
          );
        });
        rejects = ws;
      }
      const summary = await normalizeInputs(files, opts, {
        stdin: process.stdin,
        stdout: process.stdout,
        stderr: process.stderr,
        rejects,
      });
      if (rejects !== process.stderr) {
        const ws = rejects;
        await new Promise<void>((resolve) => ws.end(resolve));
      }
      process.stderr.write(`${formatSummary(summary)}\n`);
    });
}
