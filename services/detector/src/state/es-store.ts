import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { constants, gunzip, gzip } from 'node:zlib';
import type { Client } from '@elastic/elasticsearch';
import { AppError } from '../../../../shared/src/errors.ts';
import { toEsAppError } from '../../../../shared/src/es/client.ts';
import type { EngineSnapshot } from '../engine.ts';
import type { StateStore } from './store.ts';

/** Index holding the detector state documents (one manifest per detector instance plus its chunks). */
export const DETECTOR_STATE_INDEX = 'regwatch-detector-state';

/**
 * Characters of base64 per chunk document (8 MiB ≈ 6 MiB of gzip). Far below Elasticsearch's
 * default `http.max_content_length` (100 MB), which a single-document snapshot of ~60k identities
 * used to exceed, so every save failed and the detector could no longer checkpoint.
 */
export const STATE_CHUNK_CHARS = 8 * 1024 * 1024;

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

/** The manifest document (`_id` = instance) of the current snapshot. */
interface Manifest {
  saved_at: string;
  /** Absent in the single-document layout of earlier versions, which kept the JSON in `body`. */
  encoding?: 'gzip+base64';
  /** Which of the two chunk slots (0 or 1) holds the current snapshot. */
  slot?: number;
  chunks?: number;
  /** Uncompressed JSON size, bytes. */
  json_bytes?: number;
  /** Compressed size, bytes. */
  gzip_bytes?: number;
  /** SHA-256 (hex) of the compressed bytes: checked on load. */
  sha256?: string;
  /** The earlier layout: the snapshot JSON itself. */
  body?: string;
}

interface ChunkDoc {
  data: string;
}

const chunkId = (instance: string, slot: number, seq: number): string => `${instance}:slot${slot}:${seq}`;

/**
 * Full-mode state in Elasticsearch. A snapshot is stored as gzip, base64 in chunk documents of at
 * most {@link STATE_CHUNK_CHARS} characters, plus one manifest document per instance (`_id` =
 * instance) naming the chunks; everything is read back by real-time GETs by id.
 *
 * Crash safety (two slots): a save writes its chunks into the slot the manifest does NOT point
 * at, deletes leftover higher-numbered chunks of that slot (a crash mid-save writes chunks 0..k in
 * order, so leftovers are contiguous), and only then replaces the manifest — one document write,
 * so a crash at any step leaves the previous snapshot complete and current. The manifest's SHA-256
 * of the compressed bytes is verified on load. Compression runs on libuv's thread pool, not on the
 * event loop. The earlier single-document layout (`body` = the JSON) is still read.
 *
 * Chosen over a compacted Kafka topic because the detector already depends on Elasticsearch
 * (backfill, scheduled jobs) and a snapshot is far beyond Kafka's default 1 MB message limit.
 * `opts.chunkChars` (tests) overrides {@link STATE_CHUNK_CHARS}.
 * @throws AppError ES_UNAVAILABLE (retriable) from load/save when Elasticsearch cannot be reached;
 *   INTERNAL (not retriable) from load when a stored snapshot is incomplete or fails its checksum.
 */
export function esStore(
  client: Client,
  instance = 'detector',
  index = DETECTOR_STATE_INDEX,
  opts: { chunkChars?: number } = {},
): StateStore {
  const chunkChars = Math.max(4, opts.chunkChars ?? STATE_CHUNK_CHARS);
  let ready = false;
  /** Slot of the current snapshot as last loaded or saved (undefined: read the manifest). */
  let currentSlot: number | undefined;
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
  const readManifest = async (): Promise<Manifest | undefined> => {
    const r = await client.get<Manifest>({ index, id: instance }, { ignore: [404] });
    return r.found && r._source ? r._source : undefined;
  };
  return {
    async load() {
      await ensure();
      let manifest: Manifest | undefined;
      let parts: string[] = [];
      try {
        manifest = await readManifest();
        if (manifest === undefined) return undefined;
        if (typeof manifest.body === 'string') {
          currentSlot = undefined;
          return JSON.parse(manifest.body) as EngineSnapshot;
        }
        const slot = manifest.slot ?? 0;
        const n = manifest.chunks ?? 0;
        const ids = Array.from({ length: n }, (_, i) => chunkId(instance, slot, i));
        if (n > 0) {
          const r = await client.mget<ChunkDoc>({ index, ids });
          parts = r.docs.map((d, i) => {
            const data = 'found' in d && d.found ? d._source?.data : undefined;
            if (typeof data !== 'string') {
              throw new AppError('INTERNAL', `detector state ${instance}: chunk ${ids[i] ?? i} of ${n} is missing`);
            }
            return data;
          });
        }
        currentSlot = slot;
      } catch (err) {
        if (err instanceof AppError) throw err;
        throw toEsAppError(err, `load detector state ${instance}`);
      }
      const compressed = Buffer.concat(parts.map((p) => Buffer.from(p, 'base64')));
      const sum = createHash('sha256').update(compressed).digest('hex');
      if (sum !== manifest.sha256) {
        throw new AppError(
          'INTERNAL',
          `detector state ${instance}: checksum mismatch (${compressed.length} bytes, sha256 ${sum.slice(0, 12)}…, manifest ${String(manifest.sha256).slice(0, 12)}…)`,
        );
      }
      const json = await gunzipAsync(compressed);
      return JSON.parse(json.toString('utf8')) as EngineSnapshot;
    },
    async save(s) {
      await ensure();
      const json = Buffer.from(JSON.stringify(s), 'utf8');
      // Level 1: JSON of counters and ids shrinks ~5–10× already; higher levels cost CPU every checkpoint.
      const compressed = await gzipAsync(json, { level: constants.Z_BEST_SPEED });
      const b64 = compressed.toString('base64');
      const n = Math.ceil(b64.length / chunkChars);
      try {
        if (currentSlot === undefined) {
          const m = await readManifest();
          currentSlot = m !== undefined && typeof m.body !== 'string' ? (m.slot ?? 0) : 1;
        }
        const slot = 1 - currentSlot;
        for (let i = 0; i < n; i++) {
          await client.index({
            index,
            id: chunkId(instance, slot, i),
            document: { data: b64.slice(i * chunkChars, (i + 1) * chunkChars) },
          });
        }
        // Leftovers of an earlier, larger snapshot in this slot (or of a save that crashed mid-way).
        for (let i = n; ; i++) {
          const r = await client.delete({ index, id: chunkId(instance, slot, i) }, { ignore: [404] });
          if (r.result !== 'deleted') break;
        }
        const manifest: Manifest = {
          saved_at: new Date().toISOString(),
          encoding: 'gzip+base64',
          slot,
          chunks: n,
          json_bytes: json.length,
          gzip_bytes: compressed.length,
          sha256: createHash('sha256').update(compressed).digest('hex'),
        };
        // No refresh: the only reader is `load`, GETs by id, which are real-time in Elasticsearch.
        await client.index({ index, id: instance, document: manifest });
        currentSlot = slot;
      } catch (err) {
        // The manifest may or may not have been written: read it again before the next save.
        currentSlot = undefined;
        throw toEsAppError(err, `save detector state ${instance}`);
      }
    },
    async close() {},
  };
}
