import type { RegistryEvent } from './registry-event.ts';

/**
 * The C12 key: how an app-log line and an access line of the same registry request are recognised
 * as copies of each other when the access line carries no `http.request.id` (shared CASES C12,
 * design FORMATS.md "Dedupe and correlation keys"). A Distribution registry prints each request as
 * its app-log `response completed` JSON line (`oci_registry.log`) and as an Apache-combined (or
 * JSON) access line (`oci_registry.access`). Two lines are copies of one request when
 * - they come from different sources (`event.dataset` + `oci_registry.source_format`): two lines
 *   of one source are two requests,
 * - their key (method, `url.path`, status, bytes written) is equal — see {@link requestLineKey},
 * - their clients (`source.ip`) agree, a line without a client matching any — see
 *   {@link clientsCompatible}, and
 * - their event times are at most 1 s + the longer request duration apart (an access line carries
 *   the request's start to the second, the app log its end) — see {@link withinCopyTime}.
 *
 * Pure functions, no I/O. Used by the indexer (services/ingest/src/request-copies.ts) to mark
 * stored copies and by the detector's request join (services/detector/src/pipeline/request-join.ts)
 * to count each request once.
 */

/** Datasets whose lines can be C12 copies of each other. */
export const LINE_COPY_DATASETS: ReadonlySet<string> = new Set(['oci_registry.log', 'oci_registry.access']);

/** Slack (ms) of the C12 time match on top of the request duration: access lines are to the second. */
export const COPY_TIME_SLACK_MS = 1_000;

/** The parts of a request line the C12 key is made of (ECS names in the comments). */
export interface RequestLineParts {
  /** `event.dataset`. */
  dataset: string;
  /** `http.request.method`. */
  method: string | undefined;
  /** `url.path`. */
  path: string | undefined;
  /** `http.response.status_code`. */
  status: number | undefined;
  /** `http.response.body.bytes` (missing = 0). */
  bytes: number | undefined;
}

/**
 * The C12 key without time and client (which match with tolerance): `"<METHOD> <path> <status>
 * <bytes>"`, the method upper-cased and missing bytes as 0. Returns undefined for datasets other
 * than the app log and the access log, and for lines without a method, path or status. Never throws.
 */
export function lineKey(p: RequestLineParts): string | undefined {
  if (!LINE_COPY_DATASETS.has(p.dataset)) return undefined;
  if (!p.method || p.status === undefined || !p.path) return undefined;
  return `${p.method.toUpperCase()} ${p.path} ${p.status} ${p.bytes ?? 0}`;
}

/** {@link lineKey} of a normalized event. */
export function requestLineKey(e: RegistryEvent): string | undefined {
  return lineKey({
    dataset: e.event.dataset,
    method: e.http?.request?.method,
    path: e.url?.path,
    status: e.http?.response?.status_code,
    bytes: e.http?.response?.body?.bytes,
  });
}

/** The source of a copy: `<event.dataset>/<oci_registry.source_format>`. */
export function copySource(dataset: string, sourceFormat: string | undefined): string {
  return `${dataset}/${sourceFormat ?? ''}`;
}

/** {@link copySource} of a normalized event. */
export function copySourceOf(e: RegistryEvent): string {
  return copySource(e.event.dataset, e.oci_registry.source_format);
}

/** A request's duration in ms from `event.duration` (ns); 0 when missing, not a number or ≤ 0. */
export function durationMs(durationNs: number | undefined): number {
  return typeof durationNs === 'number' && durationNs > 0 ? durationNs / 1e6 : 0;
}

/**
 * True when two lines' event times (epoch ms) are close enough to be one request: at most
 * {@link COPY_TIME_SLACK_MS} + the longer of the two durations (ms) apart. False when either time
 * is not finite.
 */
export function withinCopyTime(msA: number, msB: number, durMsA: number, durMsB: number): boolean {
  return Math.abs(msA - msB) <= COPY_TIME_SLACK_MS + Math.max(durMsA, durMsB);
}

/** True when two clients (`source.ip`) can be the same request's: equal, or either one unknown. */
export function clientsCompatible(a: string | undefined, b: string | undefined): boolean {
  return a === undefined || b === undefined || a === b;
}
