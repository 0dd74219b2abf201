import type { Logger } from '../../../shared/src/logger.ts';
import type { Finding } from '../../../shared/src/model/finding.ts';
import type { AlertsConfig } from './config.ts';
import type { Clock } from './clock.ts';
import type { Deliverer } from './delivery.ts';
import { applyAlert, flushGroup, groupIsEmpty, type AlertEntry, type GroupState } from './group.ts';
import { isInhibited, type InhibitSource } from './inhibit.ts';
import { severityRank, type Severity } from '../../../shared/src/model/finding.ts';
import { findingLabels, labelsText, pickLabels, shortHash, type Labels } from './labels.ts';
import { buildRouteTree, indexRoutes, matchRoutes, type Route } from './route.ts';
import { silencedBy, type Silence } from './silences.ts';
import type { AlertStore, Versioned } from './store/types.ts';
import { createKeyLock } from './key-lock.ts';
import { afterNotify, holdBack, throttled, type ThrottleState } from './throttle.ts';
import { inTimeInterval } from './time-intervals.ts';

export interface EngineDeps {
  readonly config: AlertsConfig;
  readonly store: AlertStore;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly deliverer: Deliverer;
  /** Unique per process; used as the owner of claimed notifications. */
  readonly instanceId: string;
}

export interface Engine {
  /**
   * Routes findings into their aggregation groups and stores them (compare-and-set, retried
   * on conflicts with another instance). Idempotent: redelivered findings change nothing.
   * @throws AppError from the store when it is unavailable (the bus then redelivers the batch).
   */
  ingest(findings: readonly Finding[]): Promise<void>;
  /**
   * Flushes every group due at `clock.now()`: decides (pure core), claims the notification with
   * a compare-and-set so only one instance sends it, then starts delivery in the background.
   * Also takes over notifications whose claim lease expired (crashed instance).
   * @returns the number of notifications started.
   */
  tick(options?: { readonly search?: boolean }): Promise<number>;
  /** Resolves when every delivery started so far finished. */
  idle(): Promise<void>;
}

const MAX_CAS_RETRIES = 20;

/** The Alertmanager key of a group: receiver, route and grouped label values. */
export function groupKeyOf(route: Route, groupLabels: Labels): string {
  return `${route.receiver}:${route.id}:${shortHash(labelsText(groupLabels))}`;
}

/** Creates the alerts engine: route → group → (at flush) inhibit/silence/mute → throttle → notify. */
export function createEngine(deps: EngineDeps): Engine {
  const { config, store, clock, logger } = deps;
  const root = buildRouteTree(config);
  const routes = indexRoutes(root);
  const intervals = new Map(config.time_intervals.map((t) => [t.name, t]));
  const inFlight = new Map<string, Promise<void>>();
  const flushes = new Set<Promise<void>>();
  /** Due times of groups this instance wrote: found without waiting for a store search (ES refresh). */
  const hints = new Map<string, number>();
  const throttleLock = createKeyLock();

  let silenceCache: { at: number; list: Silence[] } | undefined;
  /** Silences, re-read at most once a second (a new silence takes effect within 1 s). */
  async function cachedSilences(now: number): Promise<Silence[]> {
    if (!silenceCache || now - silenceCache.at >= 1000 || now < silenceCache.at)
      silenceCache = { at: now, list: await store.listSilences() };
    return silenceCache.list;
  }

  const dueAtOf = (g: GroupState): number => (g.pending ? g.pending.claimedAt + config.delivery.lease : g.nextFlushAt);
  const throttleKey = (labels: Labels): string =>
    `throttle:${shortHash(labelsText(pickLabels(labels, config.throttle.key)))}`;

  function muted(route: Route, now: number): boolean {
    if (route.muteTimeIntervals.some((n) => intervals.get(n) && inTimeInterval(intervals.get(n)!, now))) return true;
    if (
      route.activeTimeIntervals.length > 0 &&
      !route.activeTimeIntervals.some((n) => intervals.get(n) && inTimeInterval(intervals.get(n)!, now))
    )
      return true;
    return false;
  }

  /**
   * Read-modify-write of one group with compare-and-set; `update` returns the new state, undefined
   * for "no change", or 'delete'. `known` (state + version the caller already holds) saves the
   * first read. @returns the stored state and version (undefined when deleted or absent).
   */
  async function updateGroup(
    key: string,
    update: (cur: GroupState | undefined) => GroupState | undefined | 'delete',
    known?: Versioned<GroupState>,
  ): Promise<Versioned<GroupState> | undefined> {
    let first: Versioned<GroupState> | undefined = known;
    for (let i = 0; i < MAX_CAS_RETRIES; i++) {
      const cur = first ?? (await store.getGroup(key));
      first = undefined;
      const next = update(cur?.value);
      if (next === undefined) return cur;
      if (next === 'delete') {
        if (!cur || (await store.deleteGroup(key, cur.version))) {
          hints.delete(key);
          return undefined;
        }
        continue;
      }
      if (cur && next === cur.value) return cur;
      const version = await store.putGroup(next, dueAtOf(next), cur?.version);
      if (version !== undefined) {
        hints.set(key, dueAtOf(next));
        return { value: next, version };
      }
    }
    throw new Error(`alerts: group ${key} kept changing under ${MAX_CAS_RETRIES} compare-and-set attempts`);
  }

  function startDelivery(g: GroupState, version: string): void {
    const pending = g.pending;
    if (!pending) return;
    const key = g.key;
    let known: Versioned<GroupState> | undefined = { value: g, version };
    // Renew the claim every lease/3 while delivering (a notification may wait behind a paced
    // destination longer than one lease); another instance takes over only if this one stops renewing.
    const renewal = new AbortController();
    const renewLoop = (async () => {
      for (;;) {
        try {
          await clock.sleep(Math.max(1000, config.delivery.lease / 3), renewal.signal);
        } catch {
          return;
        }
        try {
          known = await updateGroup(
            key,
            (cur) => {
              if (!cur?.pending || cur.pending.notification.key !== pending.notification.key) return undefined;
              if (cur.pending.owner !== deps.instanceId) return undefined;
              return { ...cur, pending: { ...cur.pending, claimedAt: clock.now() } };
            },
            known,
          );
        } catch (err) {
          logger.warn({ err, group: key }, 'could not renew the delivery claim');
        }
      }
    })();
    const run = (async () => {
      try {
        const channelCount =
          config.receivers.find((r) => r.name === pending.notification.receiver)?.channels.length ?? 1;
        await deps.deliverer.deliver(pending.notification, pending.done, async (index) => {
          // Per-channel progress matters only when a receiver has several channels (crash recovery
          // must not resend the ones already done); with one channel the final update says it all.
          if (channelCount <= 1) return;
          known = await updateGroup(
            key,
            (cur) => {
              if (!cur?.pending || cur.pending.notification.key !== pending.notification.key) return undefined;
              return { ...cur, pending: { ...cur.pending, done: [...cur.pending.done, index] } };
            },
            known,
          );
        });
        await updateGroup(
          key,
          (cur) => {
            if (!cur?.pending || cur.pending.notification.key !== pending.notification.key) return undefined;
            const { pending: _done, ...rest } = cur;
            return groupIsEmpty(rest) ? 'delete' : rest;
          },
          known,
        );
      } catch (err) {
        logger.error({ err, group: key }, 'delivery bookkeeping failed; the claim lease will let it be retried');
      } finally {
        renewal.abort();
        await renewLoop;
        inFlight.delete(key);
      }
    })();
    inFlight.set(key, run);
  }

  /**
   * Flushes one group at `now`: takes over an expired claim, or decides (pure `flushGroup`) and
   * claims the notification with a compare-and-set, then starts its delivery.
   * @returns 1 when a delivery started, else 0.
   */
  async function flushOne(
    key: string,
    now: number,
    sil: readonly Silence[],
    src: readonly InhibitSource[],
    known?: Versioned<GroupState>,
  ): Promise<number> {
    if (inFlight.has(key)) return 0;
    hints.delete(key);
    const cur = known ?? (await store.getGroup(key));
    if (!cur) return 0;
    const g = cur.value;
    if (g.pending) {
      // Taken over only when the claimant's lease expired (it crashed or hung).
      if (g.pending.claimedAt + config.delivery.lease > now) return 0;
      const next: GroupState = { ...g, pending: { ...g.pending, owner: deps.instanceId, claimedAt: now } };
      const v = await store.putGroup(next, dueAtOf(next), cur.version);
      if (v !== undefined) {
        logger.warn(
          { group: key, notification: g.pending.notification.key, previousOwner: g.pending.owner },
          'taking over an unfinished delivery',
        );
        startDelivery(next, v);
        return 1;
      }
      return 0;
    }
    const route = routes.get(g.routeId) ?? root;
    // Throttle keys of the group's new alerts: their state (window + held-back count, shared with
    // other groups) is read and written under a per-key lock, so concurrent flushes of one tick
    // neither all pass the throttle nor lose a held-back count.
    const keys = new Set<string>();
    if (config.throttle.realert > 0)
      for (const e of Object.values(g.alerts))
        // New alerts: firing ones, and ones that fired and ended before any notification.
        if (e.notified === 'none' && (e.status === 'firing' || !e.mutedWhileFiring)) keys.add(throttleKey(e.labels));
    return throttleLock.run(keys, () => flushLocked(key, g, cur.version, route, keys, now, sil, src));
  }

  /** The decision and writes of `flushOne`, holding the throttle keys `keys`. */
  async function flushLocked(
    key: string,
    g: GroupState,
    version: string,
    route: Route,
    keys: ReadonlySet<string>,
    now: number,
    sil: readonly Silence[],
    src: readonly InhibitSource[],
  ): Promise<number> {
    const throttleStates = new Map<string, ThrottleState | undefined>();
    for (const tk of keys) throttleStates.set(tk, await store.getThrottle(tk));
    const res = flushGroup(
      g,
      route,
      {
        muted: muted(route, now),
        hiddenBy: (e: AlertEntry) =>
          silencedBy(e.labels, sil, now) ??
          (isInhibited(e.key, e.labels, src, config.inhibit_rules) ? 'inhibited' : undefined),
        throttled: (e: AlertEntry) => throttled(throttleStates.get(throttleKey(e.labels)), now, e.finding.severity),
        heldBack: (entries: readonly AlertEntry[]) =>
          [...new Set(entries.map((e) => throttleKey(e.labels)))].reduce(
            (n, tk) => n + (throttleStates.get(tk)?.heldBack ?? 0),
            0,
          ),
      },
      now,
    );
    /** Adds this flush's held-back alerts to their keys' counts (only after the group write won). */
    const countHeldBack = async (): Promise<void> => {
      const perKey = new Map<string, number>();
      for (const e of res.heldBack) perKey.set(throttleKey(e.labels), (perKey.get(throttleKey(e.labels)) ?? 0) + 1);
      for (const [tk, n] of perKey) {
        const st = throttleStates.get(tk);
        if (st) await store.putThrottle(tk, holdBack(st, n));
      }
    };
    if (!res.notification) {
      if (res.group === undefined) {
        if (await store.deleteGroup(key, version)) await countHeldBack();
      } else if (res.group !== g && (await store.putGroup(res.group, dueAtOf(res.group), version))) {
        hints.set(key, dueAtOf(res.group));
        await countHeldBack();
      } else if (res.group === g) hints.set(key, dueAtOf(g));
      return 0;
    }
    const claimed: GroupState = {
      ...(res.group ?? g),
      pending: { notification: res.notification, owner: deps.instanceId, claimedAt: now, done: [] },
    };
    const claimedVersion = await store.putGroup(claimed, dueAtOf(claimed), version);
    if (claimedVersion === undefined) return 0; // another instance claimed it
    hints.set(key, dueAtOf(claimed));
    logger.debug(
      {
        group: key,
        notification: res.notification.key,
        firing: res.notification.firing.length,
        resolved: res.notification.resolved.length,
      },
      'notification claimed',
    );
    await countHeldBack();
    // One throttle update per key, remembering the highest severity announced for it.
    const announced = new Map<string, Severity>();
    for (const e of res.newlyNotified) {
      const tk = throttleKey(e.labels);
      const was = announced.get(tk);
      if (was === undefined || severityRank(e.finding.severity) > severityRank(was))
        announced.set(tk, e.finding.severity);
    }
    if (config.throttle.realert > 0)
      for (const [tk, severity] of announced) {
        const st = afterNotify(
          throttleStates.get(tk),
          now,
          config.throttle.realert,
          config.throttle.max_realert,
          severity,
        );
        if (st) await store.putThrottle(tk, st);
      }
    startDelivery(claimed, claimedVersion);
    return 1;
  }

  return {
    async ingest(findings) {
      const now = clock.now();
      const buckets = new Map<
        string,
        { route: Route; groupLabels: Labels; inputs: { key: string; labels: Labels; finding: Finding }[] }
      >();
      for (const f of findings) {
        const labels = findingLabels(f);
        for (const route of matchRoutes(root, labels)) {
          const groupLabels = route.groupBy.includes('...') ? labels : pickLabels(labels, route.groupBy);
          const key = groupKeyOf(route, groupLabels);
          let b = buckets.get(key);
          if (!b) buckets.set(key, (b = { route, groupLabels, inputs: [] }));
          b.inputs.push({ key: f.id, labels, finding: f });
        }
      }
      const stored = await Promise.all(
        [...buckets.entries()].map(([key, b]) =>
          updateGroup(key, (cur) => {
            let g = cur;
            for (const input of b.inputs)
              g = applyAlert(g, { key, route: b.route, groupLabels: b.groupLabels }, input, now);
            return g === cur ? undefined : g;
          }),
        ),
      );
      // Groups already due (group_wait 0, or a change after group_interval) flush right away from
      // the state just written — no re-read, no waiting for the next tick.
      const due = stored.filter(
        (v): v is Versioned<GroupState> => !!v && !v.value.pending && v.value.nextFlushAt <= now,
      );
      if (due.length > 0) {
        const run = (async () => {
          try {
            const sil = await cachedSilences(now);
            const src: InhibitSource[] = config.inhibit_rules.length > 0 ? await store.firingAlerts() : [];
            await Promise.all(due.map((v) => flushOne(v.value.key, now, sil, src, v)));
          } catch (err) {
            logger.error({ err }, 'immediate flush failed; the next tick retries');
          }
        })();
        flushes.add(run);
        void run.finally(() => flushes.delete(run));
      }
    },

    async tick(options = {}) {
      const now = clock.now();
      // The store search finds groups written by other instances (or before a restart); groups this
      // instance wrote are found through `hints` without waiting for a search to see them.
      const due = new Set(options.search === false ? [] : await store.dueGroups(now, 1000));
      for (const [k, at] of hints) if (at <= now) due.add(k);
      if (due.size === 0) return 0;
      const sil = await cachedSilences(now);
      const src: InhibitSource[] = config.inhibit_rules.length > 0 ? await store.firingAlerts() : [];
      // Groups are independent: flush up to 8 at a time (store round trips overlap).
      const keys = [...due];
      let started = 0;
      const worker = async (): Promise<void> => {
        for (let k = keys.shift(); k !== undefined; k = keys.shift()) started += await flushOne(k, now, sil, src);
      };
      await Promise.all(Array.from({ length: Math.min(8, keys.length) }, worker));
      return started;
    },

    async idle() {
      while (inFlight.size > 0 || flushes.size > 0) await Promise.all([...inFlight.values(), ...flushes]);
    },
  };
}
