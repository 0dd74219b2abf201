/** Time source of the alerts core: injected so tests drive it with a fake clock. */
export interface Clock {
  /** ms since epoch. */
  now(): number;
  /** Resolves after `ms`; rejects with an AbortError when `signal` aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

function abortError(): Error {
  const e = new Error('aborted');
  e.name = 'AbortError';
  return e;
}

/** The real clock (Date.now, setTimeout). */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(abortError());
      const t = setTimeout(
        () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        Math.max(0, ms),
      );
      const onAbort = (): void => {
        clearTimeout(t);
        reject(abortError());
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};

/** A manually driven clock for tests: time moves only through `advance`/`advanceTo`. */
export interface FakeClock extends Clock {
  /** Moves time forward by `ms`, firing due sleepers in time order and letting their continuations run. */
  advance(ms: number): Promise<void>;
  advanceTo(at: number): Promise<void>;
  /** Due time of the earliest pending sleeper, or undefined. */
  nextTimer(): number | undefined;
}

/** Lets promise continuations and I/O callbacks queued so far run. */
export const flushAsync = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Creates a fake clock starting at `start` (ms since epoch). */
export function createFakeClock(start: number): FakeClock {
  let now = start;
  let seq = 0;
  const timers: { at: number; id: number; resolve: () => void }[] = [];
  const clock: FakeClock = {
    now: () => now,
    sleep(ms, signal) {
      return new Promise<void>((resolve, reject) => {
        if (signal?.aborted) return reject(abortError());
        const id = ++seq;
        const onAbort = (): void => {
          const i = timers.findIndex((t) => t.id === id);
          if (i >= 0) timers.splice(i, 1);
          reject(abortError());
        };
        timers.push({
          at: now + Math.max(0, ms),
          id,
          resolve: () => {
            signal?.removeEventListener('abort', onAbort);
            resolve();
          },
        });
        timers.sort((a, b) => a.at - b.at || a.id - b.id);
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    },
    async advanceTo(at) {
      for (;;) {
        await flushAsync();
        const t = timers[0];
        if (!t || t.at > at) break;
        timers.shift();
        now = Math.max(now, t.at);
        t.resolve();
      }
      now = Math.max(now, at);
      await flushAsync();
    },
    advance: (ms) => clock.advanceTo(now + ms),
    nextTimer: () => timers[0]?.at,
  };
  return clock;
}
