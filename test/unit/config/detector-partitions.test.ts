/**
 * The detector creates regwatch.events / regwatch.findings with KAFKA_TOPIC_PARTITIONS (full mode,
 * `partitions` in DetectorDeps) instead of a hard-coded 1; embedded mode and tests keep 1.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMemoryBus } from '../../../shared/src/bus/memory.ts';
import type { MessageBus } from '../../../shared/src/bus/types.ts';
import { silentLogger } from '../../../shared/src/logger.ts';
import { parseDetectionConfig } from '../../../services/detector/src/config.ts';
import { createDetector } from '../../../services/detector/src/service.ts';
import { sqliteStore } from '../../../services/detector/src/state/sqlite-store.ts';

/** A memory bus that records every ensureTopics call. */
function recordingBus(): { bus: MessageBus; calls: { names: string[]; partitions: number }[] } {
  const inner = createMemoryBus();
  const calls: { names: string[]; partitions: number }[] = [];
  return {
    calls,
    bus: {
      ...inner,
      ensureTopics: async (names, partitions) => {
        calls.push({ names: [...names], partitions });
        await inner.ensureTopics(names, partitions);
      },
    },
  };
}

for (const [label, partitions, expected] of [
  ['partitions: 6 (KAFKA_TOPIC_PARTITIONS)', 6, 6],
  ['no partitions option (embedded, tests)', undefined, 1],
] as const) {
  test(`detector start creates its topics with ${label} → ${expected}`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'regwatch-det-parts-'));
    const { bus, calls } = recordingBus();
    try {
      const det = createDetector({
        bus,
        store: sqliteStore(join(dir, 'state.db')),
        clock: Date.now,
        config: parseDetectionConfig({}),
        logger: silentLogger(),
        topics: { events: 'p.events', findings: 'p.findings' },
        ...(partitions !== undefined ? { partitions } : {}),
      });
      await det.start();
      await det.stop();
      assert.deepEqual(calls, [{ names: ['p.events', 'p.findings'], partitions: expected }]);
    } finally {
      await bus.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
