import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BatchHandler, MessageBus, OutgoingMessage, Publisher, Subscription } from '../../../shared/src/bus/types.ts';
import type { Logger } from '../../../shared/src/logger.ts';
import type { RegistryEvent } from '../../../shared/src/model/registry-event.ts';
import { activeRules, createEngine, type DetectionConfig } from '../../detector/src/config.ts';
import { DetectorEngine, type EngineSnapshot } from '../../detector/src/engine.ts';
import { toDetectorEvent, type DetectorEvent } from '../../detector/src/event.ts';
import { buildFinding, type Detection } from '../../detector/src/findings.ts';
import { RequestJoiner } from '../../detector/src/pipeline/request-join.ts';
import type { DetectionSettings } from '../../detector/src/state/view.ts';

export interface DetectorStageDeps {
  readonly bus: MessageBus;
  readonly config: DetectionConfig;
  /** Directory for the engine snapshot (`engine.json`); absent = state in memory only. */
  readonly stateDir?: string;
  readonly logger: Logger;
  readonly topics: { readonly events: string; readonly findings: string };
  /** Consumer group. Default `detector`. */
  readonly groupId?: string;
  /** Join window for a notification and the log line of the same request, ms of event time. Default 5 000. */
  readonly joinWindowMs?: number;
  /**
   * Live input goes quiet: after this many ms of wall time without a new event, events the
   * request joiner still holds are released (otherwise the last burst would wait for the next
   * event). Default 2 000; 0 disables.
   */
  readonly idleFlushMs?: number;
}

export interface DetectorStage {
  readonly handleBatch: BatchHandler;
  /** Leaves the group after the in-flight batch and saves the state. Idempotent. */
  stop(): Promise<void>;
  readonly stats: () => { events: number; findings: number };
}

interface StageMeta {
  /** finding id → last published severity. */
  emitted: [string, string][];
  /** Events held by the request joiner at the last commit (re-pushed on restore). */
  held: DetectorEvent[];
}

/** Partition key of a finding on `regwatch.findings` (topics.ts: key = finding entity). */
export const findingKey = (f: { entity: { type: string; id: string } }): string => `${f.entity.type}:${f.entity.id}`;

/**
 * The streaming detector over a MessageBus (consumer group `detector`): `regwatch.events` →
 * RegistryEvent → DetectorEvent → request join (notification + log line of one request counted
 * once) → DetectorEngine (pure rules, event-time watermark) → Findings (stable ids) →
 * `regwatch.findings` keyed by entity. A finding id is published again only when its severity
 * changes. After each batch the engine (with the joiner's held events and what was published) is
 * snapshotted to `<stateDir>/engine.json` (atomic rename) before the batch resolves, so a restart
 * neither forgets nor double counts; a redelivered batch is harmless (the engine drops repeated
 * event ids). Events that are not valid JSON are logged and skipped.
 * Findings' `detected_at` is the event-time watermark (reproducible across runs and modes).
 */
export async function startDetectorStage(deps: DetectorStageDeps): Promise<DetectorStage> {
  const log = deps.logger.child({ component: 'detector' });
  const file = deps.stateDir ? join(deps.stateDir, 'engine.json') : undefined;
  const settings = deps.config.settings as DetectionSettings;
  let engine: DetectorEngine;
  const emitted = new Map<string, string>();
  const joiner = new RequestJoiner(deps.joinWindowMs ?? 5_000);
  const held = new Map<string, DetectorEvent>();
  let restoredHeld: DetectorEvent[] = [];
  if (file && existsSync(file)) {
    const snap = JSON.parse(readFileSync(file, 'utf8')) as EngineSnapshot;
    engine = DetectorEngine.fromSnapshot(snap, settings, activeRules(deps.config));
    const meta = snap.meta as unknown as Partial<StageMeta>;
    for (const [k, v] of meta.emitted ?? []) emitted.set(k, v);
    restoredHeld = meta.held ?? [];
    log.info({ identities: engine.identityCount, held: restoredHeld.length }, 'detector state restored');
  } else {
    engine = createEngine(deps.config);
  }
  const publisher: Publisher = deps.bus.publisher();
  let events = 0;
  let findings = 0;

  const toFindings = (dets: readonly Detection[], out: OutgoingMessage[]): void => {
    for (const d of dets) {
      const f = buildFinding(d, { kibanaUrl: settings.kibanaUrl, dataView: settings.dataView, detectedAt: Math.max(engine.newestEventTime, d.windowStart) });
      if (emitted.get(f.id) === f.severity) continue;
      emitted.delete(f.id);
      emitted.set(f.id, f.severity);
      out.push({ key: findingKey(f), value: JSON.stringify(f) });
    }
  };
  const pushJoined = (ev: DetectorEvent, out: OutgoingMessage[]): void => {
    held.set(ev.id, ev);
    for (const ready of joiner.push(ev)) {
      held.delete(ready.id);
      toFindings(engine.process(ready), out);
    }
  };
  // Events the joiner held at the last commit are joined again (the engine drops any it saw).
  if (restoredHeld.length > 0) {
    const out: OutgoingMessage[] = [];
    for (const ev of restoredHeld) pushJoined(ev, out);
    if (out.length) await publisher.publish(deps.topics.findings, out);
  }

  const save = (): void => {
    if (!file) return;
    // Forget held events the joiner merged away (older than the join window behind the watermark).
    const horizon = engine.newestEventTime - 2 * (deps.joinWindowMs ?? 5_000);
    for (const [id, ev] of held) if (ev.ts < horizon) held.delete(id);
    while (emitted.size > 100_000) {
      const first = emitted.keys().next().value;
      if (first === undefined) break;
      emitted.delete(first);
    }
    const meta: StageMeta = { emitted: [...emitted], held: [...held.values()] };
    engine.meta = meta as unknown as Record<string, unknown>;
    writeFileSync(`${file}.tmp`, JSON.stringify(engine.snapshot()));
    renameSync(`${file}.tmp`, file);
  };

  let lastEventAt = Date.now();
  const handleBatch: BatchHandler = async (batch) => {
    lastEventAt = Date.now();
    const out: OutgoingMessage[] = [];
    for (const m of batch) {
      let ev: DetectorEvent | undefined;
      try {
        ev = toDetectorEvent(JSON.parse(m.value.toString('utf8')) as RegistryEvent);
      } catch (err) {
        log.error({ err, topic: m.topic, partition: m.partition, offset: m.offset }, 'event is not JSON; skipped');
        continue;
      }
      if (!ev) {
        log.warn({ topic: m.topic, partition: m.partition, offset: m.offset }, 'event without a valid @timestamp; skipped');
        continue;
      }
      events++;
      pushJoined(ev, out);
    }
    if (out.length > 0) await publisher.publish(deps.topics.findings, out);
    findings += out.length;
    save();
  };

  let idleRun: Promise<void> = Promise.resolve();
  const idleMs = deps.idleFlushMs ?? 2_000;
  const idleTimer =
    idleMs > 0
      ? setInterval(() => {
          if (held.size === 0 || Date.now() - lastEventAt < idleMs) return;
          idleRun = idleRun.then(async () => {
            const out: OutgoingMessage[] = [];
            for (const ev of joiner.flush()) {
              held.delete(ev.id);
              toFindings(engine.process(ev), out);
            }
            held.clear();
            if (out.length > 0) await publisher.publish(deps.topics.findings, out);
            findings += out.length;
            save();
          }).catch((err: unknown) => log.error({ err }, 'releasing held events failed; retrying'));
        }, Math.min(500, idleMs))
      : null;
  idleTimer?.unref();

  const sub: Subscription = await deps.bus.subscribe({ groupId: deps.groupId ?? 'detector', topics: [deps.topics.events], fromBeginning: true }, handleBatch);
  log.info({ group: deps.groupId ?? 'detector', rules: activeRules(deps.config).length }, 'detector started');
  let stopping: Promise<void> | null = null;
  return {
    handleBatch,
    stats: () => ({ events, findings }),
    stop() {
      stopping ??= (async () => {
        if (idleTimer) clearInterval(idleTimer);
        await sub.close();
        await idleRun;
        save();
        await publisher.close();
      })();
      return stopping;
    },
  };
}
