import type { RegistryEvent } from '../model/registry-event.ts';

/**
 * Why an input was rejected. Rejections go to `regwatch.dlq` (full mode) or `--rejects`
 * (CLI) with the original bytes; they never throw out of the normalizer.
 */
export const REJECT_REASONS = {
  empty: 'blank input',
  invalid_utf8: 'bytes are not valid UTF-8',
  too_large: 'input exceeds the maximum accepted size',
  not_json: 'looks like JSON but does not parse',
  unknown_format: 'no known registry format matches the line',
  schema_mismatch: 'recognised format but fields have the wrong shape or type',
  invalid_timestamp: 'timestamp missing or unparseable',
  unsupported_event: 'well-formed event of a kind regwatch does not model',
} as const;
export type RejectReason = keyof typeof REJECT_REASONS;

export type NormalizeResult =
  | { readonly kind: 'event'; readonly event: RegistryEvent }
  | {
      readonly kind: 'rejected';
      readonly reason: RejectReason;
      /** Human detail: which field, what was expected. Never contains secrets. */
      readonly detail: string;
      /** The original input (the line, or the event object re-serialized from a batch). */
      readonly original: string;
    }
  /** Valid lines that are not registry operations (start-up banners, config warnings, the
   * `authorized request` half of a request whose completion line is the event, …). */
  | { readonly kind: 'ignored'; readonly reason: string };

/** Facts about where an input came from, supplied by the caller (receiver, consumer, CLI). */
export interface NormalizeContext {
  /** HTTP Content-Type the payload arrived with (notifications: `…events.v1+json` / `v2+json`). */
  contentType?: string;
  /** When the collector read it, ISO 8601 (becomes `event.created`). */
  receivedAt?: string;
  /** File path or topic the input came from (becomes `log.file.path`). */
  origin?: string;
  /** Byte offset or Kafka offset of the line (becomes `log.offset`; in dedupe ids unless `lineRef`). */
  offset?: number;
  /**
   * Where the collector had the line, stable when the same line is delivered again: e.g.
   * `<sha256 of the POST body, 16 hex>:<line index>` for lines POSTed to /v1/logs, so a collector's
   * retry of the same body gives the same ids. Used instead of `offset` in the dedupe ids of
   * sources whose id is a hash of the raw line (access lines, logrus lines without a request id,
   * Nexus) — FORMATS.md "Dedupe and correlation keys": hash of the raw line + collector offset.
   */
  lineRef?: string;
  /** Harbor instance host, to scope Harbor audit ids. */
  harborHost?: string;
  /** Keep the raw input in `event.original`. Default false. */
  keepOriginal?: boolean;
}
