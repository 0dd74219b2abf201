import type { MessageBus, Subscription, BusMessage, Publisher } from '../../../shared/src/bus/types.ts';
import type { Logger } from '../../../shared/src/logger.ts';
import type { RegistryEvent } from '../../../shared/src/model/registry-event.ts';
import { TOPICS } from '../../../shared/src/topics.ts';
import { activeRules, type DetectionConfig } from './config.ts';
import { DetectorEngine } from './engine.ts';
import { toDetectorEvent, type DetectorEvent } from './event.ts';
import { RequestJoiner } from './pipeline/request-join.ts';
import { buildFinding, type Detection } from './findings.ts';
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
  /** Seeds a fresh engine (no saved state) from history, e.g. Elasticsearch hourly aggregates. */
  backfill?: (engine: DetectorEngine) => Promise<void>;
  /**
   * Request join, as `regwatch analyze` does it (pipeline/request-join.ts): the notification and
   * the log line of one HTTP request (same `http.request.id`) become one merged event. `windowMs`:
   * event-time window (default 5 000 ms); `holdMs`: how long, in processing time, held events wait
   * for newer events before they are processed anyway (default 1 000 ms).
   */
  join?: { windowMs?: number; holdMs?: number };
}

export interface Detector {
  start(): Promise<void>;
  /** Stops consuming (the in-flight batch finishes and its state is saved), idempotent. */
  stop(): Promise<void>;
  /** The live engine (tests, scheduled jobs). */
  readonly engine: DetectorEngine;
}

/**
 * The streaming detector (embedded and full mode): consumes normalized events from
 * `regwatch.events` (consumer group `detector`), runs the engine, publishes findings to
 * `regwatch.findings` with key `<entity.type>:<entity.id>`.
 *
 * Events pass through the same request join as `regwatch analyze` before the engine: a request
 * seen as a notification (user) and as a log line (status, bytes, latency) is counted once with
 * the fields of both. Events wait up to the join window (event time) for their partner, or
 * `join.holdMs` of processing time when no newer events arrive; held events are part of the saved
 * state (`meta.heldEvents`), so a restart neither loses nor double counts them. A partner that
 * arrives after its event was processed is dropped by the engine (counted once, not merged).
 *
 * Per batch, in this order: skip messages at or below the saved offset of their partition (they
 * were counted before a restart — C24), process the rest, publish the findings (ids are stable, so
 * a redelivered batch republishes the same ids — harmless), save the snapshot with the new
 * offsets, then resolve so the bus commits. A crash at any point therefore neither loses events
 * nor counts one twice. Invalid messages (not JSON, not a RegistryEvent) are counted and skipped.
 */
export function createDetector(deps: DetectorDeps): Detector {
  const log = deps.logger.child({ component: 'detector' });
  const eventsTopic = deps.topics?.events ?? TOPICS.events;
  const findingsTopic = deps.topics?.findings ?? TOPICS.findings;
  const settings = deps.config.settings as DetectionSettings;
  const rules = activeRules(deps.config);
  let engine = new DetectorEngine(settings, rules);
  const windowMs = deps.join?.windowMs ?? 5_000;
  const holdMs = deps.join?.holdMs ?? 1_000;
  let joiner = new RequestJoiner(windowMs);
  let sub: Subscription | undefined;
  let publisher: Publisher | undefined;
  let stopping: Promise<void> | undefined;
  let holdTimer: NodeJS.Timeout | undefined;
  // Batches and timed flushes of held events run one at a time.
  let chain: Promise<void> = Promise.resolve();
  const exclusive = (fn: () => Promise<void>): Promise<void> => {
    const p = chain.then(fn);
    chain = p.catch(() => undefined);
    return p;
  };

  const offsets = (): Record<string, string> => (engine.meta.offsets ??= {}) as Record<string, string>;

  /** Runs joined events through the engine; merged partners count as `joined`. */
  const detect = (evs: readonly DetectorEvent[], joinedBefore: number, detections: Detection[]): void => {
    for (const ev of evs) detections.push(...engine.process(ev));
    engine.stats.joined += joiner.joined - joinedBefore;
  };

  /** Publishes the findings of `detections`, then saves the engine state with the held events. */
  const publishAndSave = async (detections: Detection[]): Promise<void> => {
    if (detections.length) {
      const now = deps.clock();
      const findings = detections.map((d) =>
        buildFinding(d, { kibanaUrl: settings.kibanaUrl, dataView: settings.dataView, detectedAt: now }),
      );
      await publisher!.publish(
        findingsTopic,
        findings.map((f) => ({
          key: `${f.entity.type}:${f.entity.id}`,
          value: JSON.stringify(f),
          headers: { 'regwatch-finding-id': f.id, 'regwatch-rule': f.rule },
        })),
      );
    }
    engine.meta.heldEvents = joiner.held();
    await deps.store.save(engine.snapshot());
  };

  /** Processes every held event (no newer event came within `holdMs`). */
  const flushHeld = async (): Promise<void> => {
    const before = joiner.joined;
    const detections: Detection[] = [];
    detect(joiner.flush(), before, detections);
    detections.push(...engine.advance(engine.newestEventTime));
    await publishAndSave(detections);
    if (detections.length) log.info({ findings: detections.length }, 'held events processed');
  };

  const scheduleFlush = (): void => {
    if (holdTimer) clearTimeout(holdTimer);
    holdTimer = undefined;
    if (stopping || joiner.size === 0) return;
    holdTimer = setTimeout(() => {
      holdTimer = undefined;
      exclusive(flushHeld).catch((err: unknown) => log.error({ err }, 'processing held events failed'));
    }, holdMs);
    holdTimer.unref();
  };

  const handle = async (batch: readonly BusMessage[]): Promise<void> => {
    const seen = offsets();
    const joinedBefore = joiner.joined;
    const ready: DetectorEvent[] = [];
    const detections: Detection[] = [];
    let invalid = 0;
    let skipped = 0;
    for (const m of batch) {
      const key = `${m.topic}:${m.partition}`;
      const last = seen[key];
      if (last !== undefined && BigInt(m.offset) <= BigInt(last)) {
        skipped++;
        continue;
      }
      seen[key] = m.offset;
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
      ready.push(...joiner.push(ev));
    }
    detect(ready, joinedBefore, detections);
    // An idle partition still needs its hours closed: advance to the newest event time seen.
    detections.push(...engine.advance(engine.newestEventTime));
    await publishAndSave(detections);
    scheduleFlush();
    if (invalid || skipped || detections.length)
      log.info({ messages: batch.length, invalid, skipped, findings: detections.length }, 'batch processed');
  };

  return {
    get engine() {
      return engine;
    },
    async start() {
      const snap = await deps.store.load();
      if (snap) {
        engine = DetectorEngine.fromSnapshot(snap, settings, rules);
        joiner = new RequestJoiner(windowMs, (engine.meta.heldEvents ?? []) as DetectorEvent[]);
        log.info({ identities: engine.identityCount, offsets: engine.meta.offsets ?? {} }, 'state restored');
      } else if (deps.backfill) {
        await deps.backfill(engine);
        log.info({ identities: engine.identityCount }, 'baselines backfilled from history');
      }
      await deps.bus.ensureTopics([eventsTopic, findingsTopic], 1);
      publisher = deps.bus.publisher();
      sub = await deps.bus.subscribe(
        { groupId: deps.groupId ?? 'detector', topics: [eventsTopic], fromBeginning: true },
        (batch) => exclusive(() => handle(batch)),
      );
      scheduleFlush();
      log.info({ topic: eventsTopic, rules: rules.map((r) => r.rule.id) }, 'detector started');
    },
    stop() {
      stopping ??= (async () => {
        await sub?.close();
        // Held events stay in the saved state (meta.heldEvents) and are joined after a restart.
        if (holdTimer) clearTimeout(holdTimer);
        await chain;
        await publisher?.close();
        await deps.store.close();
        log.info('detector stopped');
      })();
      return stopping;
    },
  };
}
