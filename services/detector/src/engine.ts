import { IdentityProfile, ProfileArena, type ProfileSnapshot } from './baseline/identity-profile.ts';
import type { DetectorEvent } from './event.ts';
import { clientFamily, networkOf } from './event.ts';
import type { Detection } from './findings.ts';
import { HashSet32 } from './hash-set.ts';
import { markSeen } from './state/seen.ts';
import { RecentKeys } from './state/recent-keys.ts';
import type { ActiveRule } from './rules/types.ts';
import { EVENT_ACTIONS } from '../../../shared/src/model/registry-event.ts';
import { assertTimeZone } from './time.ts';
import { openBucket, type HourBucket, type IdentityState, type RegistryHour } from './state/types.ts';
import { countRepoPull, repoEntries, setRepoCount } from './state/repo-counts.ts';
import type { DetectionSettings, EngineView } from './state/view.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const POP_SIZE = 2048;
const NO_DETECTIONS: readonly Detection[] = Object.freeze([]);
/** Event time (ms) between two `onAdvance` calls from `process()`. */
const TICK_MS = 1000;
/** The empty value lists of a new bucket (frozen: a push to it would throw, not corrupt others). */
const NO_VALUES = Object.freeze([]) as unknown as never[];

/** What the per-event path needs to know about one `event.action` (built once per engine). */
interface ActionPlan {
  /** Rules with an observe hook that look at this action, in registry order. */
  readonly observers: readonly ActiveRule[];
  /** Per observer, its `onlyWhenChanged` gate: GATE_NONE, or the CHANGED_* bit it waits for. */
  readonly gates: Uint8Array;
  /** `ping` / `auth-challenge`: not counted as identity activity. */
  readonly noise: boolean;
  /** Manifest or blob GET: counts towards distinct repositories. */
  readonly pull: boolean;
}
/** One rule-owned state value with its last use (event time, ms) and time to live (ms). */
export interface KeyedEntry {
  v: unknown;
  touched: number;
  ttl: number;
}

/** Actions outside EVENT_ACTIONS: counted, observed by no rule. */
const OTHER_ACTION: ActionPlan = { observers: [], gates: new Uint8Array(0), noise: false, pull: false };
/** Bits of `DetectorEngine.changedFields`: the event's IP / client / namespace differs from the identity's last one. */
const CHANGED_IP = 1;
const CHANGED_UA = 2;
const CHANGED_NS = 4;
/** Observer gates (DetectionRule.onlyWhenChanged): none, or the CHANGED_* bit the rule waits for. */
const GATE_NONE = 0;
const GATES = { ip: CHANGED_IP, userAgent: CHANGED_UA, namespace: CHANGED_NS } as const;

export interface EngineStats {
  events: number;
  duplicates: number;
  lateEvents: number;
  detections: number;
  /**
   * Second sources of a request (`http.request.id`): dropped here when the request was already
   * counted; the live service adds the ones its request join merged (see service.ts).
   */
  joined: number;
}

/** One identity's activity in one hour, as aggregated outside the engine (Elasticsearch). */
export interface HourAggregate {
  identity: string;
  kind?: IdentityState['kind'];
  /** Image pulls (count). */
  pulls: number;
  /** Blob bytes downloaded. */
  bytes: number;
  /** Distinct repositories pulled from. */
  repos: number;
  /** All events. */
  events: number;
  topRepositories?: [string, number][];
}

/** Serializable engine state (JSON). `meta` is the caller's (e.g. committed offsets). */
export interface EngineSnapshot {
  version: 1;
  maxTs: number;
  nextHour: number;
  identities: {
    id: string;
    kind: IdentityState['kind'];
    firstSeen: number;
    lastSeen: number;
    activeDays: number;
    lastActiveDay: number;
    profile: ProfileSnapshot;
    seen: string;
    seenCounts: [number, number, number];
    reposMax: number;
    reposLevel: number;
    buckets: (Omit<HourBucket, 'repoList' | 'repoIndex' | 'early' | 'lastRepo' | 'lastRepoAt' | 'sampleCount'> & {
      repoCounts: [string, number][];
      early: [string, number][];
    })[];
  }[];
  keyed: [string, KeyedEntry][];
  registryHours: RegistryHour[];
  population: { pulls: number[]; bytes: number[]; repos: number[] };
  recentIds: string[];
  stats: EngineStats;
  meta: Record<string, unknown>;
}

const setToB64 = (s: HashSet32): string =>
  Buffer.from(s.raw().buffer, s.raw().byteOffset, s.raw().byteLength).toString('base64');
const setFromB64 = (b: string): HashSet32 => {
  const bytes = Buffer.from(b, 'base64');
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  return new HashSet32(8, new Uint32Array(copy.buffer));
};

/** Counts `v` in a short [value, count, value, count, …] list (IPs/UAs per identity-hour are few). */
function tally(list: (string | number)[], v: string): void {
  for (let i = 0; i < list.length; i += 2) {
    if (list[i] === v) {
      list[i + 1] = (list[i + 1] as number) + 1;
      return;
    }
  }
  if (list.length < 64) list.push(v, 1);
}

/** [ruleId, threshold] pairs of a bucket's flat early-fire list (snapshot format). */
function earlyPairs(early: (string | number)[] | undefined): [string, number][] {
  const out: [string, number][] = [];
  if (early) for (let i = 0; i < early.length; i += 2) out.push([early[i] as string, early[i + 1] as number]);
  return out;
}

/** Removes `bucket` from an identity's open buckets in place (no new array per closed hour). */
function removeBucket(st: IdentityState, bucket: HourBucket): void {
  if (st.lastBucket === bucket) st.lastBucket = undefined;
  const buckets = st.buckets;
  let j = 0;
  for (let i = 0; i < buckets.length; i++) if (buckets[i] !== bucket) buckets[j++] = buckets[i]!;
  buckets.length = j;
}

function quantile(xs: readonly number[], q: number): number | undefined {
  if (xs.length < 20) return undefined;
  const a = xs.slice().sort((x, y) => x - y);
  return a[Math.min(a.length - 1, Math.floor(q * a.length))];
}

/**
 * The streaming detector core: consumes DetectorEvents in (approximate) event-time order and
 * returns Detections. Pure and synchronous — no I/O, no clock: time is the event-time watermark
 * (newest event time − allowed lateness). Responsibilities:
 * - duplicate suppression by `event.id` (bounded memory of recent ids, kept in snapshots), and
 *   one count per HTTP request when its notification and its log line both arrive (same
 *   `http.request.id`, different dataset; the first one counts);
 * - per identity, hour buckets in event time; an hour closes when the watermark passes its end,
 *   then rules judge it and the identity's seasonal profile learns it (zero-filling idle hours);
 * - events for an hour that already closed go to a *late bucket* of their own hour: judged alone,
 *   never merged into the current hour, never re-teaching the baseline;
 * - first-seen sets, last-seen, population reservoirs for the peer fallback;
 * - `snapshot()` / `fromSnapshot()` so a restart neither forgets nor double counts.
 */
export class DetectorEngine implements EngineView {
  readonly settings: DetectionSettings;
  readonly stats: EngineStats = { events: 0, duplicates: 0, lateEvents: 0, detections: 0, joined: 0 };
  private readonly rules: readonly ActiveRule[];
  /** Rules with an `onAdvance` hook (window rules resolving bursts). */
  private readonly tickers: readonly ActiveRule[];
  /** Event time at which `process()` next calls the `onAdvance` hooks. */
  private tickAt = -Infinity;
  /** Per event.action: observing rules and flags (built once: one lookup per event). */
  private readonly plans = new Map<string, ActionPlan>();
  /** The identity of the previous event (clients send runs of requests: a pull is a manifest and its layers). */
  private lastIdentity: IdentityState | undefined;
  private readonly identities = new Map<string, IdentityState>();
  /** Storage of the identities' seasonal profiles. */
  private readonly profiles = new ProfileArena();
  /** Open hours: epoch hour → every identity's bucket of it, in creation order. */
  private readonly openHours = new Map<number, { bucket: HourBucket; identity: IdentityState }[]>();
  private readonly lateBuckets = new Map<string, { bucket: HourBucket; identity: IdentityState }>();
  private readonly registryHours = new Map<number, RegistryHour>();
  /** The registry hour the previous counted request went to (events come in time order). */
  private lastRegistryHour: RegistryHour | undefined;
  /** Scratch [pulls, bytes] handed to IdentityProfile.closeHour (read synchronously, not kept). */
  private readonly hourValues = [0, 0];
  /** Rule-owned state: rule id → key → entry (no key strings built per lookup). */
  private readonly keyedState = new Map<string, Map<string, KeyedEntry>>();
  private readonly pop: { pulls: number[]; bytes: number[]; repos: number[] } = { pulls: [], bytes: [], repos: [] };
  private popCache: Partial<Record<'pulls' | 'bytes' | 'repos', number | undefined>> = {};
  /** Recent `event.id`s (duplicate suppression). */
  private readonly recentIds: RecentKeys<never>;
  /** Recent `http.request.id` → dataset, to count a request once across notification and log. */
  private readonly recentRequests: RecentKeys<string>;
  private readonly ciRe: RegExp;
  private readonly zoneRes: { re: RegExp; zone: string }[];
  private readonly teamRes: { re: RegExp; namespaces: readonly string[] }[];
  private readonly nsOwner = new Map<string, string>();
  private maxTs = -Infinity;
  private nextHour = -1;
  meta: Record<string, unknown> = {};

  /** @throws RangeError on an invalid IANA zone in the settings; SyntaxError on a bad regex. */
  constructor(settings: DetectionSettings, rules: readonly ActiveRule[], options: { recentIds?: number } = {}) {
    this.settings = settings;
    this.rules = rules;
    this.tickers = rules.filter((r) => r.rule.onAdvance);
    for (const action of EVENT_ACTIONS) {
      const observers = rules.filter((r) => r.rule.observe && (!r.rule.actions || r.rule.actions.includes(action)));
      this.plans.set(action, {
        observers,
        gates: Uint8Array.from(observers, (r) => (r.rule.onlyWhenChanged ? GATES[r.rule.onlyWhenChanged] : GATE_NONE)),
        noise: action === 'ping' || action === 'auth-challenge',
        pull: action === 'manifest-pull' || action === 'blob-pull',
      });
    }
    const capacity = options.recentIds ?? 50_000;
    this.recentIds = new RecentKeys(capacity);
    this.recentRequests = new RecentKeys(capacity);
    this.ciRe = new RegExp(settings.ciPattern);
    assertTimeZone(settings.defaultZone);
    this.zoneRes = settings.zoneGroups.map((g) => {
      assertTimeZone(g.zone);
      return { re: new RegExp(g.pattern), zone: g.zone };
    });
    this.teamRes = settings.teams.map((t) => ({ re: new RegExp(t.members), namespaces: t.namespaces }));
    for (const t of settings.teams) for (const ns of t.namespaces) this.nsOwner.set(ns, t.name);
  }

  // ---- EngineView -------------------------------------------------------------------------

  keyed<T>(ruleId: string, key: string, init: () => T, ttlMs = DAY): T {
    const m = this.keyedOf(ruleId);
    let e = m.get(key);
    if (!e) {
      e = { v: init(), touched: this.maxTs, ttl: ttlMs };
      m.set(key, e);
    } else e.touched = this.maxTs;
    return e.v as T;
  }

  peek<T>(ruleId: string, key: string): T | undefined {
    return this.keyedState.get(ruleId)?.get(key)?.v as T | undefined;
  }

  private keyedOf(ruleId: string): Map<string, KeyedEntry> {
    let m = this.keyedState.get(ruleId);
    if (!m) this.keyedState.set(ruleId, (m = new Map()));
    return m;
  }

  identity(id: string): IdentityState | undefined {
    return this.identities.get(id);
  }

  isCi(identity: string): boolean {
    return this.ciRe.test(identity);
  }

  teamNamespaces(identity: string): readonly string[] | undefined {
    return this.teamRes.find((t) => t.re.test(identity))?.namespaces;
  }

  ownedBy(namespace: string): string | undefined {
    return this.nsOwner.get(namespace);
  }

  populationP99(metric: 'pulls' | 'bytes' | 'repos'): number | undefined {
    if (!(metric in this.popCache)) this.popCache[metric] = quantile(this.pop[metric], 0.99);
    return this.popCache[metric];
  }

  isWarm(identity: IdentityState, now: number): boolean {
    return now - identity.firstSeen >= this.settings.warmupDays * DAY && identity.activeDays >= 3;
  }

  // ---- processing -------------------------------------------------------------------------

  /** Number of identities with state. */
  get identityCount(): number {
    return this.identities.size;
  }

  /** Newest event time seen (ms), -Infinity before the first event. */
  get newestEventTime(): number {
    return this.maxTs;
  }

  /** Processes one event; returns the detections it (and the hours it closed) produced. */
  process(ev: DetectorEvent): readonly Detection[] {
    if (!this.recentIds.addIfAbsent(ev.id)) {
      this.stats.duplicates++;
      return NO_DETECTIONS;
    }
    if (ev.requestId !== undefined) {
      // The same HTTP request seen from another source (notification vs log line): count once.
      const ds = this.recentRequests.getOrAdd(ev.requestId, ev.dataset);
      if (ds !== undefined && ds !== ev.dataset) {
        this.stats.joined++;
        return NO_DETECTIONS;
      }
    }
    this.stats.events++;
    let out: Detection[] | undefined;
    if (ev.ts > this.maxTs) {
      const boundary = Math.floor((ev.ts - this.settings.allowedLatenessMs) / HOUR);
      this.maxTs = ev.ts;
      if (boundary > this.nextHour || this.lateBuckets.size) {
        out = [];
        this.closeUpTo(ev.ts - this.settings.allowedLatenessMs, out);
      }
      if (ev.ts >= this.tickAt) out = this.tick(ev.ts - this.settings.allowedLatenessMs, out);
    }
    const st = this.identityFor(ev);
    const changed = this.changedFields(ev, st);
    const hour = Math.floor(ev.ts / HOUR);
    const plan = this.plans.get(ev.action) ?? OTHER_ACTION;
    if (!plan.noise) this.count(ev, st, hour, plan.pull);
    if (ev.status !== undefined) this.countRegistry(ev, hour);
    const now = this.maxTs;
    const observers = plan.observers;
    const gates = plan.gates;
    for (let i = 0; i < observers.length; i++) {
      // Rules about a new IP / client / namespace are not called while it repeats the last one.
      const g = gates[i]!;
      if (g !== GATE_NONE && (changed & g) === 0) continue;
      const r = observers[i]!;
      const d = r.rule.observe!(ev, st, this, r.params, now);
      if (d.length) (out ??= []).push(...d);
    }
    this.learnEvent(ev, st, plan.noise, changed);
    if (!out || out.length === 0) return NO_DETECTIONS;
    this.stats.detections += out.length;
    return out;
  }

  /** Advances the watermark to `ts` (ms) without an event (idle input, end of a batch). */
  advance(ts: number): Detection[] {
    const out: Detection[] = [];
    if (ts > this.maxTs) this.maxTs = ts;
    this.tick(this.maxTs - this.settings.allowedLatenessMs, out);
    this.closeUpTo(this.maxTs - this.settings.allowedLatenessMs, out);
    this.stats.detections += out.length;
    return out;
  }

  /** Closes every open hour and ends what rules keep open (`onAdvance` at +Infinity): end of a finite input. */
  flush(): Detection[] {
    const out: Detection[] = [];
    this.tick(Infinity, out);
    if (Number.isFinite(this.maxTs)) this.closeUpTo(this.maxTs + HOUR, out);
    this.stats.detections += out.length;
    return out;
  }

  private identityFor(ev: DetectorEvent): IdentityState {
    let st = this.lastIdentity;
    if (st === undefined || st.id !== ev.identity) {
      st = this.identities.get(ev.identity);
      if (!st) {
        st = this.newIdentity(ev.identity, ev.actorKind, this.zoneOf(ev.identity), ev.ts);
        this.identities.set(ev.identity, st);
      }
      this.lastIdentity = st;
    }
    if (ev.ts < st.firstSeen) st.firstSeen = ev.ts;
    return st;
  }

  /**
   * The IANA zone of an identity: the first zone group whose pattern matches it, else the default.
   * A method of its own, without a closure: a closure over identityFor's `ev` made V8 allocate a
   * context for it on every event, not only for new identities.
   */
  private zoneOf(identity: string): string {
    for (const z of this.zoneRes) if (z.re.test(identity)) return z.zone;
    return this.settings.defaultZone;
  }

  /**
   * Compares the event's IP, user agent and namespace with the identity's last ones, once per
   * event: CHANGED_* bits for the values that are present and differ. The observer gates and
   * learnEvent read these bits instead of comparing again (every string of a parsed message is a
   * new object, so each comparison with a stored string compares contents).
   */
  private changedFields(ev: DetectorEvent, st: IdentityState): number {
    let changed = 0;
    if (ev.ip && ev.ip !== st.lastIp) changed = CHANGED_IP;
    if (ev.userAgent && ev.userAgent !== st.lastUserAgent) changed |= CHANGED_UA;
    if (ev.namespace && ev.namespace !== st.lastNamespace) changed |= CHANGED_NS;
    return changed;
  }

  private newIdentity(id: string, kind: IdentityState['kind'], zone: string, firstSeen: number): IdentityState {
    return {
      id,
      kind,
      zone,
      firstSeen,
      lastSeen: -Infinity,
      activeDays: 0,
      lastActiveDay: -1,
      profile: new IdentityProfile(undefined, this.profiles),
      seen: new HashSet32(8),
      seenCounts: [0, 0, 0],
      reposMax: 0,
      reposLevel: 0,
      lastNamespace: undefined,
      lastIp: undefined,
      lastUserAgent: undefined,
      buckets: [],
      lastBucket: undefined,
    };
  }

  private newBucket(hour: number, late: boolean): HourBucket {
    return {
      hour,
      pulls: 0,
      bytes: 0,
      events: 0,
      repos: 0,
      // Shared until the first value: the first one replaces an empty list, never pushes to it.
      repoList: NO_VALUES,
      repoIndex: undefined,
      lastRepo: undefined,
      lastRepoAt: -1,
      ips: NO_VALUES,
      userAgents: NO_VALUES,
      samples: NO_VALUES,
      sampleCount: 0,
      late,
      early: undefined,
    };
  }

  private count(ev: DetectorEvent, st: IdentityState, hour: number, pull: boolean): void {
    let bucket: HourBucket | undefined;
    if (hour < this.nextHour) {
      this.stats.lateEvents++;
      const key = `${st.id}\u0000${hour}`;
      let lb = this.lateBuckets.get(key);
      if (!lb) {
        lb = { bucket: this.newBucket(hour, true), identity: st };
        this.lateBuckets.set(key, lb);
      }
      bucket = lb.bucket;
    } else {
      bucket = openBucket(st, hour);
      if (!bucket) {
        bucket = this.newBucket(hour, false);
        if (st.buckets.length === 0) st.buckets = [bucket];
        else st.buckets.push(bucket);
        this.openItem(bucket, st);
      }
      st.lastBucket = bucket;
    }
    bucket.events++;
    if (ev.imagePull) bucket.pulls++;
    const ok = ev.outcome !== 'failure';
    if (ok && ev.action === 'blob-pull') bucket.bytes += ev.bytes;
    // C12, one format counts: access-log lines repeat app-log requests (no request id to join).
    if (pull && ok && ev.repository && !ev.head && ev.dataset !== 'oci_registry.access') {
      countRepoPull(bucket, ev.repository);
    }
    // First value of each list as an exact-size literal: most identity-hours see one IP and one
    // client, and a bucket lives for an hour (long enough to be promoted to the old generation).
    if (ev.ip) {
      if (bucket.ips.length === 0) bucket.ips = [ev.ip, 1];
      else tally(bucket.ips, ev.ip);
    }
    if (ev.userAgent) {
      if (bucket.userAgents.length === 0) bucket.userAgents = [ev.userAgent, 1];
      else tally(bucket.userAgents, ev.userAgent);
    }
    const ns = bucket.sampleCount;
    if (ns < 5 && (ev.imagePull || ns < 2)) {
      // push, not concat (a generic builtin, and a new array per sample); the first push grows the
      // literal once.
      if (ns === 0) bucket.samples = [ev.id];
      else bucket.samples.push(ev.id);
      bucket.sampleCount = ns + 1;
    }
  }

  /** Registers a new open bucket for its hour's close. */
  private openItem(bucket: HourBucket, identity: IdentityState): void {
    const items = this.openHours.get(bucket.hour);
    if (items) items.push({ bucket, identity });
    else this.openHours.set(bucket.hour, [{ bucket, identity }]);
  }

  private countRegistry(ev: DetectorEvent, hour: number): void {
    if (ev.status === undefined) return;
    const isPull = ev.action === 'manifest-pull' || (ev.action === 'other' && ev.repository !== undefined && !ev.head);
    const isAuth = ev.action === 'login-failure' || ev.action === 'login-success' || ev.action === 'auth-challenge';
    if (!isPull && !isAuth) return;
    let rh = this.lastRegistryHour;
    if (rh === undefined || rh.hour !== hour) {
      rh = this.registryHours.get(hour);
      if (!rh) {
        rh = { hour, pullRequests: 0, pullFailures: 0, pullLatencyMs: [], authLatencyMs: [], failureSamples: [] };
        this.registryHours.set(hour, rh);
      }
      this.lastRegistryHour = rh;
    }
    const ms = ev.durationNs !== undefined ? ev.durationNs / 1e6 : undefined;
    if (isPull && ev.action === 'manifest-pull') {
      rh.pullRequests++;
      if (ev.status >= 500 || ev.status === 429) {
        rh.pullFailures++;
        if (rh.failureSamples.length < 5) rh.failureSamples.push(ev.id);
      }
      if (ms !== undefined && rh.pullLatencyMs.length < 50_000) rh.pullLatencyMs.push(ms);
    } else if (isAuth && ms !== undefined && rh.authLatencyMs.length < 50_000) rh.authLatencyMs.push(ms);
  }

  /** `changed`: changedFields' CHANGED_* bits for this event. */
  private learnEvent(ev: DetectorEvent, st: IdentityState, noise: boolean, changed: number): void {
    if (ev.ts > st.lastSeen) st.lastSeen = ev.ts;
    if (noise || ev.outcome === 'failure') return;
    const day = Math.floor(ev.ts / DAY);
    if (day > st.lastActiveDay) {
      st.lastActiveDay = day;
      st.activeDays++;
    }
    if (ev.actorKind !== 'anonymous') st.kind = ev.actorKind;
    // Fast path: most events repeat the identity's previous namespace, IP and client.
    if (changed === 0) return;
    if (changed & CHANGED_NS && !ev.head) {
      markSeen(st, 'namespace', ev.namespace!);
      st.lastNamespace = ev.namespace;
    }
    if (changed & CHANGED_IP) {
      markSeen(st, 'network', networkOf(ev.ip!));
      st.lastIp = ev.ip;
    }
    if (changed & CHANGED_UA) {
      markSeen(st, 'client', clientFamily(ev.userAgent).family);
      st.lastUserAgent = ev.userAgent;
    }
  }

  /**
   * Calls the rules' `onAdvance` hooks with the watermark `now` (ms). From `process()` at most
   * once per TICK_MS of event time; rules without the hook cost nothing. Appends to `out` (created
   * only when a hook returns something) and returns it.
   */
  private tick(now: number, out: Detection[] | undefined): Detection[] | undefined {
    this.tickAt = this.maxTs + TICK_MS;
    const tickers = this.tickers;
    for (let i = 0; i < tickers.length; i++) {
      const r = tickers[i]!;
      const d = r.rule.onAdvance!(this, r.params, now);
      if (d.length) (out ??= []).push(...d);
    }
    return out;
  }

  private closeUpTo(watermark: number, out: Detection[]): void {
    const boundary = Math.floor(watermark / HOUR);
    if (this.nextHour < 0) {
      this.nextHour = boundary;
      return;
    }
    if (this.lateBuckets.size) this.closeLate(out);
    while (this.nextHour < boundary) {
      const h = this.nextHour;
      if (!this.openHours.has(h) && !this.registryHours.has(h)) {
        let next = boundary;
        for (const k of this.openHours.keys()) if (k > h && k < next) next = k;
        for (const k of this.registryHours.keys()) if (k > h && k < next) next = k;
        this.nextHour = next;
        continue;
      }
      this.closeHour(h, out);
      this.nextHour = h + 1;
    }
  }

  private closeLate(out: Detection[]): void {
    const now = this.maxTs;
    for (const lb of this.lateBuckets.values()) {
      for (const r of this.rules) if (r.rule.closeHour) out.push(...r.rule.closeHour([lb], this, r.params, now));
    }
    this.lateBuckets.clear();
  }

  private closeHour(hour: number, out: Detection[]): void {
    const now = this.maxTs;
    const items = this.openHours.get(hour) ?? [];
    this.openHours.delete(hour);
    if (items.length)
      for (const r of this.rules) if (r.rule.closeHour) out.push(...r.rule.closeHour(items, this, r.params, now));
    const rh = this.registryHours.get(hour);
    if (rh) {
      this.registryHours.delete(hour);
      if (this.lastRegistryHour === rh) this.lastRegistryHour = undefined;
      for (const r of this.rules)
        if (r.rule.closeRegistryHour) out.push(...r.rule.closeRegistryHour(rh, this, r.params, now));
    }
    this.learnHour(hour, items);
    if (hour % 24 === 0) this.sweep(now);
  }

  /** Teaches the closed hour to the identities' profiles and the population reservoirs. */
  private learnHour(hour: number, items: readonly { bucket: HourBucket; identity: IdentityState }[]): void {
    const values = this.hourValues;
    // Indexed: a for…of here runs cold (once per hour) and allocates an iterator result per bucket.
    for (let i = 0; i < items.length; i++) {
      const { bucket, identity } = items[i]!;
      values[0] = bucket.pulls;
      values[1] = bucket.bytes;
      identity.profile.closeHour(hour, values, identity.zone, bucket.events > 0);
      if (bucket.repos > 0) {
        identity.reposMax = Math.max(identity.reposMax, bucket.repos);
        identity.reposLevel = identity.reposLevel === 0 ? bucket.repos : identity.reposLevel * 0.9 + bucket.repos * 0.1;
      }
      if (bucket.pulls > 0) {
        this.pushPop('pulls', bucket.pulls);
        this.pushPop('bytes', bucket.bytes);
        this.pushPop('repos', bucket.repos);
      }
      removeBucket(identity, bucket);
    }
    this.popCache = {};
  }

  /**
   * Feeds one hour of per-identity aggregates (e.g. from an Elasticsearch composite aggregation)
   * instead of events: backfills baselines from history (`judge` false) or evaluates the hour
   * with every hourly rule (`judge` true) and then learns it. Hours must come in ascending order.
   * @returns the detections of the hour (none when `judge` is false).
   */
  ingestHour(hour: number, rows: readonly HourAggregate[], judge: boolean): Detection[] {
    const items: { bucket: HourBucket; identity: IdentityState }[] = [];
    const t = hour * HOUR;
    for (const r of rows) {
      let st = this.identities.get(r.identity);
      if (!st) {
        const zone = this.zoneOf(r.identity);
        st = this.newIdentity(r.identity, r.kind ?? (r.identity.startsWith('ip:') ? 'anonymous' : 'user'), zone, t);
        this.identities.set(r.identity, st);
      }
      if (t < st.firstSeen) st.firstSeen = t;
      if (t + HOUR - 1 > st.lastSeen) st.lastSeen = t + HOUR - 1;
      const day = Math.floor(t / DAY);
      if (r.events > 0 && day > st.lastActiveDay) {
        st.lastActiveDay = day;
        st.activeDays++;
      }
      const bucket = this.newBucket(hour, false);
      bucket.pulls = r.pulls;
      bucket.bytes = r.bytes;
      bucket.events = r.events;
      bucket.repos = r.repos;
      for (const [name, n] of r.topRepositories ?? []) setRepoCount(bucket, name, n);
      items.push({ bucket, identity: st });
    }
    if (t + HOUR > this.maxTs) this.maxTs = t + HOUR;
    const out: Detection[] = [];
    if (judge && items.length)
      for (const r of this.rules)
        if (r.rule.closeHour) out.push(...r.rule.closeHour(items, this, r.params, this.maxTs));
    this.learnHour(hour, items);
    if (this.nextHour <= hour) this.nextHour = hour + 1;
    this.stats.detections += out.length;
    return out;
  }

  private pushPop(metric: 'pulls' | 'bytes' | 'repos', v: number): void {
    const a = this.pop[metric];
    a.push(v);
    if (a.length > POP_SIZE) a.shift();
  }

  private sweep(now: number): void {
    // forEach, not for…of over entries: no [key, value] pair allocated per entry (deleting the
    // visited entry during forEach is allowed).
    for (const m of this.keyedState.values())
      m.forEach((e, k) => {
        if (now - e.touched > e.ttl) m.delete(k);
      });
  }

  /** Keyed state as [`<ruleId>\u0000<key>`, entry] pairs (the snapshot format), grouped by rule. */
  private keyedEntries(): [string, KeyedEntry][] {
    const out: [string, KeyedEntry][] = [];
    for (const [ruleId, m] of this.keyedState) for (const [k, e] of m) out.push([`${ruleId}\u0000${k}`, e]);
    return out;
  }

  // ---- snapshots --------------------------------------------------------------------------

  /** Serializable state; restore with `DetectorEngine.fromSnapshot`. */
  snapshot(): EngineSnapshot {
    return {
      version: 1,
      maxTs: this.maxTs,
      nextHour: this.nextHour,
      identities: [...this.identities.values()].map((s) => ({
        id: s.id,
        kind: s.kind,
        firstSeen: s.firstSeen,
        lastSeen: s.lastSeen,
        activeDays: s.activeDays,
        lastActiveDay: s.lastActiveDay,
        profile: s.profile.snapshot(),
        seen: setToB64(s.seen),
        seenCounts: s.seenCounts,
        reposMax: s.reposMax,
        reposLevel: s.reposLevel,
        buckets: s.buckets.map(
          ({ repoList: _l, repoIndex: _i, lastRepo: _r, lastRepoAt: _a, sampleCount: _n, ...b }, i) => ({
            ...b,
            repoCounts: repoEntries(s.buckets[i]!),
            early: earlyPairs(b.early),
          }),
        ),
      })),
      keyed: structuredClone(this.keyedEntries()),
      registryHours: structuredClone([...this.registryHours.values()]),
      population: structuredClone(this.pop),
      recentIds: this.recentIds.keysInOrder().slice(-10_000),
      stats: { ...this.stats },
      meta: structuredClone(this.meta),
    };
  }

  /** Rebuilds an engine from `snapshot()` output (same settings and rules expected). */
  static fromSnapshot(
    s: EngineSnapshot,
    settings: DetectionSettings,
    rules: readonly ActiveRule[],
    options: { recentIds?: number } = {},
  ): DetectorEngine {
    const e = new DetectorEngine(settings, rules, options);
    const json = (x: number | null): number => (x === null ? -Infinity : x);
    e.maxTs = json(s.maxTs as number | null);
    e.nextHour = s.nextHour;
    for (const i of s.identities) {
      const zone = e.zoneOf(i.id);
      const st: IdentityState = {
        id: i.id,
        kind: i.kind,
        zone,
        firstSeen: i.firstSeen,
        lastSeen: json(i.lastSeen as number | null),
        activeDays: i.activeDays,
        lastActiveDay: i.lastActiveDay,
        profile: new IdentityProfile(i.profile, e.profiles),
        seen: setFromB64(i.seen),
        seenCounts: [...i.seenCounts],
        reposMax: i.reposMax,
        reposLevel: i.reposLevel,
        lastNamespace: undefined,
        lastIp: undefined,
        lastUserAgent: undefined,
        lastBucket: undefined,
        buckets: i.buckets.map(({ repoCounts, ...b }) => {
          const bucket: HourBucket = {
            ...b,
            repoList: NO_VALUES,
            repoIndex: undefined,
            lastRepo: undefined,
            lastRepoAt: -1,
            // A copy: the engine appends to it, the snapshot stays the caller's.
            samples: b.samples.slice(),
            sampleCount: b.samples.length,
            early: b.early.length ? b.early.flatMap(([k, v]) => [k, v ?? Infinity]) : undefined,
          };
          for (const [name, n] of repoCounts) setRepoCount(bucket, name, n);
          return bucket;
        }),
      };
      e.identities.set(i.id, st);
      for (const b of st.buckets) e.openItem(b, st);
    }
    for (const [k, v] of s.keyed) {
      const at = k.indexOf('\u0000');
      e.keyedOf(k.slice(0, at)).set(k.slice(at + 1), v);
    }
    for (const rh of s.registryHours) e.registryHours.set(rh.hour, rh);
    e.pop.pulls.push(...s.population.pulls);
    e.pop.bytes.push(...s.population.bytes);
    e.pop.repos.push(...s.population.repos);
    for (const id of s.recentIds) e.recentIds.addIfAbsent(id);
    Object.assign(e.stats, s.stats);
    e.meta = s.meta;
    return e;
  }
}
