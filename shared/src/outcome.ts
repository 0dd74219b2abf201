/**
 * Result of one delivery or write attempt at an I/O edge (alert channel, sink).
 * Components return these instead of throwing for expected failures; one wrapper owns retries.
 */
export type Outcome =
  | { readonly kind: 'ok'; readonly detail?: string }
  | { readonly kind: 'retryable'; readonly error: string; readonly code?: string; readonly retryAfterMs?: number }
  | { readonly kind: 'failed'; readonly error: string; readonly code?: string };

export const ok = (detail?: string): Outcome => (detail === undefined ? { kind: 'ok' } : { kind: 'ok', detail });
export const retryable = (error: string, retryAfterMs?: number, code?: string): Outcome => ({
  kind: 'retryable',
  error,
  ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  ...(code === undefined ? {} : { code }),
});
export const failed = (error: string, code?: string): Outcome => ({
  kind: 'failed',
  error,
  ...(code === undefined ? {} : { code }),
});
