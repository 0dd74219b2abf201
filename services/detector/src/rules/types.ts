import type { z } from 'zod';
import type { EventAction } from '../../../../shared/src/model/registry-event.ts';
import type { DetectorEvent } from '../event.ts';
import type { Detection } from '../findings.ts';
import type { HourBucket, IdentityState, RegistryHour } from '../state/types.ts';
import type { EngineView } from '../state/view.ts';

/**
 * A detection rule: one file in rules/, one line in rules/index.ts. Every hook is a
 * deterministic function of its arguments: the event or closed buckets, the engine's state view
 * (per-identity state and the rule's own keyed state, both snapshotted), the rule's params and
 * `now` (event-time watermark, ms) — no I/O, no clock. Hooks return Detections; the engine turns
 * them into Findings with stable ids.
 */
export interface DetectionRule<P = unknown> {
  /** Dotted finding rule id, e.g. `pull.volume_spike`. */
  readonly id: string;
  readonly description: string;
  /** zod schema of the params with defaults (`parse({})` gives the defaults). */
  readonly paramsSchema: z.ZodType<P>;
  /** The only `event.action`s `observe` looks at (a pre-filter on the hot path); all when absent. */
  readonly actions?: readonly EventAction[];
  /**
   * A second pre-filter on the hot path, for rules about a *new* value of the identity: the engine
   * calls `observe` only when the event has this field (`ip`, `userAgent`, `namespace`) and it
   * differs from the identity's last one (`IdentityState.lastIp` / `lastUserAgent` /
   * `lastNamespace`). Declare it only when `observe` returns nothing in the skipped cases anyway
   * (it is an optimisation, never a change of behaviour).
   */
  readonly onlyWhenChanged?: 'ip' | 'userAgent' | 'namespace';
  /**
   * Per event, in event-time order, after the engine counted the event into its hour bucket and
   * before it updated first-seen sets and `lastSeen` (so "before" state is visible).
   */
  observe?(ev: DetectorEvent, identity: IdentityState, view: EngineView, params: P, now: number): readonly Detection[];
  /** All identities' buckets of one closed hour (late buckets come alone with `late: true`). */
  closeHour?(
    buckets: readonly { bucket: HourBucket; identity: IdentityState }[],
    view: EngineView,
    params: P,
    now: number,
  ): readonly Detection[];
  /** Registry-wide counters of one closed hour (SLO rules). */
  closeRegistryHour?(hour: RegistryHour, view: EngineView, params: P, now: number): readonly Detection[];
  /**
   * The event-time watermark moved to `now` (ms: newest event time − allowed lateness), for rules
   * that end what they fired when nothing happens (e.g. a window rule resolving a burst). Called
   * from `process()` at most once per second of event time (before the event is observed), from
   * every `advance()`, and from `flush()` with `now` = +Infinity (end of a finite input: resolve
   * everything still open). Keep it cheap when there is nothing to do: look at a short list of
   * open items in keyed state, never scan all keyed state.
   */
  onAdvance?(view: EngineView, params: P, now: number): readonly Detection[];
}

/** A rule with its parsed params, as the engine runs it. */
export interface ActiveRule {
  readonly rule: DetectionRule;
  readonly params: unknown;
}

/** The shared empty result (rules return it instead of allocating `[]` per event). */
export const NONE: readonly Detection[] = Object.freeze([]);
