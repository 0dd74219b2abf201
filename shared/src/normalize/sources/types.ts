import type { NormalizeContext, NormalizeResult } from '../types.ts';
import type { JsonProbe } from './probe.ts';

/**
 * An input format whose lines/payloads are JSON objects (Distribution envelopes and logrus JSON,
 * Harbor webhooks and audit records, Quay, GitLab …). `matches` is a cheap shape test on the
 * parsed object; the format detector tries sources in registry order and uses the first match.
 */
export interface JsonSource {
  readonly id: string;
  matches(obj: Record<string, unknown>): boolean;
  /**
   * Optional: exactly `matches(obj)`, decided from the object's {@link JsonProbe} (for sources whose
   * test reads only probed keys). The per-line detector prefers it: no by-name reads of the object.
   */
  matchesProbe?(probe: JsonProbe): boolean;
  /**
   * `raw` is the original text of the object (for `event.original` and rejections). `probe`, when
   * given, is the object's {@link JsonProbe} (the per-line detector passes it; payloads do not).
   */
  normalize(obj: Record<string, unknown>, raw: string, ctx: NormalizeContext, probe?: JsonProbe): NormalizeResult[];
}

/** An input format whose lines are text (logrus text, Apache combined, syslog, pipe-separated …). */
export interface TextSource {
  readonly id: string;
  matches(line: string): boolean;
  normalize(line: string, ctx: NormalizeContext): NormalizeResult[];
}
