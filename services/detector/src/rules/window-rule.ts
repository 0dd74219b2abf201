import { z } from 'zod';
import type { EventAction } from '../../../../shared/src/model/registry-event.ts';
import type { DetectorEvent } from '../event.ts';
import type { Detection, EntityType } from '../findings.ts';
import { scoreFromRatio } from '../findings.ts';
import type { Severity } from '../../../../shared/src/model/finding.ts';
import { addToWindow, newWindow, type WindowCounter } from '../state/window.ts';
import type { IdentityState } from '../state/types.ts';
import type { EngineView } from '../state/view.ts';
import { NONE, type DetectionRule } from './types.ts';

export const windowParams = z.object({
  /** Events in the window that fire the rule. */
  threshold: z.number().int().positive(),
  /** Sliding window length, seconds. */
  windowSeconds: z.number().positive(),
  /** Distinct values (repositories, users, IPs) also required in the window. */
  minDistinct: z.number().int().nonnegative(),
});
export type WindowParams = z.infer<typeof windowParams>;

export interface WindowRuleSpec {
  id: string;
  /** Actions that can count (pre-filter). */
  actions: readonly EventAction[];
  description: string;
  defaults: WindowParams;
  /** Which events count, and under which entity key; undefined = not counted. */
  key(ev: DetectorEvent, st: IdentityState, view: EngineView): { type: EntityType; id: string } | undefined;
  /** Distinct value tracked per window (repository, IP, user). */
  distinct?(ev: DetectorEvent): string | undefined;
  unit: string;
  severity(count: number, threshold: number, distinct: number, ev: DetectorEvent, view: EngineView): Severity;
  message(
    entity: { type: EntityType; id: string },
    count: number,
    p: WindowParams,
    distinct: readonly string[],
    w: WindowCounter,
  ): string;
}

/**
 * A keyed-state initializer making windows of `ms`. Made outside observe: a closure over one of
 * observe's locals would make V8 allocate a context for it on every call.
 */
const windowInit =
  (ms: number): (() => WindowCounter) =>
  () =>
    newWindow(ms);

/**
 * Builds a sliding event-time window rule ("≥ N matching events per key in W seconds, with ≥ D
 * distinct values"). Counts live in snapshotted keyed state, so a restart or a redelivered batch
 * never counts an event twice (the engine drops repeated event ids), and one finding is emitted
 * per key and window start (stable id = rule + entity + first event time of the burst, to the second).
 */
export function windowRule(spec: WindowRuleSpec): DetectionRule<WindowParams> {
  const schema = windowParams.extend({
    threshold: z.number().int().positive().default(spec.defaults.threshold),
    windowSeconds: z.number().positive().default(spec.defaults.windowSeconds),
    minDistinct: z.number().int().nonnegative().default(spec.defaults.minDistinct),
  });
  // Hot-path memos (pure, so safe to share between engines): the keyed-state key of the previous
  // entity (bursts repeat one entity, so no key string per event) and the window initializer of
  // the previous params object.
  let lastType = '';
  let lastId = '';
  let lastKey = '';
  let lastParams: WindowParams | undefined;
  let init: () => WindowCounter = () => newWindow(1000);
  return {
    id: spec.id,
    description: spec.description,
    actions: spec.actions,
    paramsSchema: schema as unknown as z.ZodType<WindowParams>,
    observe(ev, st, view, p): readonly Detection[] {
      const entity = spec.key(ev, st, view);
      if (!entity) return NONE;
      const ms = p.windowSeconds * 1000;
      if (entity.type !== lastType || entity.id !== lastId) {
        lastType = entity.type;
        lastId = entity.id;
        lastKey = `${entity.type}:${entity.id}`;
      }
      if (p !== lastParams) {
        lastParams = p;
        init = windowInit(ms);
      }
      const w = view.keyed<WindowCounter>(spec.id, lastKey, init, Math.max(ms * 2, 3_600_000));
      const count = addToWindow(w, ev.ts, 1, spec.distinct?.(ev), ev.id);
      if (count < p.threshold || w.distinct.length < p.minDistinct) return NONE;
      // One finding per burst: a new one only after the window emptied (a new burst start).
      if (w.firedAt === w.burstStart) return NONE;
      w.firedAt = w.burstStart;
      const start = Math.floor(w.burstStart / 1000) * 1000;
      const severity = spec.severity(count, p.threshold, w.distinct.length, ev, view);
      return [
        {
          rule: spec.id,
          severity,
          score: scoreFromRatio(count / p.threshold),
          entity,
          windowStart: start,
          windowEnd: Math.max(w.newest, start + 1000),
          observed: { value: count, unit: spec.unit },
          expected: { value: 0, unit: spec.unit, upper: p.threshold - 1 },
          evidence: {
            sample_event_ids: w.samples.slice(),
            extra: {
              distinct: w.distinct.slice(0, 20),
              distinct_count: w.distinct.length,
              window_seconds: p.windowSeconds,
              // The window keeps counts per entity only, so the triggering event's client is
              // reported as "last seen", never with an invented per-IP count.
              ...(ev.ip ? { last_source_ip: ev.ip } : {}),
              ...(ev.userAgent ? { last_user_agent: ev.userAgent } : {}),
            },
            // Keyed by IP: every event in the window came from that IP.
            ...(entity.type === 'ip' ? { source_ips: [{ ip: entity.id, count }] } : {}),
          },
          message: spec.message(entity, count, p, w.distinct, w),
        },
      ];
    },
  };
}
