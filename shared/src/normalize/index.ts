import type { JsonSource } from './sources/types.ts';
import type { JsonProbe } from './sources/probe.ts';
import type { NormalizeContext, NormalizeResult } from './types.ts';
import { jsonSources, textSources } from './sources/index.ts';
import { reject } from './common/event.ts';
import { StreamRules } from './pull-once.ts';
import { probeObject } from './sources/probe.ts';

/**
 * Normalizer entry points. Format detection is per line (FORMAT-EDGE-CASES 43: JSON app log and
 * Apache access lines interleave): JSON objects go to `jsonSources`, other text to `textSources`,
 * each tried in registry order (sources/index.ts) — the first `matches` wins. Container-runtime
 * wrappers are removed first: Docker `json-file` (`{"log":…,"stream":…,"time":…}`), CRI
 * (`<time> <stream> <P|F> <msg>`) and fluentd (`{"message":"<line>",…}`).
 *
 * Nothing here throws: bad input becomes a `rejected` result with a reason code (types.ts
 * REJECT_REASONS) and the original text, so callers can dead-letter it.
 */

/** Largest accepted line (bytes). Docker/CRI split lines at 16 KiB; rejoined lines may be larger. */
export const MAX_LINE_BYTES = 1024 * 1024;
/** Largest accepted HTTP payload (bytes). */
export const MAX_PAYLOAD_BYTES = 16 * 1024 * 1024;
/** Default window for the multi-arch pull-once rule (ms). */
export const DEFAULT_MULTI_ARCH_WINDOW_MS = 10_000;

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
const CRI_RE = /^(\d{4}-\d{2}-\d{2}T\S+) (stdout|stderr) ([PF])(?: (.*))?$/s;

type Decoded = { ok: true; text: string } | { ok: false; result: NormalizeResult };

function decode(input: string | Uint8Array, max: number): Decoded {
  if (typeof input === 'string') {
    if (input.length > max / 3 && Buffer.byteLength(input, 'utf8') > max) {
      return {
        ok: false,
        result: reject(
          'too_large',
          input.slice(0, 4096),
          `input is ${Buffer.byteLength(input, 'utf8')} bytes; the limit is ${max}`,
        ),
      };
    }
    return { ok: true, text: input.charCodeAt(0) === 0xfeff ? input.slice(1) : input };
  }
  // Invalid UTF-8 keeps its bytes: `original` is the latin1 decoding (one char per byte, reversible).
  if (input.byteLength > max) {
    return {
      ok: false,
      result: reject(
        'too_large',
        Buffer.from(input.subarray(0, 4096)).toString('latin1'),
        `input is ${input.byteLength} bytes; the limit is ${max}`,
      ),
    };
  }
  try {
    return { ok: true, text: utf8.decode(input) };
  } catch {
    return {
      ok: false,
      result: reject(
        'invalid_utf8',
        Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString('latin1'),
        'bytes are not valid UTF-8 (original is latin1-decoded, byte-exact)',
      ),
    };
  }
}

function stripEol(s: string): string {
  let end = s.length;
  while (end > 0 && (s.charCodeAt(end - 1) === 10 || s.charCodeAt(end - 1) === 13)) end--;
  return end === s.length ? s : s.slice(0, end);
}

/** True when the text holds only whitespace (no copy, unlike trim()). */
function isBlank(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 10 && c !== 13 && c !== 11 && c !== 12 && c !== 0xfeff && c !== 0xa0) return false;
  }
  return true;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function runJsonSource(
  source: JsonSource,
  obj: Record<string, unknown>,
  raw: string,
  ctx: NormalizeContext,
  probe?: JsonProbe,
): NormalizeResult[] {
  try {
    return source.normalize(obj, raw, ctx, probe);
  } catch (err) {
    return [
      reject('schema_mismatch', raw, `${source.id}: ${err instanceof Error ? err.message : String(err)}`.slice(0, 300)),
    ];
  }
}

/** Tries the JSON sources (optionally filtered) on one parsed object. */
function dispatchObject(
  obj: Record<string, unknown>,
  raw: string,
  ctx: NormalizeContext,
  filter?: (s: JsonSource) => boolean,
): NormalizeResult[] {
  for (const source of jsonSources) {
    if (filter !== undefined && !filter(source)) continue;
    let hit: boolean;
    try {
      hit = source.matches(obj);
    } catch {
      hit = false;
    }
    if (hit) return runJsonSource(source, obj, raw, ctx);
  }
  return [reject('unknown_format', raw, 'JSON object matches no known registry format')];
}

/**
 * {@link dispatchObject} for one line: the same sources in the same order, deciding from the
 * object's probe where a source offers `matchesProbe` (and passing the probe on to `normalize`).
 */
function dispatchProbed(
  obj: Record<string, unknown>,
  probe: JsonProbe,
  raw: string,
  ctx: NormalizeContext,
): NormalizeResult[] {
  for (const source of jsonSources) {
    let hit: boolean;
    if (source.matchesProbe !== undefined) hit = source.matchesProbe(probe);
    else {
      try {
        hit = source.matches(obj);
      } catch {
        hit = false;
      }
    }
    if (hit) return runJsonSource(source, obj, raw, ctx, probe);
  }
  return [reject('unknown_format', raw, 'JSON object matches no known registry format')];
}

/** True for the one result "JSON object matches no known registry format". */
function isUnknownFormat(results: readonly NormalizeResult[]): boolean {
  const r = results[0];
  return results.length === 1 && r !== undefined && r.kind === 'rejected' && r.reason === 'unknown_format';
}

/**
 * A collector's read time as ISO 8601: Fluent Bit's `date` (epoch seconds, fraction allowed; or
 * already a date string with `json_date_format iso8601`). undefined when absent or not a date.
 */
function collectorTime(v: unknown): string | undefined {
  if (typeof v === 'number' && Number.isFinite(v) && v > 0 && v < 1e11) return new Date(v * 1000).toISOString();
  if (typeof v === 'string' && !Number.isNaN(Date.parse(v))) return v;
  return undefined;
}

function isDockerJsonFile(p: JsonProbe): boolean {
  return typeof p.log === 'string' && typeof p.stream === 'string' && typeof p.time === 'string';
}

function isFluentd(p: JsonProbe): boolean {
  return (
    typeof p.message === 'string' &&
    p.level === undefined &&
    p.msg === undefined &&
    p.atVersion === undefined &&
    p.events === undefined &&
    p.type === undefined
  );
}

/**
 * Results of the registry line inside a collector record (`outer`, its whole text): the line
 * normalized one level deeper, `event.created` from the record's read time (`date`, see
 * {@link collectorTime}) unless the context has one, rejections carrying the whole record.
 */
function collectorLine(
  line: string,
  date: unknown,
  outer: string,
  ctx: NormalizeContext,
  partials: Partials,
  depth: number,
): NormalizeResult[] {
  const receivedAt = ctx.receivedAt ?? collectorTime(date);
  return withOuterOriginal(
    handleLine(line, receivedAt === undefined ? ctx : { ...ctx, receivedAt }, partials, depth + 1),
    outer,
  );
}

/** Rejections of a wrapped line carry the whole outer line as `original`. */
function withOuterOriginal(results: NormalizeResult[], outer: string): NormalizeResult[] {
  for (let i = 0; i < results.length; i++) {
    const r = results[i];
    if (r !== undefined && r.kind === 'rejected' && r.original !== outer) results[i] = { ...r, original: outer };
  }
  return results;
}

/** Joins container-runtime partial lines; `null` when stateless (partials are taken as complete). */
type Partials = Map<string, { text: string; ctx: NormalizeContext }> | null;

function handleLine(text0: string, ctx: NormalizeContext, partials: Partials, depth: number): NormalizeResult[] {
  const text = stripEol(text0);
  if (isBlank(text)) return [reject('empty', text0)];
  const first = text.charCodeAt(0);
  if (first === 123 /* { */) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      return [reject('not_json', text, `JSON: ${err instanceof Error ? err.message.slice(0, 160) : 'parse error'}`)];
    }
    if (!isPlainObject(parsed)) return [reject('unknown_format', text, 'JSON value is not an object')];
    const probe = probeObject(parsed);
    if (depth < 2 && isDockerJsonFile(probe)) {
      const log = probe.log as string;
      const inner = { ...ctx, receivedAt: ctx.receivedAt ?? (probe.time as string) };
      // Stateless (no partials): the chunk is taken as complete, so no join key is built.
      return withOuterOriginal(
        partials === null
          ? handleLine(log, inner, null, depth + 1)
          : joinPartial(
              `d|${ctx.origin ?? ''}|${String(probe.stream)}`,
              log,
              !log.endsWith('\n'),
              inner,
              partials,
              depth,
            ),
        text,
      );
    }
    if (depth < 2 && isFluentd(probe)) {
      return withOuterOriginal(handleLine(probe.message as string, ctx, partials, depth + 1), text);
    }
    const results = dispatchProbed(parsed, probe, text, ctx);
    if (depth < 2 && typeof probe.log === 'string' && isUnknownFormat(results)) {
      // A collector record that is none of the registry formats but carries the line in `log`
      // (Fluent Bit's tail input and HTTP/Kafka outputs: `{"date": 1755680043.5, "log": "…"}`).
      return collectorLine(probe.log, parsed.date, text, ctx, partials, depth);
    }
    return results;
  }
  // CRI lines start `YYYY-` (checked by char codes first: access lines also start with a digit).
  if (depth < 2 && first >= 48 && first <= 57 && text.charCodeAt(4) === 45 /* - */ && isDigit(text.charCodeAt(3))) {
    const m = CRI_RE.exec(text);
    if (m) {
      const inner = { ...ctx, receivedAt: ctx.receivedAt ?? m[1] ?? '' };
      return withOuterOriginal(
        partials === null
          ? handleLine(m[4] ?? '', inner, null, depth + 1)
          : joinPartial(`c|${ctx.origin ?? ''}|${m[2] ?? ''}`, m[4] ?? '', m[3] === 'P', inner, partials, depth),
        text,
      );
    }
  }
  for (const source of textSources) {
    let hit: boolean;
    try {
      hit = source.matches(text);
    } catch {
      hit = false;
    }
    if (!hit) continue;
    try {
      return source.normalize(text, ctx);
    } catch (err) {
      return [
        reject(
          'schema_mismatch',
          text,
          `${source.id}: ${err instanceof Error ? err.message : String(err)}`.slice(0, 300),
        ),
      ];
    }
  }
  return [reject('unknown_format', text)];
}

function joinPartial(
  key: string,
  chunk: string,
  partial: boolean,
  ctx: NormalizeContext,
  partials: Partials,
  depth: number,
): NormalizeResult[] {
  if (partials === null) return handleLine(chunk, ctx, partials, depth + 1);
  const prev = partials.get(key);
  const text = prev === undefined ? chunk : prev.text + chunk;
  if (partial) {
    if (text.length > MAX_LINE_BYTES) {
      partials.delete(key);
      return [reject('too_large', text.slice(0, 4096), `rejoined line exceeds ${MAX_LINE_BYTES} bytes`)];
    }
    partials.set(key, { text, ctx: prev?.ctx ?? ctx });
    return [];
  }
  partials.delete(key);
  return handleLine(text, prev?.ctx ?? ctx, partials, depth + 1);
}

/** The stateful stream normalizer returned by {@link createNormalizer}. */
export interface StreamNormalizer {
  /** Normalizes one line (any supported format). Partial container-runtime chunks return `[]` until complete. */
  push(line: string | Uint8Array, ctx?: NormalizeContext): NormalizeResult[];
  /**
   * Normalizes one whole HTTP body (see {@link normalizePayload} for `kind` and the accepted shapes)
   * with the SAME cross-event state as {@link StreamNormalizer.push}: the multi-arch pull-once rule
   * and duplicate-delivery memory span every payload and line given to this normalizer. A multi-arch
   * pull notified as two POSTs (index GET, then platform manifest GET by digest) therefore counts one
   * image pull, and a notification re-delivered in a later POST (same `event.id`) becomes `ignored`
   * (`duplicate delivery of event <id>`). NDJSON bodies (`auto`) rejoin partial lines within the body
   * only; nothing is left buffered for `flush`.
   * @returns results in input order; never throws (bad input gives `rejected` results).
   */
  pushPayload(
    body: string | Uint8Array,
    kind: 'notification' | 'harbor' | 'auto',
    ctx?: NormalizeContext,
  ): NormalizeResult[];
  /** Emits whatever partial lines are still buffered (end of input). */
  flush(): NormalizeResult[];
}

/**
 * Creates a stream normalizer: rejoins lines split by container runtimes at 16 KiB (Docker
 * `json-file` chunks without trailing `\n`; CRI `P` partial flag), applies the multi-arch
 * pull-once rule and drops duplicate deliveries across lines (see pull-once.ts).
 * @param opts.multiArchWindowMs window of the pull-once rule, default 10 000 ms.
 * @param opts.dropDuplicates drop events whose `event.id` this normalizer already returned
 *   (default true). Consumers that may be handed the same input again after a failed batch (the
 *   ingest indexer) pass false and rely on idempotent writes (`_id` = `event.id`) instead, so a
 *   redelivered batch is never mistaken for duplicates and lost.
 */
export function createNormalizer(
  opts: { multiArchWindowMs?: number; dropDuplicates?: boolean } = {},
): StreamNormalizer {
  const partials = new Map<string, { text: string; ctx: NormalizeContext }>();
  const rules = new StreamRules(
    opts.multiArchWindowMs ?? DEFAULT_MULTI_ARCH_WINDOW_MS,
    undefined,
    undefined,
    opts.dropDuplicates ?? true,
  );
  const post = (results: NormalizeResult[]): NormalizeResult[] => {
    let out: NormalizeResult[] | null = null;
    for (let i = 0; i < results.length; i++) {
      const r = results[i];
      if (r === undefined) continue;
      const keep = r.kind !== 'event' || rules.apply(r.event);
      if (!keep) {
        out ??= results.slice(0, i);
        out.push({
          kind: 'ignored',
          reason: `duplicate delivery of event ${r.kind === 'event' ? r.event.event.id : ''}`,
        });
      } else if (out !== null) out.push(r);
    }
    return out ?? results;
  };
  return {
    push(line, ctx = {}) {
      try {
        const d = decode(line, MAX_LINE_BYTES);
        if (!d.ok) return [d.result];
        return post(handleLine(d.text, ctx, partials, 0));
      } catch (err) {
        return [
          reject(
            'schema_mismatch',
            typeof line === 'string' ? line : Buffer.from(line).toString('latin1'),
            `normalizer error: ${String(err)}`.slice(0, 300),
          ),
        ];
      }
    },
    pushPayload(body, kind, ctx = {}) {
      return payload(body, kind, ctx, post);
    },
    flush() {
      const out: NormalizeResult[] = [];
      const pending = [...partials.values()];
      partials.clear();
      for (const p of pending) out.push(...post(handleLine(p.text, p.ctx, null, 1)));
      return out;
    },
  };
}

/**
 * Normalizes one line of any supported format (JSON or text), statelessly: no partial-line
 * rejoining and no cross-line rules (every successful manifest GET has `image_pull: true`).
 * Use {@link createNormalizer} for streams.
 * @returns one or more results; never throws (invalid UTF-8, truncated JSON, wrong types, huge or
 *   arbitrary input all give `rejected` results).
 */
export function normalizeLine(line: string | Uint8Array, ctx: NormalizeContext = {}): NormalizeResult[] {
  try {
    const d = decode(line, MAX_LINE_BYTES);
    if (!d.ok) return [d.result];
    return handleLine(d.text, ctx, null, 0);
  } catch (err) {
    return [
      reject(
        'schema_mismatch',
        typeof line === 'string' ? line : Buffer.from(line).toString('latin1'),
        `normalizer error: ${String(err)}`.slice(0, 300),
      ),
    ];
  }
}

/**
 * Normalizes a whole HTTP body: a (pretty-printed) JSON document — a Distribution notification
 * envelope with any number of events, a Harbor webhook/audit payload, or an array of payloads.
 * `kind` restricts the formats tried: `notification` (Distribution envelopes/events only), `harbor`
 * (sources whose id starts with `harbor`), `auto` (all; a body that is not one JSON document is
 * normalized line by line, e.g. NDJSON). One bad event inside an envelope yields a `rejected`
 * result for that event only, next to the good events. The multi-arch and duplicate rules apply
 * within this payload only (stateless): a multi-arch pull notified over two POSTs counts twice here.
 * Services that receive a stream of payloads use {@link StreamNormalizer.pushPayload} of one
 * long-lived {@link createNormalizer}, which shares that state across payloads.
 * @returns results in input order; never throws.
 */
export function normalizePayload(
  body: string | Uint8Array,
  kind: 'notification' | 'harbor' | 'auto',
  ctx: NormalizeContext = {},
): NormalizeResult[] {
  return payload(body, kind, ctx, undefined);
}

/**
 * The body of {@link normalizePayload} and {@link StreamNormalizer.pushPayload}. `post` applies a
 * stream normalizer's cross-event rules; when undefined the rules are fresh for this payload.
 */
function payload(
  body: string | Uint8Array,
  kind: 'notification' | 'harbor' | 'auto',
  ctx: NormalizeContext,
  post: ((results: NormalizeResult[]) => NormalizeResult[]) | undefined,
): NormalizeResult[] {
  try {
    const d = decode(body, MAX_PAYLOAD_BYTES);
    if (!d.ok) return [d.result];
    const text = d.text;
    if (text.trim().length === 0) return [reject('empty', text)];
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      if (kind === 'auto' && text.includes('\n')) {
        if (post === undefined) {
          const n = createNormalizer();
          const out: NormalizeResult[] = [];
          for (const line of text.split('\n')) if (line.trim().length > 0) out.push(...n.push(line, ctx));
          out.push(...n.flush());
          return out;
        }
        // Partial container-runtime lines are rejoined within this body only.
        const partials = new Map<string, { text: string; ctx: NormalizeContext }>();
        const out: NormalizeResult[] = [];
        for (const line of text.split('\n')) {
          if (line.trim().length > 0) out.push(...post(handleLine(line, ctx, partials, 0)));
        }
        const pending = [...partials.values()];
        partials.clear();
        for (const p of pending) out.push(...post(handleLine(p.text, p.ctx, null, 1)));
        return out;
      }
      return [reject('not_json', text, `JSON: ${err instanceof Error ? err.message.slice(0, 160) : 'parse error'}`)];
    }
    const filter =
      kind === 'notification'
        ? (s: JsonSource) => s.id === 'distribution-notification'
        : kind === 'harbor'
          ? (s: JsonSource) => s.id.startsWith('harbor')
          : undefined;
    const items = Array.isArray(parsed) ? parsed : [parsed];
    const results: NormalizeResult[] = [];
    for (const item of items) {
      const raw = items.length === 1 ? text : (JSON.stringify(item) ?? 'null');
      if (!isPlainObject(item)) {
        results.push(reject('schema_mismatch', raw, 'payload element is not a JSON object'));
        continue;
      }
      const out = dispatchObject(item, raw, ctx, filter);
      if (
        kind === 'auto' &&
        isUnknownFormat(out) &&
        (typeof item.log === 'string' || typeof item.message === 'string')
      ) {
        // A collector record in an array body (Fluent Bit's HTTP output, `format json`): its line.
        const line = typeof item.log === 'string' ? item.log : (item.message as string);
        results.push(...collectorLine(line, item.date ?? item.time, raw, ctx, null, 0));
        continue;
      }
      results.push(...out);
    }
    if (post !== undefined) return post(results);
    const rules = new StreamRules(DEFAULT_MULTI_ARCH_WINDOW_MS);
    return results.map((r) =>
      r.kind === 'event' && !rules.apply(r.event)
        ? { kind: 'ignored', reason: `duplicate event ${r.event.event.id} in payload` }
        : r,
    );
  } catch (err) {
    return [
      reject(
        'schema_mismatch',
        typeof body === 'string' ? body : Buffer.from(body).toString('latin1'),
        `normalizer error: ${String(err)}`.slice(0, 300),
      ),
    ];
  }
}

export { jsonSources, textSources };
export type { NormalizeContext, NormalizeResult } from './types.ts';
