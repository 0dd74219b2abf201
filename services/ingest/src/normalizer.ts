import { createNormalizer, normalizePayload } from '../../../shared/src/normalize/index.ts';
import type { NormalizeResult } from '../../../shared/src/normalize/types.ts';
import type { IngestNormalizer } from './indexer.ts';

/**
 * The indexer's normalizer: the shared normalization code (shared/src/normalize). Envelopes and
 * webhooks go through `normalizePayload`; the log lines of one batch go through one stateful
 * `createNormalizer()` (joins lines split at 16 KiB, pairs 401 challenges with their retries),
 * flushed at the end of the batch so nothing is held across commits. A result produced while a
 * line is pushed is attributed to that line (the DLQ's source offset for held-back lines is the
 * line that released them).
 */
export const sharedNormalizer: IngestNormalizer = {
  payload(kind, bytes, ctx) {
    return normalizePayload(bytes, kind, ctx);
  },
  logLines(lines) {
    const n = createNormalizer();
    const out: { index: number; result: NormalizeResult }[] = [];
    lines.forEach(({ bytes, ctx }, index) => {
      for (const result of n.push(bytes, ctx)) out.push({ index, result });
    });
    for (const result of n.flush()) out.push({ index: lines.length - 1, result });
    return out;
  },
};
