import { severityRank, type Severity } from '../../../shared/src/model/finding.ts';

/**
 * Per-key throttle with exponential backoff (ElastAlert2 `realert` + `exponential_realert`,
 * elastalert2 docs "ruletypes" → realert / exponential_realert): after a key notified, new
 * alerts of that key are held back until `until`. When the next alert comes within twice the
 * current window, the window doubles (up to `maxMs`); when the key was quiet longer, it resets.
 * An alert more severe than the key last notified (an escalation) is never held back.
 */
export interface ThrottleState {
  /** ms since epoch until which new alerts of the key are held back. */
  readonly until: number;
  /** Window = realert · 2^exponent. */
  readonly exponent: number;
  /** ms since epoch of the last notification for the key. */
  readonly lastAt: number;
  /**
   * New alerts of the key held back since its last notification, in any aggregation group (the
   * key spans groups). The next notification that announces an alert of the key reports it.
   */
  readonly heldBack?: number;
  /** Highest severity the key's last notification announced (absent in older state). */
  readonly severity?: Severity;
}

/** The state after `count` more new alerts of the key were held back (state must exist: the key notified). */
export function holdBack(state: ThrottleState, count: number): ThrottleState {
  return { ...state, heldBack: (state.heldBack ?? 0) + count };
}

/**
 * True when a new alert of the key is held back at `now`; an alert of `severity` higher than the
 * key last notified passes (escalations are never swallowed).
 */
export function throttled(state: ThrottleState | undefined, now: number, severity?: Severity): boolean {
  if (state === undefined || now >= state.until) return false;
  return !(
    severity !== undefined &&
    state.severity !== undefined &&
    severityRank(severity) > severityRank(state.severity)
  );
}

/**
 * The state after a notification for the key at `now` (the held-back count starts again at 0:
 * that notification reported it).
 * @param realertMs base window (0 turns throttling off → undefined)
 * @param maxMs cap on the window
 * @param severity highest severity this notification announced for the key (kept for the escalation check)
 */
export function afterNotify(
  state: ThrottleState | undefined,
  now: number,
  realertMs: number,
  maxMs: number,
  severity?: Severity,
): ThrottleState | undefined {
  if (realertMs <= 0) return undefined;
  let exponent = 0;
  if (state) {
    const window = realertMs * 2 ** state.exponent;
    exponent = now - state.lastAt < 2 * window ? state.exponent + 1 : 0;
  }
  const maxExp = Math.max(0, Math.floor(Math.log2(Math.max(1, maxMs / realertMs))));
  exponent = Math.min(exponent, maxExp);
  return {
    until: now + Math.min(maxMs, realertMs * 2 ** exponent),
    exponent,
    lastAt: now,
    ...(severity !== undefined ? { severity } : {}),
  };
}
