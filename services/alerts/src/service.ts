import { randomUUID } from 'node:crypto';
import type { Counter, Registry } from 'prom-client';
import { Counter as PromCounter } from 'prom-client';
import type { MessageBus, Subscription } from '../../../shared/src/bus/types.ts';
import type { Logger } from '../../../shared/src/logger.ts';
import { findingSchema, type Finding } from '../../../shared/src/model/finding.ts';
import { TOPICS } from '../../../shared/src/topics.ts';
import { channels as defaultChannels } from './channels/index.ts';
import type { AlertChannel } from './channels/types.ts';
import type { Clock } from './clock.ts';
import type { AlertsConfig } from './config.ts';
import type { DeliveriesSink } from './deliveries.ts';
import { createDeliverer, type Deliverer } from './delivery.ts';
import { createEngine, type Engine } from './engine.ts';
import { createHttpClient, type HttpClient } from './http.ts';
import type { RenderSettings } from './model.ts';
import type { AlertStore } from './store/types.ts';

export interface AlertsDeps {
  readonly bus: MessageBus;
  readonly store: AlertStore;
  readonly clock: Clock;
  readonly config: AlertsConfig;
  readonly logger: Logger;
  readonly deliveriesSink: DeliveriesSink;
  /** Topic to consume (default `regwatch.findings`). */
  readonly topic?: string;
  /** Consumer group (default `alerts`). */
  readonly groupId?: string;
  /** How often due groups are looked at, ms (default 250). */
  readonly tickMs?: number;
  readonly instanceId?: string;
  readonly http?: HttpClient;
  readonly channels?: ReadonlyMap<string, AlertChannel>;
  readonly render?: RenderSettings;
  /** prom-client registry for the service metrics. */
  readonly registry?: Registry;
}

export interface Alerts {
  /** Subscribes to the findings topic and starts the flush loop. */
  start(): Promise<void>;
  /** Stops consuming, waits for in-flight deliveries (bounded by the delivery deadline), closes HTTP. Idempotent. */
  stop(): Promise<void>;
  readonly engine: Engine;
  readonly deliverer: Deliverer;
  readonly instanceId: string;
}

/**
 * The alerts service (also the embedded-mode entry): consumer group `alerts` on
 * `regwatch.findings` → engine (route → group → inhibit/silence/mute → throttle → notify) →
 * deliverer (channels with retries) → delivery records. Invalid messages are logged with their
 * topic/partition/offset and skipped (they stay in the topic); store failures make the batch
 * redeliver (at-least-once; the engine is idempotent).
 */
export function createAlerts(deps: AlertsDeps): Alerts {
  const instanceId = deps.instanceId ?? `alerts-${randomUUID().slice(0, 8)}`;
  const log = deps.logger.child({ component: 'alerts', instance: instanceId });
  const http = deps.http ?? createHttpClient();
  const attemptsCounter: Counter<'channel' | 'result' | 'code'> | undefined = deps.registry
    ? new PromCounter({
        name: 'regwatch_alert_delivery_attempts_total',
        help: 'Alert delivery attempts by channel, result and error code',
        labelNames: ['channel', 'result', 'code'] as const,
        registers: [deps.registry],
      })
    : undefined;
  const invalidCounter = deps.registry
    ? new PromCounter({
        name: 'regwatch_alert_invalid_findings_total',
        help: 'Messages on the findings topic that are not valid findings',
        registers: [deps.registry],
      })
    : undefined;
  const deliverer = createDeliverer({
    config: deps.config,
    channels: deps.channels ?? defaultChannels,
    http,
    clock: deps.clock,
    logger: log,
    sink: deps.deliveriesSink,
    render: deps.render ?? (deps.config.global.alerts_url ? { alertsUrl: deps.config.global.alerts_url } : {}),
    instanceId,
    ...(attemptsCounter ? { attemptsCounter } : {}),
  });
  const engine = createEngine({
    config: deps.config,
    store: deps.store,
    clock: deps.clock,
    logger: log,
    deliverer,
    instanceId,
  });
  let sub: Subscription | undefined;
  const stopCtl = new AbortController();
  let loop: Promise<void> | undefined;
  let ticking: Promise<unknown> = Promise.resolve();
  let stopped = false;

  /** Serialized ticks. `search: false` (after a batch) looks only at groups this instance just wrote. */
  const tick = (search = true): Promise<unknown> => {
    ticking = ticking
      .then(() => engine.tick({ search }))
      .catch((err: unknown) => log.error({ err }, 'flush failed; retrying on the next tick'));
    return ticking;
  };

  return {
    engine,
    deliverer,
    instanceId,
    async start() {
      sub = await deps.bus.subscribe(
        { groupId: deps.groupId ?? 'alerts', topics: [deps.topic ?? TOPICS.findings], fromBeginning: true },
        async (batch) => {
          const findings: Finding[] = [];
          for (const m of batch) {
            let parsed: unknown;
            try {
              parsed = JSON.parse(m.value.toString('utf8'));
            } catch {
              parsed = undefined;
            }
            const r = findingSchema.safeParse(parsed);
            if (r.success) findings.push(r.data);
            else {
              invalidCounter?.inc();
              log.warn(
                {
                  topic: m.topic,
                  partition: m.partition,
                  offset: m.offset,
                  problems: r.error.issues.slice(0, 5).map((i) => `${i.path.join('.')}: ${i.message}`),
                },
                'skipping a message that is not a valid finding',
              );
            }
          }
          if (findings.length > 0) {
            await engine.ingest(findings);
            log.debug({ partition: batch[0]?.partition, findings: findings.length }, 'findings stored');
            // State is stored: the batch can be committed; the flush runs without holding the consumer.
            void tick(false);
          }
        },
      );
      loop = (async () => {
        while (!stopCtl.signal.aborted) {
          await tick();
          try {
            await deps.clock.sleep(deps.tickMs ?? 250, stopCtl.signal);
          } catch {
            break;
          }
        }
      })();
      log.info({ topic: deps.topic ?? TOPICS.findings }, 'alerts service started');
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      stopCtl.abort();
      await sub?.close();
      await loop;
      await ticking;
      await engine.idle();
      await http.close();
      log.info('alerts service stopped');
    },
  };
}
