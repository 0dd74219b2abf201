import type { z } from 'zod';
import type { Logger } from '../../../../shared/src/logger.ts';
import type { Outcome } from '../../../../shared/src/outcome.ts';
import type { Notification, RenderSettings } from '../model.ts';
import type { HttpClient } from '../http.ts';

/** What a channel gets besides the message and its config. */
export interface ChannelContext {
  /** Child logger; never log URLs, tokens or secrets. */
  readonly logger: Logger;
  /** HTTP client with its own undici Agent (never global fetch). */
  readonly http: HttpClient;
  /** Aborts the attempt when the delivery deadline is reached. */
  readonly signal: AbortSignal;
  /** Clock (ms since epoch) for signature timestamps. */
  readonly now: () => number;
  readonly render: RenderSettings;
}

/** What `regwatch alerts test` prints: the request a channel would send, secrets removed. */
export interface RenderedRequest {
  readonly channel: string;
  /** Where it would go, with credentials masked (e.g. `https://hooks.slack.com/services/***`). */
  readonly target: string;
  readonly body: unknown;
}

/**
 * An alert channel (STYLE.md §7.3): one file, one registry line. Rules for implementers:
 * don't throw for delivery failures; 429/5xx → `retryable` (Retry-After → `retryAfterMs`);
 * other 4xx and body-level errors → `failed` with a code; never put secrets in errors, logs or
 * returned data; no retries, dedup or batching inside a channel (the delivery wrapper owns them).
 */
export interface AlertChannel<C extends { readonly type: string } = { readonly type: string }> {
  /** Channel type, the `type:` value in config (also the registry key). */
  readonly id: string;
  readonly description: string;
  /** zod schema of this channel's config, with `type: z.literal(id)`. */
  readonly configSchema: z.ZodType<C>;
  /** A valid config (documentation and the contract test). */
  readonly example: Record<string, unknown>;
  /** Non-secret identity of the destination (pacing, circuit breaker, records), e.g. `slack:3f2a…`. */
  destination(config: C): string;
  /** The request `send` would make, for dry runs; must not contain secrets. */
  render(message: Notification, config: C, settings: RenderSettings, now: number): RenderedRequest;
  /** Delivers once. Resolves to an Outcome; never rejects for delivery failures. */
  send(message: Notification, config: C, ctx: ChannelContext): Promise<Outcome>;
}
