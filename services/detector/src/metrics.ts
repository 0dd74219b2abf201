import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Finding } from '../../../shared/src/model/finding.ts';
import type { EngineStats } from './engine.ts';

/** What the metrics read from the live detector at scrape time (a `Detector` satisfies it). */
export interface DetectorStatsSource {
  /** The live engine; `createDetector` may replace it on start (state restore). */
  readonly engine: {
    readonly stats: Readonly<EngineStats>;
    /** Identities with state. */
    readonly identityCount: number;
    /** Newest event time seen, ms since epoch; -Infinity before the first event. */
    readonly newestEventTime: number;
  };
  /** Events waiting for their request partner. */
  readonly held: number;
}

/** The labels a published finding is counted by. */
export type FindingLabels = Pick<Finding, 'rule' | 'severity' | 'status'>;

/** Outcome of one scheduled job run (scheduler.ts `onRun`). */
export type JobOutcome = 'ok' | 'error';

/**
 * Hooks the detector service calls (service.ts `DetectorDeps.metrics`); all optional so other
 * callers (embedded pipeline, tests) need none. None of them runs per event.
 */
export interface DetectorHooks {
  /**
   * A new engine became live (fresh, backfilled or restored from a snapshot), before any live event
   * reaches it: its current stats are the starting point, not new work.
   */
  engineInstalled?(engine: DetectorStatsSource['engine']): void;
  /** `count` messages of one batch on regwatch.events were not a valid event (skipped). */
  invalidMessages?(count: number): void;
  /** These findings were acknowledged by the bus on regwatch.findings. */
  findingsPublished?(findings: readonly FindingLabels[]): void;
  /** A state checkpoint (snapshot save) took `seconds`. */
  checkpointSaved?(seconds: number): void;
}

/**
 * Prometheus metrics of the detector service (prom-client), one registry per instance. Counters
 * of the engine's work are not incremented on the per-event path: they are computed at scrape
 * time (`collect`) as the growth of `engine.stats` since the previous scrape, per engine object,
 * so stats restored with a snapshot are never counted again.
 *
 * Exposed (all `regwatch_detector_` prefixed):
 * - `events_total` events run through the engine; `duplicate_events_total` (same `event.id`
 *   again); `joined_events_total` (second source of one HTTP request, merged or dropped);
 *   `late_events_total` (older than the allowed lateness); `invalid_messages_total`;
 * - `findings_published_total{rule,severity,status}` (streaming and scheduled findings);
 * - gauges `identities`, `held_events`, `event_time_lag_seconds` (wall clock minus the newest
 *   event time seen, seconds; NaN before the first event; grows while the registry is idle),
 *   `newest_event_timestamp_seconds` (0 before the first event);
 * - `job_runs_total{job,outcome}` and `job_duration_seconds{job}` (histogram) of scheduled jobs;
 * - `checkpoint_duration_seconds` (histogram): time to save one state snapshot (grows with the
 *   number of identities; see the service's `checkpoint.intervalMs`);
 * - Node process metrics (`collectDefaultMetrics`) unless `defaultMetrics: false`.
 */
export interface DetectorMetrics extends Required<DetectorHooks> {
  readonly registry: Registry;
  /** Records one scheduled job run: outcome and wall time in seconds. */
  jobRun(job: string, outcome: JobOutcome, seconds: number): void;
}

type CountedStat = 'events' | 'duplicates' | 'joined' | 'lateEvents';
const COUNTED: readonly CountedStat[] = ['events', 'duplicates', 'joined', 'lateEvents'];

/**
 * Builds the detector's metrics in a registry of their own.
 * @param options.source the live detector (read at scrape time; undefined while not built yet).
 * @param options.clock wall clock, ms since epoch (default `Date.now`), for the event-time lag.
 * @param options.defaultMetrics also Node process metrics, prefix `regwatch_detector_` (default true).
 */
export function createDetectorMetrics(
  options: { source?: () => DetectorStatsSource | undefined; clock?: () => number; defaultMetrics?: boolean } = {},
): DetectorMetrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'regwatch_detector_' });
  const registers = [registry];
  const clock = options.clock ?? Date.now;
  /** Stats of each engine as of the last scrape (or its installation). */
  const seen = new WeakMap<object, Record<CountedStat, number>>();
  const snapshotOf = (s: Readonly<EngineStats>): Record<CountedStat, number> => ({
    events: s.events,
    duplicates: s.duplicates,
    joined: s.joined,
    lateEvents: s.lateEvents,
  });

  const counters = {} as Record<CountedStat, Counter>;
  /** Adds each counter's growth since the last call; an engine seen for the first time only sets the start. */
  const sync = (): void => {
    const engine = options.source?.()?.engine;
    if (!engine) return;
    const last = seen.get(engine);
    if (!last) {
      seen.set(engine, snapshotOf(engine.stats));
      return;
    }
    for (const k of COUNTED) {
      const now = engine.stats[k];
      if (now > last[k]) counters[k].inc(now - last[k]);
      last[k] = now;
    }
  };
  const counted = (k: CountedStat, name: string, help: string): void => {
    counters[k] = new Counter({ name, help, registers, collect: sync });
  };
  counted('events', 'regwatch_detector_events_total', 'Events run through the detection engine');
  counted('duplicates', 'regwatch_detector_duplicate_events_total', 'Events dropped as duplicates (same event.id)');
  counted(
    'joined',
    'regwatch_detector_joined_events_total',
    'Second sources of one HTTP request (notification + log line) merged into one event',
  );
  counted('lateEvents', 'regwatch_detector_late_events_total', 'Events older than the allowed lateness');

  const invalid = new Counter({
    name: 'regwatch_detector_invalid_messages_total',
    help: 'Messages on regwatch.events that are not a valid event (skipped)',
    registers,
  });
  const findings = new Counter({
    name: 'regwatch_detector_findings_published_total',
    help: 'Findings acknowledged on regwatch.findings',
    labelNames: ['rule', 'severity', 'status'],
    registers,
  });
  new Gauge({
    name: 'regwatch_detector_identities',
    help: 'Identities with detection state',
    registers,
    collect() {
      const s = options.source?.();
      if (s) this.set(s.engine.identityCount);
    },
  });
  new Gauge({
    name: 'regwatch_detector_held_events',
    help: 'Events waiting for their request partner',
    registers,
    collect() {
      const s = options.source?.();
      if (s) this.set(s.held);
    },
  });
  new Gauge({
    name: 'regwatch_detector_event_time_lag_seconds',
    help: 'Wall clock minus the newest event time seen (NaN before the first event)',
    registers,
    collect() {
      const t = options.source?.()?.engine.newestEventTime;
      this.set(t === undefined || !Number.isFinite(t) ? NaN : (clock() - t) / 1000);
    },
  });
  new Gauge({
    name: 'regwatch_detector_newest_event_timestamp_seconds',
    help: 'Newest event time seen, seconds since epoch (0 before the first event)',
    registers,
    collect() {
      const t = options.source?.()?.engine.newestEventTime;
      this.set(t === undefined || !Number.isFinite(t) ? 0 : t / 1000);
    },
  });
  const jobRuns = new Counter({
    name: 'regwatch_detector_job_runs_total',
    help: 'Scheduled job runs',
    labelNames: ['job', 'outcome'],
    registers,
  });
  const jobDuration = new Histogram({
    name: 'regwatch_detector_job_duration_seconds',
    help: 'Scheduled job wall time, including publishing its findings',
    labelNames: ['job'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
    registers,
  });
  const checkpoints = new Histogram({
    name: 'regwatch_detector_checkpoint_duration_seconds',
    help: 'Time to save one detector state snapshot (engine state, offsets, held events)',
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers,
  });

  return {
    registry,
    checkpointSaved(seconds) {
      checkpoints.observe(Math.max(0, seconds));
    },
    engineInstalled(engine) {
      seen.set(engine, snapshotOf(engine.stats));
    },
    invalidMessages(count) {
      if (count > 0) invalid.inc(count);
    },
    findingsPublished(fs) {
      for (const f of fs) findings.inc({ rule: f.rule, severity: f.severity, status: f.status });
    },
    jobRun(job, outcome, seconds) {
      jobRuns.inc({ job, outcome });
      jobDuration.observe({ job }, Math.max(0, seconds));
    },
  };
}
