/**
 * Storage samples in the embedded mode. What the indexer (to Elasticsearch) and the detector's
 * scheduled `storage.exhaustion` job (from Elasticsearch) do in the full mode, over the data
 * directory instead:
 * - the stage consumes `regwatch.storage` (receiver `POST /v1/storage`, or a collector) and appends
 *   every valid sample to the local store the collector writes (`<data-dir>/storage/samples.ndjson`,
 *   services/detector/src/storage/sink.ts), timestamps as ISO 8601; invalid messages go to
 *   `regwatch.dlq` (reason `invalid_storage_sample`), nothing is dropped;
 * - `runLocalStorageForecast` forecasts every scope of that store (forecastStorage) and returns the
 *   `storage.exhaustion` findings, or `storage.data_stale` for a scope whose samples stopped
 *   (judgeStorageScope), as runStorageJob does from Elasticsearch.
 * At-least-once: a redelivered batch appends its samples again; the forecast tolerates duplicates.
 */
import type { BatchHandler, MessageBus, Publisher, Subscription } from '../../../shared/src/bus/types.ts';
import type { Logger } from '../../../shared/src/logger.ts';
import type { Finding } from '../../../shared/src/model/finding.ts';
import { storeForecast, type ForecastWriter } from '../../detector/src/forecast/es-writer.ts';
import { judgeStorageScope, recordStorageStatuses, warnStale } from '../../detector/src/forecast/stale-findings.ts';
import { forecastStorage } from '../../detector/src/forecast/model.ts';
import { localStoreSink, readLocalSamples } from '../../detector/src/storage/sink.ts';
import type { StorageSampleRecord } from '../../detector/src/storage/types.ts';
import { toDlqMessage, type DlqEntry } from '../../ingest/src/dlq.ts';
import { parseStorageSamples } from '../../ingest/src/documents.ts';

export interface StorageStage {
  readonly handleBatch: BatchHandler;
  /** Joins consumer group `storage` on `regwatch.storage` (from the beginning). */
  start(): Promise<void>;
  stop(): Promise<void>;
  readonly totals: { stored: number; dlq: number };
}

/**
 * Creates the stage.
 * @param deps.dataDir the embedded data directory (the store is `<dataDir>/storage/samples.ndjson`).
 */
export function createStorageStage(deps: {
  readonly bus: MessageBus;
  readonly publisher: Publisher;
  readonly topics: { readonly storage: string; readonly dlq: string };
  readonly dataDir: string;
  readonly logger: Logger;
  readonly groupId?: string;
  readonly now?: () => Date;
}): StorageStage {
  const log = deps.logger.child({ component: 'storage' });
  const sink = localStoreSink(deps.dataDir);
  const now = deps.now ?? (() => new Date());
  const totals = { stored: 0, dlq: 0 };
  let sub: Subscription | null = null;

  const handleBatch: BatchHandler = async (batch) => {
    const samples: StorageSampleRecord[] = [];
    const rejects: DlqEntry[] = [];
    for (const msg of batch) {
      let value: unknown;
      let detail: string | null = null;
      try {
        value = JSON.parse(msg.value.toString('utf8'));
      } catch (err) {
        detail = `not JSON: ${(err as Error).message}`;
      }
      if (detail === null) {
        const r = parseStorageSamples(value);
        if (r.ok) {
          const raw = (Array.isArray(value) ? value : [value]) as Record<string, unknown>[];
          r.samples.forEach((s, i) =>
            // Extra fields of the collector (registry_bytes, estimate) are kept; the timestamp is ISO.
            samples.push({ ...raw[i], ...s, timestamp: new Date(s.timestamp).toISOString() } as StorageSampleRecord),
          );
          continue;
        }
        detail = r.problems.join('; ');
      }
      rejects.push({ reason: 'invalid_storage_sample', detail, payload: 'raw', value: msg.value, source: msg });
    }
    if (rejects.length > 0) {
      const at = now();
      await deps.publisher.publish(
        deps.topics.dlq,
        rejects.map((r) => toDlqMessage(r, at)),
      );
      log.warn({ count: rejects.length }, 'invalid storage samples dead-lettered');
    }
    await sink.write(samples);
    totals.stored += samples.length;
    totals.dlq += rejects.length;
  };

  return {
    handleBatch,
    totals,
    async start() {
      sub = await deps.bus.subscribe(
        { groupId: deps.groupId ?? 'storage', topics: [deps.topics.storage], fromBeginning: true },
        handleBatch,
      );
    },
    async stop() {
      await sub?.close();
      sub = null;
    },
  };
}

/**
 * The `storage.exhaustion` job over the local store: forecasts each scope with at least 3 samples
 * in the last `historyDays` (default 90) and returns its findings. Scopes too short or degenerate
 * for a forecast (fewer than 24 hourly points, under 2 days, no positive capacity) are skipped
 * until later runs have more samples. Staleness as runStorageJob: a scope whose newest sample is
 * older than `staleAfterSeconds` (default max(1 day, 2 × the sampling interval)) gets only a
 * `storage.data_stale` finding and a warning on `o.logger`, no capacity finding; fresh data again
 * resolves it (judgeStorageScope). `previous` carries each scope's statuses between runs
 * (firing → one resolved notice). With `o.forecasts` (Elasticsearch configured), every forecast
 * from fresh data is also stored for the Capacity dashboard; a failed store is a warning on
 * `o.logger`.
 * @param o.now epoch ms.
 * @throws when the store exists but cannot be read.
 */
export async function runLocalStorageForecast(o: {
  readonly dataDir: string;
  readonly now: number;
  readonly previous: Map<string, 'firing' | 'resolved'>;
  readonly historyDays?: number;
  readonly forecasts?: ForecastWriter;
  readonly logger?: Logger;
  readonly staleAfterSeconds?: number | undefined;
}): Promise<Finding[]> {
  const from = o.now - (o.historyDays ?? 90) * 86_400_000;
  const { byScope } = await readLocalSamples(o.dataDir);
  const out: Finding[] = [];
  for (const [scope, all] of byScope) {
    const samples = all.filter((s) => {
      const t = Date.parse(s.timestamp);
      return t >= from && t <= o.now;
    });
    if (samples.length < 3) continue;
    let result;
    try {
      result = forecastStorage(samples);
    } catch {
      continue;
    }
    const d = judgeStorageScope(scope, result, o.previous, new Date(o.now), { staleAfterSeconds: o.staleAfterSeconds });
    if (d.staleness.stale) warnStale(o.logger, scope, d.staleness);
    else if (o.forecasts) await storeForecast(o.forecasts, scope, result, new Date(o.now), o.logger);
    recordStorageStatuses(o.previous, scope, d.findings);
    out.push(...d.findings);
  }
  return out;
}
