import { severityRank, type Finding, type Severity } from '../../../shared/src/model/finding.ts';
import type { AlertView, Notification } from './model.ts';
import type { Labels } from './labels.ts';
import type { Route } from './route.ts';

/**
 * Pure aggregation-group logic (Alertmanager's dispatcher semantics): alerts join a group,
 * the first notification waits `group_wait`, later changes wait `group_interval` after the
 * last notification, unchanged firing alerts are re-sent every `repeat_interval`, resolved
 * alerts are announced once (`send_resolved`), also when they fired while muted.
 * Changes are: a new alert, a status change, and a severity *increase* of a notified alert
 * (escalation: the detector re-emits the same finding id with a higher severity); a decrease
 * is shown with the next notification but schedules none. An alert that fired and resolved
 * before the group ever told anyone about it (inside `group_wait`, e.g. a replayed late log) is
 * announced as resolved ("fired and ended before notification"), whatever `send_resolved` says.
 * Everything is a function of (state, input, now): no I/O, no clock.
 */

export interface AlertEntry {
  readonly key: string;
  readonly labels: Labels;
  readonly finding: Finding;
  readonly status: 'firing' | 'resolved';
  readonly startsAt: number;
  readonly endsAt?: number;
  /** Last status this group told its receiver about. */
  readonly notified: 'none' | 'firing';
  /**
   * Severity the receiver was last told (set with `notified: 'firing'`); a later finding with a
   * higher severity is an escalation. Absent in state written by older versions.
   */
  readonly notifiedSeverity?: Severity;
  /** It fired while hidden (time mute, silence, inhibition) and was never notified. */
  readonly mutedWhileFiring?: boolean;
  /** `detected_at` (ms) of the newest finding applied; older redeliveries are ignored. */
  readonly detectedAt: number;
}

/** A notification claimed by an instance and not yet fully delivered (crash recovery). */
export interface PendingDelivery {
  readonly notification: Notification;
  /** Instance id that claimed it. */
  readonly owner: string;
  readonly claimedAt: number;
  /** Indexes of the receiver's channels already finished (ok or given up). */
  readonly done: readonly number[];
}

export interface GroupState {
  readonly key: string;
  readonly routeId: string;
  readonly receiver: string;
  readonly groupLabels: Labels;
  readonly alerts: Readonly<Record<string, AlertEntry>>;
  readonly createdAt: number;
  /** ms since epoch when the group must be looked at next. */
  readonly nextFlushAt: number;
  readonly lastNotifiedAt?: number;
  /** Notifications sent so far (the next one gets seq + 1). */
  readonly seq: number;
  /**
   * Legacy: held-back count of state written by older versions (reported once, then 0). The count
   * now lives with the throttle key (`ThrottleState.heldBack`), which spans groups.
   */
  readonly throttled: number;
  readonly pending?: PendingDelivery;
}

/** An alert update derived from one finding. */
export interface AlertInput {
  readonly key: string;
  readonly labels: Labels;
  readonly finding: Finding;
}

const NEVER = Number.MAX_SAFE_INTEGER;

/**
 * True when a firing alert the receiver was told about now has a higher severity than it was
 * told (severity order: shared/src/model/finding.ts SEVERITIES).
 */
export function escalated(e: AlertEntry): boolean {
  return (
    e.status === 'firing' &&
    e.notified === 'firing' &&
    e.notifiedSeverity !== undefined &&
    severityRank(e.finding.severity) > severityRank(e.notifiedSeverity)
  );
}

/** True for a resolved alert no notification ever showed (not as firing, not while muted). */
function endedUnseen(e: AlertEntry): boolean {
  return e.status === 'resolved' && e.notified === 'none' && !e.mutedWhileFiring;
}

/**
 * Applies one finding to a group (creating it when `group` is undefined).
 * @returns the new state, or the old one unchanged when the finding adds nothing
 * (redelivery, older update, resolved notice for an alert never seen firing).
 */
export function applyAlert(
  group: GroupState | undefined,
  ids: { key: string; route: Route; groupLabels: Labels },
  input: AlertInput,
  now: number,
): GroupState | undefined {
  const detectedAt = Date.parse(input.finding.detected_at);
  const status = input.finding.status;
  const prev = group?.alerts[input.key];
  if (prev && detectedAt < prev.detectedAt) return group;
  if (prev && detectedAt === prev.detectedAt && prev.status === status) return group;
  if (!prev && status === 'resolved') return group;
  const entry: AlertEntry = {
    key: input.key,
    labels: input.labels,
    finding: input.finding,
    status,
    startsAt: prev?.startsAt ?? now,
    ...(status === 'resolved' ? { endsAt: now } : {}),
    notified: prev?.notified ?? 'none',
    ...(prev?.notifiedSeverity ? { notifiedSeverity: prev.notifiedSeverity } : {}),
    ...(prev?.mutedWhileFiring ? { mutedWhileFiring: true } : {}),
    detectedAt,
  };
  const changed = !prev || prev.status !== status || escalated(entry);
  if (!group) {
    return {
      key: ids.key,
      routeId: ids.route.id,
      receiver: ids.route.receiver,
      groupLabels: ids.groupLabels,
      alerts: { [input.key]: entry },
      createdAt: now,
      nextFlushAt: now + ids.route.groupWaitMs,
      seq: 0,
      throttled: 0,
    };
  }
  let nextFlushAt = group.nextFlushAt;
  if (changed) {
    const earliest =
      group.lastNotifiedAt === undefined
        ? group.createdAt + ids.route.groupWaitMs
        : group.lastNotifiedAt + ids.route.groupIntervalMs;
    nextFlushAt = Math.min(nextFlushAt, Math.max(now, earliest));
  }
  return { ...group, alerts: { ...group.alerts, [input.key]: entry }, nextFlushAt };
}

/** What the flush needs to know about the world at `now` (all answered by the caller). */
export interface FlushEnv {
  /** Route is inside a mute time interval (or outside its active intervals). */
  readonly muted: boolean;
  /** Why an alert is hidden right now: a silence id, `inhibited`, or undefined. */
  hiddenBy(entry: AlertEntry): string | undefined;
  /**
   * True when the per-key throttle holds a *new* alert back (a firing one, or one that fired and
   * resolved before any notification).
   */
  throttled(entry: AlertEntry): boolean;
  /**
   * How many alerts the throttle held back (in any group) for the throttle keys of these alerts,
   * which are about to be announced as firing for the first time; each key counted once.
   */
  heldBack(entries: readonly AlertEntry[]): number;
}

export interface FlushResult {
  /** New state; undefined → delete the group (no alerts left). */
  readonly group: GroupState | undefined;
  readonly notification?: Notification;
  /**
   * Alerts announced for the first time: firing, or fired and ended before any notification
   * (their throttle keys must be updated).
   */
  readonly newlyNotified: readonly AlertEntry[];
  /**
   * New alerts the throttle held back in this flush (removed from the group): the caller adds
   * them to their throttle key's held-back count once the new group state is stored.
   */
  readonly heldBack: readonly AlertEntry[];
}

function view(e: AlertEntry, extra: Partial<AlertView> = {}): AlertView {
  return {
    key: e.key,
    status: e.status,
    labels: e.labels,
    finding: e.finding,
    startsAt: e.startsAt,
    ...(e.endsAt !== undefined ? { endsAt: e.endsAt } : {}),
    ...extra,
  };
}

/**
 * Decides whether a group notifies at `now` and what the notification holds.
 * Call when `now >= group.nextFlushAt` and no delivery is pending; otherwise returns the group unchanged.
 */
export function flushGroup(group: GroupState, route: Route, env: FlushEnv, now: number): FlushResult {
  if (now < group.nextFlushAt || group.pending) return { group, newlyNotified: [], heldBack: [] };
  const alerts: Record<string, AlertEntry> = { ...group.alerts };
  const entries = Object.values(alerts);

  if (env.muted) {
    for (const e of entries)
      if (e.status === 'firing' && e.notified === 'none' && !e.mutedWhileFiring)
        alerts[e.key] = { ...e, mutedWhileFiring: true };
    return {
      group: { ...group, alerts, nextFlushAt: now + route.groupIntervalMs },
      newlyNotified: [],
      heldBack: [],
    };
  }

  const firing: AlertEntry[] = [];
  const resolved: AlertEntry[] = [];
  const heldBack: AlertEntry[] = [];
  let hidden = 0;
  for (const e of entries) {
    if (endedUnseen(e)) {
      // Fired and ended before any notification: the only word anyone gets of it, so it is told
      // whatever send_resolved says (still subject to silences, inhibition and the throttle).
      // Hidden by a silence or inhibition right now: handled as one that fired while muted.
      if (env.hiddenBy(e) !== undefined) {
        if (route.sendResolved) resolved.push({ ...e, mutedWhileFiring: true });
        else delete alerts[e.key];
      } else if (env.throttled(e)) {
        heldBack.push(e);
        delete alerts[e.key];
      } else resolved.push(e);
      continue;
    }
    if (e.status === 'resolved') {
      if (route.sendResolved && (e.notified === 'firing' || e.mutedWhileFiring)) resolved.push(e);
      else delete alerts[e.key];
      continue;
    }
    if (env.hiddenBy(e) !== undefined) {
      hidden++;
      if (e.notified === 'none' && !e.mutedWhileFiring) alerts[e.key] = { ...e, mutedWhileFiring: true };
      continue;
    }
    if (e.notified === 'none' && env.throttled(e)) {
      heldBack.push(e);
      delete alerts[e.key];
      continue;
    }
    firing.push(e);
  }
  const hasNew = firing.some((e) => e.notified === 'none' || escalated(e));
  const repeatDue =
    group.lastNotifiedAt !== undefined && now >= group.lastNotifiedAt + route.repeatIntervalMs && firing.length > 0;
  const recheck = hidden > 0 ? now + route.groupIntervalMs : NEVER;

  if (!hasNew && resolved.length === 0 && !repeatDue) {
    // Nothing left (held-back alerts are counted on their throttle key, not here): delete the group.
    if (Object.keys(alerts).length === 0) return { group: undefined, newlyNotified: [], heldBack };
    const repeatAt =
      group.lastNotifiedAt !== undefined && firing.length > 0 ? group.lastNotifiedAt + route.repeatIntervalMs : NEVER;
    return {
      group: { ...group, alerts, nextFlushAt: Math.min(recheck, repeatAt) },
      newlyNotified: [],
      heldBack,
    };
  }
  const newlyNotified = [...firing.filter((e) => e.notified === 'none'), ...resolved.filter(endedUnseen)];

  const seq = group.seq + 1;
  const notification: Notification = {
    kind: 'alert',
    key: `${group.key}:${seq}`,
    groupKey: group.key,
    receiver: group.receiver,
    status: firing.length > 0 ? 'firing' : 'resolved',
    groupLabels: group.groupLabels,
    firing: firing.map((e) => view(e, escalated(e) && e.notifiedSeverity ? { escalatedFrom: e.notifiedSeverity } : {})),
    resolved: resolved.map((e) =>
      view(
        e,
        e.notified === 'firing' ? {} : endedUnseen(e) ? { endedBeforeNotification: true } : { mutedWhileFiring: true },
      ),
    ),
    throttled: group.throttled + env.heldBack(newlyNotified),
    createdAt: now,
  };
  for (const e of firing)
    if (e.notified === 'none' || e.mutedWhileFiring || e.notifiedSeverity !== e.finding.severity)
      alerts[e.key] = { ...e, notified: 'firing', notifiedSeverity: e.finding.severity, mutedWhileFiring: false };
  for (const e of resolved) delete alerts[e.key];
  const next: GroupState = {
    ...group,
    alerts,
    seq,
    throttled: 0,
    lastNotifiedAt: now,
    nextFlushAt: Math.min(recheck, firing.length > 0 ? now + route.repeatIntervalMs : NEVER),
  };
  return { group: next, notification, newlyNotified, heldBack };
}

/** True when a group holds nothing but a finished notification and can be deleted. */
export function groupIsEmpty(g: GroupState): boolean {
  return Object.keys(g.alerts).length === 0 && g.pending === undefined;
}
