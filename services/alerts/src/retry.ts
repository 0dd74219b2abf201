import type { Outcome } from '../../../shared/src/outcome.ts';
import type { Clock } from './clock.ts';

/** How one notification is retried on one channel. All durations in ms. */
export interface RetryPolicy {
  readonly maxAttempts: number;
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
  /** Give up when the next attempt would start later than startedAt + deadlineMs. */
  readonly deadlineMs: number;
}

export interface AttemptInfo {
  readonly attempt: number;
  readonly outcome: Outcome;
  readonly startedAt: number;
  readonly durationMs: number;
  /** ms the wrapper waits before the next attempt (undefined when this was the last). */
  readonly nextDelayMs?: number;
}

export interface RetryResult {
  /** Last attempt's outcome; `failed` with code `deadline_exceeded` / `max_attempts` when retries ran out. */
  readonly outcome: Outcome;
  readonly attempts: number;
  /** True when retries ran out on a retryable failure (as opposed to a permanent `failed`). */
  readonly exhausted: boolean;
}

/**
 * Backoff before attempt `attempt + 1`: "full jitter" (AWS Architecture Blog, "Exponential
 * Backoff and Jitter") — uniform in [base/2, base] where base = min(max, initial · 2^(attempt-1)).
 * The half floor keeps a minimum spacing so retries never hammer a destination.
 */
export function backoffDelay(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const base = Math.min(policy.maxBackoffMs, policy.initialBackoffMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(base / 2 + (random() * base) / 2);
}

/**
 * The one retry wrapper (STYLE.md §5, OTel's retrying transport): calls `send` until it returns
 * `ok` or `failed`, or retries run out. `retryable.retryAfterMs` (Retry-After) is honoured as a
 * floor for the next delay. Stops when attempts reach `maxAttempts` or when the next attempt
 * would start after the deadline. Never throws for delivery failures.
 * @param send one attempt; gets an AbortSignal that fires at the deadline
 * @param onAttempt called after every attempt (delivery records, logs, metrics)
 */
export async function sendWithRetry(
  send: (signal: AbortSignal) => Promise<Outcome>,
  opts: {
    readonly policy: RetryPolicy;
    readonly clock: Clock;
    readonly random?: () => number;
    readonly onAttempt?: (info: AttemptInfo) => void | Promise<void>;
    readonly signal?: AbortSignal;
  },
): Promise<RetryResult> {
  const { policy, clock } = opts;
  const deadline = clock.now() + policy.deadlineMs;
  for (let attempt = 1; ; attempt++) {
    const startedAt = clock.now();
    const ctrl = new AbortController();
    const onOuter = (): void => ctrl.abort();
    opts.signal?.addEventListener('abort', onOuter, { once: true });
    const timer = setTimeout(() => ctrl.abort(), Math.max(1, deadline - startedAt));
    let outcome: Outcome;
    try {
      outcome = await send(ctrl.signal);
    } catch (err) {
      // A channel broke its contract by throwing: treat as retryable, never leak the message (may hold a URL).
      outcome = { kind: 'retryable', error: `channel threw ${(err as Error)?.name ?? 'error'}`, code: 'channel_threw' };
    } finally {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onOuter);
    }
    const durationMs = clock.now() - startedAt;
    let nextDelayMs: number | undefined;
    let final: Outcome | undefined;
    let exhausted = true;
    if (outcome.kind !== 'retryable') {
      final = outcome;
      exhausted = false;
    } else if (opts.signal?.aborted) final = { kind: 'failed', error: 'delivery stopped', code: 'aborted' };
    else if (attempt >= policy.maxAttempts)
      final = {
        kind: 'failed',
        error: `gave up after ${attempt} attempts: ${outcome.error}`,
        code: outcome.code ?? 'max_attempts',
      };
    else {
      const delay = Math.max(backoffDelay(attempt, policy, opts.random), outcome.retryAfterMs ?? 0);
      if (clock.now() + delay > deadline)
        final = {
          kind: 'failed',
          error: `deadline reached after ${attempt} attempts: ${outcome.error}`,
          code: outcome.code ?? 'deadline_exceeded',
        };
      else nextDelayMs = delay;
    }
    await opts.onAttempt?.({
      attempt,
      outcome,
      startedAt,
      durationMs,
      ...(nextDelayMs !== undefined ? { nextDelayMs } : {}),
    });
    if (final) return { outcome: final, attempts: attempt, exhausted };
    try {
      await clock.sleep(nextDelayMs ?? 0, opts.signal);
    } catch {
      return {
        outcome: { kind: 'failed', error: 'delivery stopped', code: 'aborted' },
        attempts: attempt,
        exhausted: true,
      };
    }
  }
}
