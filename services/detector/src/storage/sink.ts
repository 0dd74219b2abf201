/**
 * Storage sample sinks: the bus (full mode, topic `regwatch.storage`, key = scope) and a local
 * NDJSON store under a data dir (embedded mode: `<dataDir>/storage/samples.ndjson`, one sample
 * per line, appended). `readLocalSamples` reads the store back, grouped by scope.
 */
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError } from '../../../../shared/src/errors.ts';
import type { Publisher } from '../../../../shared/src/bus/types.ts';
import { TOPICS } from '../../../../shared/src/topics.ts';
import type { StorageSampleRecord, StorageSink } from './types.ts';

/**
 * Publishes samples (JSON, key = scope) through the bus port; resolves after the ack.
 * @param topic default `regwatch.storage`; a prefixed name (`REGWATCH_TOPIC_PREFIX`) isolates tenants/tests.
 * @throws (from `write`) AppError KAFKA_UNAVAILABLE (retriable) when the bus did not acknowledge.
 */
export function busSink(publisher: Publisher, topic: string = TOPICS.storage): StorageSink {
  return {
    write: (samples) =>
      publisher.publish(
        topic,
        samples.map((s) => ({ key: s.scope, value: JSON.stringify(s) })),
      ),
    close: () => publisher.close(),
  };
}

/** Path of the embedded store file. */
export const localStorePath = (dataDir: string): string => join(dataDir, 'storage', 'samples.ndjson');

/**
 * Appends samples to the local NDJSON store (created on first write).
 * @throws AppError OUTPUT_UNWRITABLE (retriable) from `write` when the store cannot be created or appended.
 */
export function localStoreSink(dataDir: string): StorageSink {
  return {
    async write(samples) {
      if (samples.length === 0) return;
      try {
        await mkdir(join(dataDir, 'storage'), { recursive: true });
        await appendFile(localStorePath(dataDir), samples.map((s) => JSON.stringify(s) + '\n').join(''));
      } catch (err) {
        throw new AppError(
          'OUTPUT_UNWRITABLE',
          `cannot append to ${localStorePath(dataDir)}: ${(err as Error).message}`,
          {
            retriable: true,
            cause: err,
          },
        );
      }
    },
    close: async () => {},
  };
}

/**
 * Reads the local store, grouped by scope, each group in time order. Lines that are not valid
 * samples are skipped and counted in `skipped` (the file is never rewritten).
 * @returns an empty map when the store does not exist.
 */
export async function readLocalSamples(
  dataDir: string,
): Promise<{ byScope: Map<string, StorageSampleRecord[]>; skipped: number }> {
  let text: string;
  try {
    text = await readFile(localStorePath(dataDir), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { byScope: new Map(), skipped: 0 };
    throw err;
  }
  const byScope = new Map<string, StorageSampleRecord[]>();
  let skipped = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const s = JSON.parse(line) as StorageSampleRecord;
      if (
        typeof s.scope !== 'string' ||
        typeof s.used_bytes !== 'number' ||
        !Number.isFinite(Date.parse(s.timestamp))
      ) {
        skipped++;
        continue;
      }
      const list = byScope.get(s.scope) ?? [];
      list.push(s);
      byScope.set(s.scope, list);
    } catch {
      skipped++;
    }
  }
  for (const list of byScope.values()) list.sort((a, b) => Date.parse(a.timestamp) - Date.parse(b.timestamp));
  return { byScope, skipped };
}
