import type {
  MessageBus,
  Subscription,
  BusMessage,
  OutgoingMessage,
  Publisher,
} from '../../../shared/src/bus/types.ts';
import type { Logger } from '../../../shared/src/logger.ts';
import type { RegistryEvent } from '../../../shared/src/model/registry-event.ts';
import { TOPICS } from '../../../shared/src/topics.ts';
import { activeRules, type DetectionConfig } from './config.ts';
import { DetectorEngine } from './engine.ts';
import { toDetectorEvent, type DetectorEvent } from './event.ts';
import { RequestJoiner } from './pipeline/request-join.ts';
import { buildFinding, type Detection } from './findings.ts';
import type { DetectorHooks, FindingLabels } from './metrics.ts';
import type { DetectionSettings } from './state/view.ts';
import type { StateStore } from './state/store.ts';

export interface DetectorDeps {
  bus: MessageBus;
  store: StateStore;
  /** Processing-time clock (ms), used for `detected_at` only. */
  clock: () => number;
  config: DetectionConfig;
  logger: Logger;
  /** Topic names and consumer group (defaults: regwatch.events → regwatch.findings, group "detector"). */
  topics?: { events?: string; findings?: string };
  groupId?: string;
  /**
   * Partitions of `topics.events`/`topics.findings` when start-up creates them (KAFKA_TOPIC_PARTITIONS
   * in full mode; existing topics keep theirs). Default 1 (embedded mode, tests).
   */
  partitions?: number;
  /** Seeds a fresh engine (no saved state) from history, e.g. Elasticsearch hourly aggregates. */
  backfill?: (engine: DetectorEngine) => Promise<void>;
  /**
   * Request join, as `regwatch analyze` does it (pipeline/request-join.ts, live mode): the
   * notification and the log line of one HTTP request (same `http.request.id`) become one merged
   * event. All in ms: `windowMs` event-time window (default 5 000); processing-time (wall clock,
   * `Date.now`) waits: `holdMs` the shortest wait when the partner's source is absent or the log is
   * idle (default 2 000), `quietMs` notifications silence after which log lines stop waiting for
   * them (default 10 000), `maxHoldMs` the cap while a lagging source is still behind (default
   * 120 000); `maxHeld` events held at most (default 200 000).
   */
  join?: { windowMs?: number; holdMs?: number; quietMs?: number; maxHoldMs?: number; maxHeld?: number };
  /**
   * State checkpoints: the snapshot (engine state, processed offsets, held events) is saved when
   * `intervalMs` of processing time (wall clock) have passed since the last save and there is new
   * work — after a batch or by a timer when the stream goes quiet — and on stop; offsets are
   * committed to the consumer group only after the checkpoint that covers them. Default 5 000; 0
   * saves after every batch. A crash re-processes at most the events since the last checkpoint,
   * from the restored state: nothing lost, nothing counted twice. Budget: when a save takes long
   * (a snapshot of tens of thousands of identities is tens of MB of JSON), the next one waits at
   * least {@link CHECKPOINT_COST_FACTOR} × that save's duration, so checkpoints take at most ~10 %
   * of the time whatever the state size (not with 0: every batch stays every batch).
   */
  checkpoint?: { intervalMs?: number };
  /**
   * Event time on a quiet stream: when the newest event time has not moved for `advanceAfterMs` of
   * processing time (wall clock), the engine's watermark moves on by the wall-clock time elapsed
   * since it last moved, so open hours close, bursts end (resolved findings) and hourly judgements
   * happen while the registry is idle — not at its next request. Default 30 000; 0 = only events
   * move event time (replays of finite inputs, tests). Events that arrive later than the advanced
   * watermark minus the allowed lateness are counted as late (never dropped).
   */
  idle?: { advanceAfterMs?: number };
  /**
   * Observability hooks (metrics.ts `createDetectorMetrics` implements them): the live engine once
   * installed on start, invalid messages per batch, findings once the bus acknowledged them.
   * Never called per event.
   */
  metrics?: DetectorHooks;
}

export interface Detector {
  start(): Promise<void>;
  /**
   * Stops consuming (the in-flight batch finishes), idempotent. Events still waiting for their
   * request partner are saved with the state (not processed), so a restart joins them.
   */
  stop(): Promise<void>;
  /** The live engine (tests, scheduled jobs). */
  readonly engine: DetectorEngine;
  /** Number of events waiting for their request partner (not yet seen by the engine). */
  readonly held: number;
}

/**
 * The next checkpoint waits at least this many times the last save's duration (so saving takes at
 * most ~1/10 of the wall-clock time): at ~60k identities a save costs seconds of JSON and gzip.
 */
export const CHECKPOINT_COST_FACTOR = 10;

/**
 * The streaming detector (embedded and full mode): consumes normalized events from
 * `regwatch.events` (consumer group `detector`), runs the engine, publishes findings to
 * `regwatch.findings` with key `<entity.type>:<entity.id>`.
 *
 * Events pass through the same request join as `regwatch analyze` before the engine: a request
 * seen as a notification (user) and as a log line (status, bytes, latency) is counted once with
 * the fields of both — whichever arrives first, and although the two travel on different
 * partitions (the partition key is the identity, which only the notification knows) and a
 * registry's notifications can lag its log by tens of seconds. Each event waits for the source
 * its partner comes from (see RequestJoiner): until merged, until that source's event time is
 * `join.windowMs` past it, until that source is absent or silent, or at most `join.maxHoldMs`.
 * The processing-time conditions are checked on every batch and by a timer armed for the earliest
 * deadline (an idle stream never stalls detection; new batches do not postpone it). A partner
 * that arrives after its event was processed is dropped by the engine (counted once, not merged).
 *
 * Held events are consumed messages whose offsets are already past: they are part of the saved
 * state (`meta.heldEvents`, written in the same snapshot as `meta.offsets`), so after a restart
 * they are taken back, joined with partners that arrive then, and released by the timer — never
 * lost, never counted twice (a redelivered message at or below the saved offset is skipped).
 *
 * Per batch, in this order: skip messages at or below the saved offset of their partition (they
 * were counted before a restart — C24), join the rest and process the released events, publish
 * the findings (ids are stable, so re-processed events republish the same ids — harmless), then
 * checkpoint when due (`checkpoint.intervalMs`): save the snapshot with the new offsets and held
 * events, then commit those offsets (the subscription's `manual` commits). Saving a snapshot costs
 * time proportional to the number of identities (tens of MB at 20 000), so it is not done per
 * batch. Batches, timer releases and checkpoints run one at a time. Findings whose publish failed stay queued and are published
 * first the next time (the batch is redelivered by the bus and skipped, the timer retries).
 * Invalid messages (not JSON, not a RegistryEvent) are counted and skipped.
 */
export function createDetector(deps: DetectorDeps): Detector {
  const log = deps.logger.child({ component: 'detector' });
  const eventsTopic = deps.topics?.events ?? TOPICS.events;
  const findingsTopic = deps.topics?.findings ?? TOPICS.findings;
  const settings = deps.config.settings as DetectionSettings;
  const rules = activeRules(deps.config);
  let engine = new DetectorEngine(settings, rules);
  const windowMs = deps.join?.windowMs ?? 5_000;
  const holdMs = deps.join?.holdMs ?? 2_000;
  const joinOptions = {
    holdMs,
    ...(deps.join?.quietMs !== undefined ? { quietMs: deps.join.quietMs } : {}),
    ...(deps.join?.maxHoldMs !== undefined ? { maxHoldMs: deps.join.maxHoldMs } : {}),
    ...(deps.join?.maxHeld !== undefined ? { maxHeld: deps.join.maxHeld } : {}),
  };
  let joiner = new RequestJoiner(windowMs, [], joinOptions);
  const checkpointMs = Math.max(0, deps.checkpoint?.intervalMs ?? 5_000);
  /** The interval in force: `checkpointMs`, stretched by the last save's duration (budget). */
  let checkpointEvery = checkpointMs;
  /** State changed since the last checkpoint (events processed, hours closed, held events taken). */
  let dirty = false;
  let lastCheckpoint = Date.now();
  /** `topic:partition` keys whose offset moved since the last checkpoint (committed by the next one). */
  const touched = new Set<string>();
  const idleMs = Math.max(0, deps.idle?.advanceAfterMs ?? 30_000);
  /** Wall-clock ms when the watermark last moved (by an event or an idle advance). */
  let watermarkMovedAt = Date.now();
  let watermarkSeen = -Infinity;
  /** Records a watermark move by events (called after each batch or release). */
  const noteWatermark = (): void => {
    if (engine.newestEventTime > watermarkSeen) {
      watermarkSeen = engine.newestEventTime;
      watermarkMovedAt = Date.now();
    }
  };
  let sub: Subscription | undefined;
  let publisher: Publisher | undefined;
  let stopping: Promise<void> | undefined;
  let stopped = false;
  let holdTimer: NodeJS.Timeout | undefined;
  let timerDue = Infinity;
  /** Findings not yet acknowledged by the bus (published before the next save). */
  let outbox: OutgoingMessage[] = [];
  /** Rule, severity and status of each outbox entry (same order), for `metrics.findingsPublished`. */
  let outboxLabels: FindingLabels[] = [];
  // Batches and timed releases of held events run one at a time.
  let chain: Promise<void> = Promise.resolve();
  const exclusive = (fn: () => Promise<void>): Promise<void> => {
    const p = chain.then(fn);
    chain = p.catch(() => undefined);
    return p;
  };

  const offsets = (): Record<string, string> => (engine.meta.offsets ??= {}) as Record<string, string>;

  /** Runs released events through the engine; merged partners count as `joined`. */
  const detect = (evs: readonly DetectorEvent[], joinedBefore: number, detections: Detection[]): void => {
    for (const ev of evs) {
      const d = engine.process(ev);
      if (d.length) detections.push(...d);
    }
    engine.stats.joined += joiner.joined - joinedBefore;
  };

  /**
   * Publishes the queued findings and those of `detections` (before any checkpoint that covers
   * their events, so a crash never loses a finding: the re-processed events publish the same ids).
   */
  const publish = async (detections: readonly Detection[]): Promise<void> => {
    if (detections.length) {
      const now = deps.clock();
      for (const d of detections) {
        const f = buildFinding(d, { kibanaUrl: settings.kibanaUrl, dataView: settings.dataView, detectedAt: now });
        outbox.push({
          key: `${f.entity.type}:${f.entity.id}`,
          value: JSON.stringify(f),
          headers: { 'regwatch-finding-id': f.id, 'regwatch-rule': f.rule },
        });
        outboxLabels.push({ rule: f.rule, severity: f.severity, status: f.status });
      }
    }
    if (outbox.length) {
      const sending = outbox;
      await publisher!.publish(findingsTopic, sending);
      outbox = outbox.slice(sending.length);
      deps.metrics?.findingsPublished?.(outboxLabels.slice(0, sending.length));
      outboxLabels = outboxLabels.slice(sending.length);
    }
  };

  /**
   * Saves the snapshot (with the held events and the processed offsets), then commits those
   * offsets for the partitions that moved (`commit: false` once the subscription is closed: the
   * saved offsets still skip what a restart redelivers). A failed commit is only logged: the
   * consumer group then restarts from an older offset and the saved offsets skip the repeats.
   * @throws AppError from the store (e.g. ES_UNAVAILABLE, retriable): nothing is committed.
   */
  const checkpoint = async (commit = true): Promise<void> => {
    engine.meta.heldEvents = joiner.held();
    const started = Date.now();
    await deps.store.save(engine.snapshot());
    lastCheckpoint = Date.now();
    dirty = false;
    if (checkpointMs > 0) checkpointEvery = Math.max(checkpointMs, CHECKPOINT_COST_FACTOR * (lastCheckpoint - started));
    deps.metrics?.checkpointSaved?.((lastCheckpoint - started) / 1000);
    if (!commit || !sub || touched.size === 0) return;
    const seen = offsets();
    const commits = [...touched].map((k) => {
      const i = k.lastIndexOf(':');
      return { topic: k.slice(0, i), partition: Number(k.slice(i + 1)), offset: (BigInt(seen[k]!) + 1n).toString() };
    });
    touched.clear();
    try {
      await sub.commit(commits);
    } catch (err) {
      log.warn(
        { err, offsets: commits },
        'offset commit failed; a restart re-reads from the previous commit (the saved offsets skip repeats)',
      );
    }
  };

  /** A checkpoint when there is new work and the interval has passed. */
  const maybeCheckpoint = async (): Promise<void> => {
    if (dirty && Date.now() - lastCheckpoint >= checkpointEvery) await checkpoint();
  };

  /**
   * Arms the timer for the earliest of: the oldest held event's deadline, a retry of unpublished
   * findings, the next checkpoint of unsaved work (unless an earlier one is armed).
   */
  const arm = (): void => {
    if (stopped) return;
    let due = outbox.length ? Date.now() + holdMs : joiner.nextDeadline();
    if (dirty) due = Math.min(due ?? Infinity, lastCheckpoint + checkpointEvery);
    if (idleMs > 0 && Number.isFinite(engine.newestEventTime))
      due = Math.min(due ?? Infinity, watermarkMovedAt + idleMs);
    if (due === undefined || due >= timerDue) return;
    if (holdTimer) clearTimeout(holdTimer);
    timerDue = due;
    holdTimer = setTimeout(
      () => {
        holdTimer = undefined;
        timerDue = Infinity;
        exclusive(release)
          .catch((err: unknown) => log.error({ err }, 'processing held events failed; will retry'))
          .finally(arm);
      },
      Math.max(0, due - Date.now()),
    );
    holdTimer.unref();
  };

  /**
   * Timer work: processes the held events whose hold time is over (no partner, no newer event
   * came), retries unpublished findings, then checkpoints when due.
   */
  const release = async (): Promise<void> => {
    if (stopped) return;
    const before = joiner.joined;
    const ready = joiner.expire(Date.now());
    const detections: Detection[] = [];
    if (ready.length > 0) {
      detect(ready, before, detections);
      detections.push(...engine.advance(engine.newestEventTime));
      dirty = true;
      noteWatermark();
    }
    const now = Date.now();
    if (idleMs > 0 && Number.isFinite(engine.newestEventTime) && now - watermarkMovedAt >= idleMs) {
      // A quiet stream: event time follows the wall clock from the newest event on.
      const to = engine.newestEventTime + (now - watermarkMovedAt);
      detections.push(...engine.advance(to));
      watermarkSeen = engine.newestEventTime;
      watermarkMovedAt = now;
      dirty = true;
    }
    if (detections.length > 0 || outbox.length > 0) await publish(detections);
    if (detections.length)
      log.info(
        { events: ready.length, findings: detections.length },
        ready.length ? 'held events processed' : 'quiet stream: event time advanced',
      );
    await maybeCheckpoint();
  };

  const handle = async (batch: readonly BusMessage[]): Promise<void> => {
    const seen = offsets();
    const joinedBefore = joiner.joined;
    const ready: DetectorEvent[] = [];
    let invalid = 0;
    let skipped = 0;
    const now = Date.now();
    for (const m of batch) {
      const key = `${m.topic}:${m.partition}`;
      const last = seen[key];
      if (last !== undefined && BigInt(m.offset) <= BigInt(last)) {
        skipped++;
        continue;
      }
      seen[key] = m.offset;
      touched.add(key);
      dirty = true;
      let ev;
      try {
        ev = toDetectorEvent(JSON.parse(m.value.toString('utf8')) as RegistryEvent);
      } catch {
        ev = undefined;
      }
      if (!ev) {
        invalid++;
        continue;
      }
      for (const r of joiner.push(ev, now)) ready.push(r);
    }
    for (const r of joiner.expire(now)) ready.push(r);
    // Counted now: a redelivery of this batch is skipped by the offsets above.
    if (invalid) deps.metrics?.invalidMessages?.(invalid);
    const detections: Detection[] = [];
    detect(ready, joinedBefore, detections);
    // An idle partition still needs its hours closed: advance to the newest event time seen.
    detections.push(...engine.advance(engine.newestEventTime));
    noteWatermark();
    await publish(detections);
    await maybeCheckpoint();
    arm();
    if (invalid || skipped || detections.length)
      log.info({ messages: batch.length, invalid, skipped, findings: detections.length }, 'batch processed');
  };

  return {
    get engine() {
      return engine;
    },
    get held() {
      return joiner.size;
    },
    async start() {
      const snap = await deps.store.load();
      if (snap) {
        engine = DetectorEngine.fromSnapshot(snap, settings, rules);
        const held = (engine.meta.heldEvents ?? []) as DetectorEvent[];
        joiner = new RequestJoiner(windowMs, held, { ...joinOptions, now: Date.now() });
        log.info(
          { identities: engine.identityCount, offsets: engine.meta.offsets ?? {}, held: held.length },
          'state restored',
        );
      } else if (deps.backfill) {
        await deps.backfill(engine);
        log.info({ identities: engine.identityCount }, 'baselines backfilled from history');
      }
      // Stats restored with the snapshot (or set by the backfill) are not new work.
      deps.metrics?.engineInstalled?.(engine);
      await deps.bus.ensureTopics([eventsTopic, findingsTopic], deps.partitions ?? 1);
      publisher = deps.bus.publisher();
      sub = await deps.bus.subscribe(
        { groupId: deps.groupId ?? 'detector', topics: [eventsTopic], fromBeginning: true, commits: 'manual' },
        (batch) => exclusive(() => handle(batch)),
      );
      // Restored held events are released by the timer even if no new event ever arrives.
      arm();
      log.info({ topic: eventsTopic, rules: rules.map((r) => r.rule.id) }, 'detector started');
    },
    stop() {
      stopping ??= (async () => {
        // Checkpoint and commit while still a group member, so a restart re-reads little.
        await exclusive(async () => {
          if (dirty) await checkpoint();
        }).catch((err: unknown) =>
          log.warn({ err }, 'checkpoint before stop failed; retried after the consumer stops'),
        );
        await sub?.close();
        stopped = true;
        if (holdTimer) clearTimeout(holdTimer);
        holdTimer = undefined;
        await chain;
        // Work of batches after that checkpoint (no commit: the saved offsets skip redeliveries).
        // Held events stay in the saved state (meta.heldEvents): a restart joins and releases them.
        if (dirty)
          await checkpoint(false).catch((err: unknown) =>
            log.error({ err }, 'state not saved at stop; a restart re-processes from the last checkpoint'),
          );
        if (outbox.length) log.warn({ findings: outbox.length }, 'findings not published before stop');
        await publisher?.close();
        await deps.store.close();
        log.info({ held: joiner.size }, 'detector stopped');
      })();
      return stopping;
    },
  };
}
