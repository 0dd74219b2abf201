import type { Finding } from '../../../shared/src/model/finding.ts';
import { findingSchema } from '../../../shared/src/model/finding.ts';
import { ok, type Outcome } from '../../../shared/src/outcome.ts';
import { silentLogger } from '../../../shared/src/logger.ts';
import { z } from 'zod';
import type { AlertChannel } from '../../../services/alerts/src/channels/types.ts';
import type { Notification } from '../../../services/alerts/src/model.ts';
import { channels as realChannels } from '../../../services/alerts/src/channels/index.ts';
import { parseAlertsConfig, type AlertsConfig } from '../../../services/alerts/src/config.ts';
import { createFakeClock, type FakeClock } from '../../../services/alerts/src/clock.ts';
import { createDeliverer } from '../../../services/alerts/src/delivery.ts';
import { createEngine, type Engine } from '../../../services/alerts/src/engine.ts';
import { createMemoryStore } from '../../../services/alerts/src/store/memory.ts';
import type { AlertStore } from '../../../services/alerts/src/store/types.ts';
import { createMemoryDeliveriesSink, type DeliveryRecord } from '../../../services/alerts/src/deliveries.ts';
import type { HttpClient } from '../../../services/alerts/src/http.ts';

export const T0 = Date.parse('2026-11-30T09:00:00Z'); // a Monday

let seq = 0;
/** A valid finding; `over` overrides fields. */
export function finding(
  over: Partial<Omit<Finding, 'entity'>> & { entity?: Finding['entity']; at?: number } = {},
): Finding {
  const at = over.at ?? T0;
  const { at: _at, ...rest } = over;
  return findingSchema.parse({
    id: `f-${++seq}`,
    rule: 'pull.volume_spike',
    severity: 'high',
    score: 80,
    status: 'firing',
    entity: { type: 'user', id: 'alice' },
    window: { start: new Date(at - 15 * 60_000).toISOString(), end: new Date(at).toISOString() },
    observed: { value: 1240, unit: 'count' },
    expected: { value: 35, unit: 'count', lower: 10, upper: 60 },
    evidence: {
      repositories: [{ name: 'library/nginx', count: 900 }],
      source_ips: [{ ip: '203.0.113.7', count: 1240 }],
      user_agents: [],
      sample_event_ids: [],
    },
    message: 'alice pulled 1240 images in 15 min, typical 35',
    links: { discover: 'http://kibana.local/app/discover#/?q=alice' },
    labels: {},
    detected_at: new Date(at).toISOString(),
    ...rest,
  });
}

/** The same finding, resolved, detected at `at`. */
export function resolvedOf(f: Finding, at: number): Finding {
  return { ...f, status: 'resolved', detected_at: new Date(at).toISOString() };
}

/** A recording channel registered under `console` (what the test configs use). */
export function recordingChannel(outcomes: Outcome[] = []): { channel: AlertChannel; sent: Notification[] } {
  const sent: Notification[] = [];
  const channel: AlertChannel = {
    id: 'console',
    description: 'test recorder',
    configSchema: z.object({ type: z.literal('console') }) as never,
    example: { type: 'console' },
    destination: () => 'console:test',
    render: (n) => ({ channel: 'console', target: 'test', body: n.key }),
    async send(n) {
      sent.push(n);
      return outcomes.shift() ?? ok();
    },
  };
  return { channel, sent };
}

const nullHttp: HttpClient = {
  post: async () => ({ status: 0, headers: {}, body: 'ECONNREFUSED' }),
  close: async () => {},
};

export interface Harness {
  readonly clock: FakeClock;
  readonly engine: Engine;
  readonly store: AlertStore;
  readonly sent: Notification[];
  readonly config: AlertsConfig;
  /** Delivery records written so far (one per attempt). */
  readonly deliveries: readonly DeliveryRecord[];
  /** Ingest, tick, wait for deliveries. */
  step(findings?: Finding[]): Promise<Notification[]>;
  /** Advance the clock by ms, then tick. */
  after(ms: number): Promise<Notification[]>;
}

/** Engine + memory store + fake clock + recording channel from a YAML config. */
export function harness(
  yaml: string,
  opts: { store?: AlertStore; clock?: FakeClock; instanceId?: string } = {},
): Harness {
  const config = parseAlertsConfig(yaml);
  const clock = opts.clock ?? createFakeClock(T0);
  const store = opts.store ?? createMemoryStore();
  const rec = recordingChannel();
  const sink = createMemoryDeliveriesSink();
  const map = new Map(realChannels);
  map.set('console', rec.channel);
  const deliverer = createDeliverer({
    config,
    channels: map,
    http: nullHttp,
    clock,
    logger: silentLogger(),
    sink,
    render: {},
    instanceId: opts.instanceId ?? 'test',
    random: () => 0.5,
  });
  const engine = createEngine({
    config,
    store,
    clock,
    logger: silentLogger(),
    deliverer,
    instanceId: opts.instanceId ?? 'test',
  });
  const step = async (findings: Finding[] = []): Promise<Notification[]> => {
    const before = rec.sent.length;
    if (findings.length) await engine.ingest(findings);
    await engine.tick();
    await engine.idle();
    return rec.sent.slice(before);
  };
  return {
    clock,
    engine,
    store,
    sent: rec.sent,
    config,
    deliveries: sink.records,
    step,
    async after(ms) {
      await clock.advance(ms);
      return step();
    },
  };
}

export const BASE = (extra = ''): string => `
route:
  receiver: r
  group_by: [rule]
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 4h
receivers:
  - name: r
    channels: [{ type: console }]
${extra}`;

/** A notification built directly from findings (channel tests). */
export function notificationOf(findings: Finding[], over: Partial<Notification> = {}): Notification {
  const view = (f: Finding) => ({
    key: f.id,
    status: f.status,
    labels: { rule: f.rule, entity: `${f.entity.type}:${f.entity.id}`, severity: f.severity },
    finding: f,
    startsAt: T0,
    ...(f.status === 'resolved' ? { endsAt: T0 + 60_000 } : {}),
  });
  const firing = findings.filter((f) => f.status === 'firing').map(view);
  const resolved = findings.filter((f) => f.status === 'resolved').map(view);
  return {
    kind: 'alert',
    key: 'r:0:abcdef0123456789:1',
    groupKey: 'r:0:abcdef0123456789',
    receiver: 'r',
    status: firing.length ? 'firing' : 'resolved',
    groupLabels: { rule: findings[0]?.rule ?? 'x' },
    firing,
    resolved,
    throttled: 0,
    createdAt: T0,
    ...over,
  };
}
