import type { NormalizeContext, NormalizeResult } from '../types.ts';

/**
 * An input format whose lines/payloads are JSON objects (Distribution envelopes and logrus JSON,
 * Harbor webhooks and audit records, Quay, GitLab …). `matches` is a cheap shape test on the
 * parsed object; the format detector tries sources in registry order and uses the first match.
 */
export interface JsonSource {
  readonly id: string;
  matches(obj: Record<string, unknown>): boolean;
  /** `raw` is the original text of the object (for `event.original` and rejections). */
  normalize(obj: Record<string, unknown>, raw: string, ctx: NormalizeContext): NormalizeResult[];
}

/** An input format whose lines are text (logrus text, Apache combined, syslog, pipe-separated …). */
export interface TextSource {
  readonly id: string;
  matches(line: string): boolean;
  normalize(line: string, ctx: NormalizeContext): NormalizeResult[];
}
