import type { EngineSnapshot } from '../engine.ts';

/**
 * Where the detector keeps its state between runs: one serializable engine snapshot (identities,
 * baselines, first-seen sets, rule windows, recent event ids) plus `meta.offsets`, the last
 * processed offset per topic-partition. Saved before the consumed batch is committed, so after a
 * restart nothing is forgotten and nothing already counted is counted again (C24).
 */
export interface StateStore {
  /** The last saved snapshot, or undefined on first start. @throws AppError (retriable) when the backend is unreachable. */
  load(): Promise<EngineSnapshot | undefined>;
  /** Replaces the saved snapshot. @throws AppError (retriable) when the write was not acknowledged. */
  save(snapshot: EngineSnapshot): Promise<void>;
  close(): Promise<void>;
}

/** In-process store (unit tests, throwaway runs). */
export function memoryStore(): StateStore & { saves: number } {
  let saved: string | undefined;
  const store = {
    saves: 0,
    load: async () => (saved === undefined ? undefined : (JSON.parse(saved) as EngineSnapshot)),
    save: async (s: EngineSnapshot) => {
      saved = JSON.stringify(s);
      store.saves++;
    },
    close: async () => {},
  };
  return store;
}
