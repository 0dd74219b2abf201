import { createNormalizer } from '../../../shared/src/normalize/index.ts';
import type { NormalizeResult } from '../../../shared/src/normalize/types.ts';
import type { IngestNormalizer } from './indexer.ts';

/**
 * Creates the indexer's normalizer: the shared normalization code (shared/src/normalize).
 * Envelopes and webhooks go through one long-lived stream normalizer (`pushPayload`), so the
 * multi-arch pull-once rule spans requests (the index GET and the platform-manifest GET of one
 * pull arrive in separate notification POSTs). It does not drop repeated event ids: a batch that
 * is delivered again after a failure must be written again (Elasticsearch `_id` = `event.id`
 * makes that idempotent). The log lines of one batch go through a fresh `createNormalizer()`
 * (joins lines split at 16 KiB, pairs a failed-login line with its 401), flushed at the end of
 * the batch so nothing is held across commits. A result produced while a line is pushed is
 * attributed to that line (the DLQ's source offset for held-back lines is the line that released
 * them). A log message that is a JSON array (an audit-log API page) is normalized as one document.
 */
export function createIngestNormalizer(): IngestNormalizer {
  const payloads = createNormalizer({ dropDuplicates: false });
  return {
    payload(kind, bytes, ctx) {
      return payloads.pushPayload(bytes, kind, ctx);
    },
    logLines(lines) {
      const n = createNormalizer();
      const out: { index: number; result: NormalizeResult }[] = [];
      lines.forEach(({ bytes, ctx }, index) => {
        // A JSON array is one whole document (a Harbor audit-log API page posted to /v1/logs, kept
        // whole by the receiver), normalized as `regwatch normalize` does a file that starts with `[`.
        const results = isJsonArray(bytes) ? n.pushPayload(bytes, 'auto', ctx) : n.push(bytes, ctx);
        for (const result of results) out.push({ index, result });
      });
      for (const result of n.flush()) out.push({ index: lines.length - 1, result });
      return out;
    },
  };
}

/** True when the first non-whitespace byte of `bytes` is `[` (JSON whitespace: space, tab, CR, LF). */
function isJsonArray(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i];
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) continue;
    return c === 0x5b;
  }
  return false;
}
