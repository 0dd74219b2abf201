import type { Client } from '@elastic/elasticsearch';
import { toEsAppError } from '../../../../shared/src/es/client.ts';
import type { EngineSnapshot } from '../engine.ts';
import type { StateStore } from './store.ts';

/** Index holding one state document per detector instance (`_id` = instance). */
export const DETECTOR_STATE_INDEX = 'regwatch-detector-state';

/**
 * Full-mode state in Elasticsearch: one document per detector instance with the snapshot as an
 * unindexed string (`enabled: false`); read back with a real-time GET by id. Chosen over a compacted
 * Kafka topic because the detector already depends on Elasticsearch (backfill, scheduled jobs), a
 * snapshot of many identities is several MB (beyond Kafka's default 1 MB message limit), and
 * reading one document by id at start-up is simpler than reading a compacted topic to its end.
 * @throws AppError ES_UNAVAILABLE (retriable) from load/save when Elasticsearch cannot be reached.
 */
export function esStore(client: Client, instance = 'detector', index = DETECTOR_STATE_INDEX): StateStore {
  let ready = false;
  const ensure = async (): Promise<void> => {
    if (ready) return;
    try {
      const exists = await client.indices.exists({ index });
      if (!exists) {
        await client.indices
          .create({
            index,
            mappings: {
              dynamic: false,
              properties: { saved_at: { type: 'date' }, body: { type: 'object', enabled: false } },
            },
          })
          .catch((err: unknown) => {
            if (!String((err as Error).message).includes('resource_already_exists')) throw err;
          });
      }
      ready = true;
    } catch (err) {
      throw toEsAppError(err, `create ${index}`);
    }
  };
  return {
    async load() {
      await ensure();
      try {
        const r = await client.get<{ body: string }>({ index, id: instance }, { ignore: [404] });
        return r.found && r._source ? (JSON.parse(r._source.body) as EngineSnapshot) : undefined;
      } catch (err) {
        throw toEsAppError(err, `load detector state ${instance}`);
      }
    },
    async save(s) {
      await ensure();
      try {
        await client.index({
          index,
          id: instance,
          // No refresh: the only reader is `load`, a GET by id, which is real-time in Elasticsearch.
          document: { saved_at: new Date().toISOString(), body: JSON.stringify(s) },
        });
      } catch (err) {
        throw toEsAppError(err, `save detector state ${instance}`);
      }
    },
    async close() {},
  };
}
