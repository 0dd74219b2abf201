import type { RegistryEvent } from '../../model/registry-event.ts';
import type { NormalizeContext, NormalizeResult, RejectReason } from '../types.ts';
import { REJECT_REASONS } from '../types.ts';

/**
 * Copies caller-supplied facts onto a built event: `event.created` (receivedAt),
 * `log.file.path` (origin), `log.offset` (offset) and, when `keepOriginal`, `event.original` (raw).
 */
export function applyContext(ev: RegistryEvent, raw: string, ctx: NormalizeContext): void {
  if (ctx.receivedAt !== undefined) ev.event.created = ctx.receivedAt;
  applyContextAfterCreated(ev, raw, ctx);
}

/**
 * {@link applyContext} for an event whose builder already put `event.created` (= `ctx.receivedAt`,
 * when defined) into its `event` literal, in the same key position: sets `event.original` and
 * `log.file.path`/`log.offset` only.
 */
export function applyContextAfterCreated(ev: RegistryEvent, raw: string, ctx: NormalizeContext): void {
  if (ctx.keepOriginal === true) ev.event.original = raw;
  if (ctx.origin !== undefined || ctx.offset !== undefined) {
    ev.log ??= {};
    if (ctx.origin !== undefined) ev.log.file = { path: ctx.origin };
    if (ctx.offset !== undefined) ev.log.offset = ctx.offset;
  }
}

/** A `rejected` result; `detail` defaults to the catalogued reason text. Never include secrets in `detail`. */
export function reject(reason: RejectReason, original: string, detail?: string): NormalizeResult {
  return { kind: 'rejected', reason, detail: detail ?? REJECT_REASONS[reason], original };
}

/** An `ignored` result (valid input that is not a registry operation). */
export function ignore(reason: string): NormalizeResult {
  return { kind: 'ignored', reason };
}

/** An `event` result. */
export function emit(event: RegistryEvent): NormalizeResult {
  return { kind: 'event', event };
}
