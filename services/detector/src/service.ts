import type { MessageBus, Subscription, BusMessage, Publisher } from '../../../shared/src/bus/types.ts';
import type { Logger } from '../../../shared/src/logger.ts';
import type { RegistryEvent } from '../../../shared/src/model/registry-event.ts';
import { TOPICS } from '../../../shared/src/topics.ts';
import { activeRules, type DetectionConfig } from './config.ts';
import { DetectorEngine } from './engine.ts';
import { toDetectorEvent } from './event.ts';
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
  let sub: Subscription | undefined;
  let publisher: Publisher | undefined;
  let stopping: Promise<void> | undefined;

  const offsets = (): Record<string, string> => (engine.meta.offsets ??= {}) as Record<string, string>;

  const handle = async (batch: readonly BusMessage[]): Promise<void> => {
    const seen = offsets();
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
      detections.push(...engine.process(ev));
    }
    // An idle partition still needs its hours closed: advance to the newest event time seen.
    detections.push(...engine.advance(engine.newestEventTime));
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
    await deps.store.save(engine.snapshot());
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
        log.info({ identities: engine.identityCount, offsets: engine.meta.offsets ?? {} }, 'state restored');
      } else if (deps.backfill) {
        await deps.backfill(engine);
        log.info({ identities: engine.identityCount }, 'baselines backfilled from history');
      }
      await deps.bus.ensureTopics([eventsTopic, findingsTopic], 1);
      publisher = deps.bus.publisher();
      sub = await deps.bus.subscribe(
        { groupId: deps.groupId ?? 'detector', topics: [eventsTopic], fromBeginning: true },
        handle,
      );
      log.info({ topic: eventsTopic, rules: rules.map((r) => r.rule.id) }, 'detector started');
    },
    stop() {
      stopping ??= (async () => {
        await sub?.close();
        await publisher?.close();
        await deps.store.close();
        log.info('detector stopped');
      })();
      return stopping;
    },
  };
}
