import { z } from 'zod';
import type { EventAction } from '../../../../shared/src/model/registry-event.ts';
import { severityRank, type Severity } from '../../../../shared/src/model/finding.ts';
import type { DetectorEvent } from '../event.ts';
import type { Detection, EntityType } from '../findings.ts';
import { scoreFromRatio } from '../findings.ts';
import { addToWindow, newWindow, startsNewBurst, upgradeWindow, type WindowCounter } from '../state/window.ts';
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

/** What a window rule's message describes: one burst, so far (firing) or in full (resolved). */
export interface BurstSummary {
  /** Events counted in the burst (from its first event to its newest). */
  count: number;
  /** Largest count within one window of `windowSeconds` during the burst. */
  peak: number;
  /** Distinct values of the burst (capped at 64; `distinct.length >= 64` means "64 or more"). */
  distinct: readonly string[];
  /**
   * First to newest counted event: "within 5 minutes, 10:00:03–10:03:21 UTC on 2026-03-10" while
   * the burst fits in one window, else "between 10:00:03 and 10:06:39 UTC on 2026-03-10".
   */
  span: string;
}

export interface WindowRuleSpec {
  id: string;
  /** Actions that can count (pre-filter). */
  actions: readonly EventAction[];
  description: string;
  defaults: WindowParams;
  /** Which events count, and under which entity key; undefined = not counted. */
  key(ev: DetectorEvent, st: IdentityState, view: EngineView): { type: EntityType; id: string } | undefined;
  /** Distinct value tracked per burst (repository, IP, user), with its event count. */
  distinct?(ev: DetectorEvent): string | undefined;
  /**
   * Where the distinct values go in the finding's evidence, with their counts: `source_ips` (the
   * values are client IPs) or `repositories` (repository names; `_catalog` is left out).
   */
  distinctEvidence?: 'source_ips' | 'repositories';
  unit: string;
  /**
   * Severity of a burst whose largest window count is `peak` (over `threshold`) with `distinct`
   * distinct values. Called when the burst first fires and on every later counted event of a
   * fired burst; a result ranking above the last emitted severity re-emits the finding.
   */
  severity(peak: number, threshold: number, distinct: number, ev: DetectorEvent, view: EngineView): Severity;
  /** One sentence (no final period) about the burst: counts, entity, `b.span`, the threshold. */
  message(entity: { type: EntityType; id: string }, b: BurstSummary, p: WindowParams): string;
}

/**
 * A keyed-state initializer making windows of `ms`. Made outside observe: a closure over one of
 * observe's locals would make V8 allocate a context for it on every call.
 */
const windowInit =
  (ms: number): (() => WindowCounter) =>
  () =>
    newWindow(ms);

/** Keyed-state key of a rule's list of fired, not yet resolved bursts (no entity key has a NUL). */
const OPEN_KEY = '\u0000open';
const newOpenList = (): string[] => [];
/** Time to live of the open list (ms): far beyond any burst; touched at every fire. */
const OPEN_TTL = 30 * 24 * 3_600_000;
/** Distinct values with counts put into `source_ips` / `repositories` evidence. */
const EVIDENCE_TOP = 20;

const minutes = (p: WindowParams): string => `${p.windowSeconds / 60} minutes`;

/**
 * The threshold note ending a window rule's message: "(up to 150 within 5 minutes; alert at 20;
 * typical 0)"; `over` adds the distinct requirement ("over 10 repositories").
 */
export function thresholdNote(b: BurstSummary, p: WindowParams, over = ''): string {
  const peak = b.peak < b.count ? `up to ${b.peak} within ${minutes(p)}; ` : '';
  return `(${peak}alert at ${p.threshold}${over ? ` ${over}` : ''}; typical 0)`;
}

/** "64+" when the distinct list hit its cap, else the count. */
export const distinctCount = (d: readonly string[]): string => `${d.length}${d.length >= 64 ? '+' : ''}`;

/**
 * The time span of a burst from `fromMs` to `toMs` (ms since epoch, UTC): "within 5 minutes,
 * 10:00:03–10:03:21 UTC on 2026-03-10" when it is no longer than the window `p.windowSeconds`,
 * else "between 10:00:03 and 10:06:39 UTC on 2026-03-10" (full ISO times when the days differ).
 */
export function spanLabel(fromMs: number, toMs: number, p: WindowParams): string {
  const a = new Date(fromMs).toISOString();
  const b = new Date(toMs).toISOString();
  const sameDay = a.slice(0, 10) === b.slice(0, 10);
  if (toMs - fromMs <= p.windowSeconds * 1000)
    return sameDay
      ? `within ${minutes(p)}, ${a.slice(11, 19)}–${b.slice(11, 19)} UTC on ${a.slice(0, 10)}`
      : `within ${minutes(p)}, ${a.slice(0, 19)}Z–${b.slice(0, 19)}Z`;
  return sameDay
    ? `between ${a.slice(11, 19)} and ${b.slice(11, 19)} UTC on ${a.slice(0, 10)}`
    : `between ${a.slice(0, 19)}Z and ${b.slice(0, 19)}Z`;
}

/**
 * Builds a sliding event-time window rule ("≥ N matching events per key in W seconds, with ≥ D
 * distinct values"). Counts live in snapshotted keyed state, so a restart or a redelivered batch
 * never counts an event twice (the engine drops repeated event ids). One finding per key and
 * burst, stable id = rule + entity + first event time of the burst (to the second), emitted:
 * - `firing` when the window first reaches the threshold;
 * - `firing` again (same id) when the burst grows and `spec.severity` ranks higher than the last
 *   emission — once per level, never per event — with the burst's count and newest event time;
 * - `resolved` (same id, last severity, final count, `window.end` = the burst's newest event) once
 *   no counted event came for `windowSeconds` after the newest one, judged on the engine's
 *   event-time watermark (`onAdvance`), or when the key's next event starts a new burst, or at the
 *   end of a finite input (engine flush, `now` = +Infinity).
 * Fired, unresolved bursts are listed in keyed state of their own (usually empty), so the check
 * on a watermark advance looks at those keys only; both are snapshotted (restart-safe).
 */
/** Appended to a window finding's message when its source IP is only a client's claim. */
const CLAIMED_NOTE =
  ' (the source IP is the client-supplied X-Forwarded-For/X-Real-Ip value, not the connection: it may be forged)';

export function windowRule(spec: WindowRuleSpec): DetectionRule<WindowParams> {
  const schema = windowParams.extend({
    threshold: z.number().int().positive().default(spec.defaults.threshold),
    windowSeconds: z.number().positive().default(spec.defaults.windowSeconds),
    minDistinct: z.number().int().nonnegative().default(spec.defaults.minDistinct),
  });
  // Hot-path memos (pure, so safe to share between engines): the keyed-state key of the previous
  // entity (bursts repeat one entity, so no key string per event) and the window initializer and
  // time to live of the previous params / settings.
  let lastType = '';
  let lastId = '';
  let lastKey = '';
  let lastParams: WindowParams | undefined;
  let lastLateness = -1;
  let init: () => WindowCounter = () => newWindow(1000);
  let ttl = 3_600_000;

  /** The finding of a fired burst (firing or resolved) from the window's current state. */
  const detection = (
    entity: { type: EntityType; id: string },
    w: WindowCounter,
    p: WindowParams,
    status: 'firing' | 'resolved',
  ): Detection => {
    const b: BurstSummary = {
      count: w.total,
      peak: w.peak,
      distinct: w.distinct,
      span: spanLabel(w.burstStart, w.newest, p),
    };
    // An IP entity (or the last client) that is only a client's X-Forwarded-For claim: say so, a
    // forged header can point a finding at an innocent address (CASES C07).
    const claimed = w.lastIpClaimed === true && (entity.type !== 'ip' || entity.id === w.lastIp);
    const text = spec.message(entity, b, p) + (claimed ? CLAIMED_NOTE : '');
    const counted: { value: string; count: number }[] = [];
    if (spec.distinctEvidence)
      for (let i = 0; i < w.distinct.length; i++) {
        const value = w.distinct[i]!;
        if (spec.distinctEvidence === 'repositories' && value === '_catalog') continue;
        counted.push({ value, count: w.distinctCounts[i] ?? 0 });
      }
    counted.sort((x, y) => y.count - x.count);
    const top = counted.slice(0, EVIDENCE_TOP);
    const sourceIps =
      entity.type === 'ip'
        ? [{ ip: entity.id, count: w.total }]
        : spec.distinctEvidence === 'source_ips'
          ? top.map((c) => ({ ip: c.value, count: c.count }))
          : undefined;
    return {
      rule: spec.id,
      severity: w.level || 'medium',
      score: scoreFromRatio(w.peak / p.threshold),
      entity,
      windowStart: w.idStart,
      windowEnd: Math.max(w.newest, w.idStart + 1000),
      observed: { value: w.total, unit: spec.unit },
      expected: { value: 0, unit: spec.unit, upper: p.threshold - 1 },
      evidence: {
        sample_event_ids: w.samples.slice(),
        extra: {
          distinct: w.distinct.slice(0, 20),
          distinct_count: w.distinct.length,
          window_seconds: p.windowSeconds,
          window_peak: w.peak,
          burst_start: new Date(w.burstStart).toISOString(),
          ...(w.lastIp ? { last_source_ip: w.lastIp } : {}),
          ...(claimed ? { ip_trust: 'claimed' } : {}),
          ...(w.lastUserAgent ? { last_user_agent: w.lastUserAgent } : {}),
        },
        ...(sourceIps ? { source_ips: sourceIps } : {}),
        ...(spec.distinctEvidence === 'repositories'
          ? { repositories: top.map((c) => ({ name: c.value, count: c.count })) }
          : {}),
      },
      message: status === 'resolved' ? `Ended: ${text}; no more for ${minutes(p)}.` : `${text}.`,
      ...(claimed ? { labels: { ip_trust: 'claimed' } } : {}),
      ...(status === 'resolved' ? { status } : {}),
    };
  };

  /** Marks the window's fired burst resolved and returns its `resolved` finding. */
  const resolve = (key: string, w: WindowCounter, p: WindowParams): Detection => {
    w.closed = true;
    const at = key.indexOf(':');
    return detection({ type: key.slice(0, at) as EntityType, id: key.slice(at + 1) }, w, p, 'resolved');
  };

  /** Removes `key` from the rule's open list (rare: a fired burst ends). */
  const unlist = (view: EngineView, key: string): void => {
    const open = view.peek<string[]>(spec.id, OPEN_KEY);
    const i = open ? open.indexOf(key) : -1;
    if (i >= 0) open!.splice(i, 1);
  };

  return {
    id: spec.id,
    description: spec.description,
    actions: spec.actions,
    paramsSchema: schema as unknown as z.ZodType<WindowParams>,
    observe(ev, st, view, p): readonly Detection[] {
      const entity = spec.key(ev, st, view);
      if (!entity) return NONE;
      if (entity.type !== lastType || entity.id !== lastId) {
        lastType = entity.type;
        lastId = entity.id;
        lastKey = `${entity.type}:${entity.id}`;
      }
      if (p !== lastParams || view.settings.allowedLatenessMs !== lastLateness) {
        lastParams = p;
        lastLateness = view.settings.allowedLatenessMs;
        const ms = p.windowSeconds * 1000;
        init = windowInit(ms);
        // Long enough that a fired burst is still there when the watermark resolves it.
        ttl = Math.max(ms * 2, 3_600_000) + lastLateness;
      }
      const key = lastKey;
      const w = view.keyed<WindowCounter>(spec.id, key, init, ttl);
      if (w.total === undefined) upgradeWindow(w);
      // The key's next burst begins while the last one's resolution still waits for the watermark
      // (allowed lateness): the last one is over, so it resolves now, before its state is reset.
      let ended: Detection | undefined;
      if (w.level !== '' && !w.closed && startsNewBurst(w, ev.ts)) {
        ended = resolve(key, w, p);
        unlist(view, key);
      }
      const count = addToWindow(w, ev.ts, 1, spec.distinct?.(ev), ev.id);
      if (count > w.peak) w.peak = count;
      let out: Detection | undefined;
      if (w.firedAt === w.burstStart && w.idStart >= 0) {
        // Fired burst: re-emit only when it escalates (and never after it resolved).
        if (!w.closed && w.level !== '') {
          const severity = spec.severity(w.peak, p.threshold, w.distinct.length, ev, view);
          if (severityRank(severity) > severityRank(w.level)) {
            w.level = severity;
            w.lastIp = ev.ip;
            w.lastIpClaimed = ev.ipClaimed === true;
            w.lastUserAgent = ev.userAgent;
            out = detection(entity, w, p, 'firing');
          }
        }
      } else if (count >= p.threshold && w.distinct.length >= p.minDistinct) {
        w.firedAt = w.burstStart;
        w.idStart = Math.floor(w.burstStart / 1000) * 1000;
        w.level = spec.severity(w.peak, p.threshold, w.distinct.length, ev, view);
        w.closed = false;
        w.lastIp = ev.ip;
        w.lastIpClaimed = ev.ipClaimed === true;
        w.lastUserAgent = ev.userAgent;
        const open = view.keyed<string[]>(spec.id, OPEN_KEY, newOpenList, OPEN_TTL);
        if (!open.includes(key)) open.push(key);
        out = detection(entity, w, p, 'firing');
      }
      if (ended) return out ? [ended, out] : [ended];
      return out ? [out] : NONE;
    },
    onAdvance(view, p, now): readonly Detection[] {
      const open = view.peek<string[]>(spec.id, OPEN_KEY);
      if (!open || open.length === 0) return NONE;
      const ms = p.windowSeconds * 1000;
      let out: Detection[] | undefined;
      for (let i = 0; i < open.length;) {
        const key = open[i]!;
        const w = view.peek<WindowCounter>(spec.id, key);
        if (!w || w.closed || w.level === '') {
          // Gone (time to live) or already resolved by the key's next event: nothing to send.
          open.splice(i, 1);
          continue;
        }
        if (now >= w.newest + ms) {
          (out ??= []).push(resolve(key, w, p));
          open.splice(i, 1);
          continue;
        }
        i++;
      }
      return out ?? NONE;
    },
  };
}
