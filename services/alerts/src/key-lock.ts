/**
 * In-process mutual exclusion per string key (e.g. throttle keys): `run(keys, fn)` waits until no
 * other `run` holds any of `keys`, runs `fn`, then releases them. Keys are taken in sorted order,
 * so two callers with overlapping key sets cannot deadlock. Serializes read-modify-write of
 * shared per-key state between concurrent flushes of one instance (not across instances).
 */
export interface KeyLock {
  /** Runs `fn` holding every key; resolves/rejects with `fn`'s result. */
  run<T>(keys: Iterable<string>, fn: () => Promise<T>): Promise<T>;
}

export function createKeyLock(): KeyLock {
  /** Tail of the queue of each held key: resolves when its current holder releases it. */
  const tails = new Map<string, Promise<void>>();
  async function acquire(key: string): Promise<() => void> {
    const prev = tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const tail = prev.then(() => mine);
    tails.set(key, tail);
    await prev;
    return () => {
      release();
      if (tails.get(key) === tail) tails.delete(key);
    };
  }
  return {
    async run(keys, fn) {
      const sorted = [...new Set(keys)].sort();
      const releases: (() => void)[] = [];
      try {
        for (const k of sorted) releases.push(await acquire(k));
        return await fn();
      } finally {
        for (const r of releases.reverse()) r();
      }
    },
  };
}
