/**
 * Where the storage jobs' `previous` statuses (StorageStatuses: the last status emitted per scope
 * for `storage.exhaustion` and `storage.data_stale`) come from after a restart. Without them a
 * restarted detector forgets that a scope's finding is firing: if the condition cleared while it
 * was down, no `resolved` notice is ever sent and the alert stays open.
 * - Service mode: the findings index. Storage findings have one stable id per rule and scope
 *   (stale-findings.ts, findings.ts), and the indexer writes findings with `index` (overwrite), so
 *   the newest document per id is the last emitted status.
 * - Embedded mode: a small JSON file in the data directory, rewritten after each run.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Client } from '@elastic/elasticsearch';
import { AppError } from '../../../../shared/src/errors.ts';
import { toEsAppError } from '../../../../shared/src/es/client.ts';
import { STORAGE_RULE } from './findings.ts';
import { STORAGE_STALE_RULE, staleStatusKey, type StorageStatuses } from './stale-findings.ts';

interface StoredFinding {
  rule: string;
  status: 'firing' | 'resolved';
  entity: { type: string; id: string };
}

/**
 * Reads the last emitted storage statuses from the findings index (`regwatch-findings*` by
 * default): every `storage.exhaustion` / `storage.data_stale` finding of entity type `storage`,
 * oldest `detected_at` first, so that after a rollover the newest copy of an id wins.
 * A missing index gives an empty map (nothing was emitted yet).
 * @param o.index findings index, alias or pattern. @param o.size most documents read (default
 *   10,000: two per storage scope per rollover index).
 * @returns key (scope for storage.exhaustion, staleStatusKey(scope) for storage.data_stale) →
 *   status. @throws AppError ES_UNAVAILABLE (retriable) / ES_AUTH_FAILED from Elasticsearch.
 */
export async function storageStatusesFromFindings(
  client: Client,
  o: { index: string; size?: number },
): Promise<StorageStatuses> {
  let res;
  try {
    res = await client.search<StoredFinding>({
      index: o.index,
      ignore_unavailable: true,
      allow_no_indices: true,
      size: o.size ?? 10_000,
      query: {
        bool: {
          filter: [{ term: { 'entity.type': 'storage' } }, { terms: { rule: [STORAGE_RULE, STORAGE_STALE_RULE] } }],
        },
      },
      sort: [{ detected_at: { order: 'asc', unmapped_type: 'date' } }],
      _source: ['rule', 'status', 'entity'],
    });
  } catch (err) {
    throw toEsAppError(err, `reading storage finding statuses from ${o.index}`);
  }
  const out: StorageStatuses = new Map();
  for (const hit of res.hits.hits) {
    const f = hit._source;
    if (!f || (f.status !== 'firing' && f.status !== 'resolved')) continue;
    out.set(f.rule === STORAGE_STALE_RULE ? staleStatusKey(f.entity.id) : f.entity.id, f.status);
  }
  return out;
}

/**
 * Reads statuses written by {@link writeStatusesFile}; a missing file gives an empty map.
 * File shape: `{"version":1,"statuses":{"<key>":"firing"|"resolved",…}}` (UTF-8 JSON).
 * @throws AppError INPUT_UNREADABLE (not retriable) when the file is not that shape.
 */
export async function readStatusesFile(path: string): Promise<StorageStatuses> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw err;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const statuses = (parsed as { version?: unknown; statuses?: unknown } | undefined)?.statuses;
  if ((parsed as { version?: unknown } | undefined)?.version !== 1 || typeof statuses !== 'object' || !statuses)
    throw new AppError('INPUT_UNREADABLE', `${path} is not a storage status file (version 1)`, { retriable: false });
  const out: StorageStatuses = new Map();
  for (const [k, v] of Object.entries(statuses)) if (v === 'firing' || v === 'resolved') out.set(k, v);
  return out;
}

/** Writes `statuses` to `path` atomically (a temporary file renamed over it; the directory is created). */
export async function writeStatusesFile(path: string, statuses: StorageStatuses): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify({ version: 1, statuses: Object.fromEntries(statuses) })}\n`);
  await rename(tmp, path);
}
