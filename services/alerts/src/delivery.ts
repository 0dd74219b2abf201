import { randomUUID } from 'node:crypto';
import type { Counter } from 'prom-client';
import type { Logger } from '../../../shared/src/logger.ts';
import type { Outcome } from '../../../shared/src/outcome.ts';
import type { AlertsConfig, ReceiverConfig } from './config.ts';
import type { Clock } from './clock.ts';
import type { HttpClient } from './http.ts';
import type { Notification, RenderSettings } from './model.ts';
import type { AlertChannel, RenderedRequest } from './channels/types.ts';
import type { DeliveriesSink, DeliveryRecord } from './deliveries.ts';
import { sendWithRetry, type RetryPolicy } from './retry.ts';

/** Failure codes that mean "this destination is misconfigured", not "this message is bad". */
const BROKEN_DESTINATION_CODES: ReadonlySet<string> = new Set([
  'auth_rejected',
  'smtp_starttls_unavailable',
  'smtp_tls_failed',
  'smtp_auth_failed',
  'chat_forbidden',
  'http_404',
  'http_410',
]);

/**
 * Every secret-looking piece of a channel config: string values, and the path segments and
 * query values of URLs (webhook URLs embed tokens). Used to scrub error text before it is
 * logged or stored, in case an API echoes them back.
 */
const NON_SECRET_KEYS: ReadonlySet<string> = new Set([
  'type',
  'host',
  'from',
  'to',
  'username',
  'channel',
  'subject_prefix',
  'mention',
  'ca_file',
  'stream',
  'api_url',
]);

export function configSecrets(cfg: unknown): string[] {
  const out = new Set<string>();
  const visit = (v: unknown, key: string): void => {
    if (typeof v === 'string') {
      if (NON_SECRET_KEYS.has(key)) return;
      if (v.length >= 6) out.add(v);
      if (/^https?:\/\//.test(v)) {
        try {
          const u = new URL(v);
          for (const seg of u.pathname.split('/')) if (seg.length >= 6) out.add(decodeURIComponent(seg));
          for (const [, q] of u.searchParams) if (q.length >= 6) out.add(q);
        } catch {
          /* not a URL */
        }
      }
    } else if (Array.isArray(v)) v.forEach((x) => visit(x, key));
    else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) visit(x, k);
  };
  visit(cfg, '');
  return [...out].sort((a, b) => b.length - a.length);
}

/** Replaces each secret in `text` with `***`. */
export function scrub(text: string, secrets: readonly string[]): string {
  let t = text;
  for (const s of secrets) if (t.includes(s)) t = t.split(s).join('***');
  return t;
}

function scrubOutcome(o: Outcome, secrets: readonly string[]): Outcome {
  return o.kind === 'ok' ? o : { ...o, error: scrub(o.error, secrets) };
}

export interface DelivererDeps {
  readonly config: AlertsConfig;
  readonly channels: ReadonlyMap<string, AlertChannel>;
  readonly http: HttpClient;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly sink: DeliveriesSink;
  readonly render: RenderSettings;
  readonly instanceId: string;
  readonly random?: () => number;
  /** Optional prom-client counter `regwatch_alert_delivery_attempts_total{channel,result,code}`. */
  readonly attemptsCounter?: Counter<'channel' | 'result' | 'code'>;
}

/** Result of delivering a notification on one channel. */
export interface ChannelResult {
  readonly index: number;
  readonly channel: string;
  readonly destination: string;
  readonly outcome: Outcome;
  readonly attempts: number;
}

export interface Deliverer {
  /**
   * Delivers `n` to every channel of its receiver not listed in `done` (channels run in
   * parallel; one destination handles one notification at a time, in order — C26 pacing).
   * `onChannelDone(i)` is awaited after channel i finished (ok or given up). Failed channels
   * fall back to the receiver's `fallback`, and broken destinations raise one health notice.
   * Never rejects for delivery failures.
   */
  deliver(
    n: Notification,
    done: readonly number[],
    onChannelDone: (index: number) => Promise<void>,
  ): Promise<ChannelResult[]>;
  /** Delivers to a named receiver, skipping channels whose destination is in `exclude`. */
  deliverTo(receiver: string, n: Notification, exclude?: ReadonlySet<string>): Promise<ChannelResult[]>;
  /** What each channel of the receiver would be sent (dry run, secrets masked). */
  preview(n: Notification): RenderedRequest[];
}

/**
 * Creates the deliverer: the one place that owns retries (backoff + jitter + deadline,
 * Retry-After honoured), per-destination pacing, circuit breaking of broken destinations
 * (permanent failures are reported once and re-checked no sooner than `recheck_after`),
 * fallbacks, health notices (never through the failing destination) and delivery records.
 */
export function createDeliverer(deps: DelivererDeps): Deliverer {
  const { config, clock, logger } = deps;
  const receivers = new Map<string, ReceiverConfig>(config.receivers.map((r) => [r.name, r]));
  const policy: RetryPolicy = {
    maxAttempts: config.delivery.max_attempts,
    initialBackoffMs: config.delivery.initial_backoff,
    maxBackoffMs: config.delivery.max_backoff,
    deadlineMs: config.delivery.deadline,
  };
  const queues = new Map<string, Promise<unknown>>();
  const broken = new Map<string, { until: number; code: string; error: string }>();
  const healthSent = new Map<string, number>();

  /** Runs `fn` after every earlier job for `dest` finished (FIFO per destination). */
  function serial<T>(dest: string, fn: () => Promise<T>): Promise<T> {
    const prev = queues.get(dest) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    queues.set(dest, tail);
    void tail.then(() => {
      if (queues.get(dest) === tail) queues.delete(dest);
    });
    return run;
  }

  function record(
    n: Notification,
    channel: string,
    receiver: string,
    destination: string,
    attempt: number,
    outcome: Outcome,
    final: boolean,
    durationMs: number,
    result?: string,
  ): DeliveryRecord {
    const all = [...n.firing, ...n.resolved];
    const retryAfter =
      outcome.kind === 'retryable' && outcome.retryAfterMs !== undefined
        ? { retry_after_s: outcome.retryAfterMs / 1000 }
        : {};
    return {
      '@timestamp': new Date(clock.now()).toISOString(),
      event: {
        id: randomUUID(),
        action: n.status === 'resolved' ? 'resolve' : 'notify',
        outcome: outcome.kind === 'ok' ? 'success' : outcome.kind === 'failed' || final ? 'failure' : 'unknown',
        duration: Math.round(durationMs * 1e6),
      },
      oci_registry: {
        alert: {
          finding_id: all.map((a) => a.key).slice(0, 100),
          rule: [...new Set(all.map((a) => a.finding.rule))],
          ...(all[0] ? { severity: all[0].finding.severity } : {}),
          status: n.status,
          receiver,
          channel,
          destination,
          group_key: n.groupKey,
          notification_key: n.key,
          kind: n.kind,
          attempt,
          result: result ?? outcome.kind,
          final,
          ...retryAfter,
          instance: deps.instanceId,
        },
      },
      ...(outcome.kind !== 'ok'
        ? { error: { code: outcome.code ?? 'unknown', message: outcome.error.slice(0, 500) } }
        : {}),
    };
  }

  // Records are buffered and written in the background (one bulk request per flush), so a slow
  // Elasticsearch never holds a destination's queue; `deliver` awaits the flush before returning.
  let buffer: DeliveryRecord[] = [];
  let flushing: Promise<void> = Promise.resolve();
  function flushRecords(): Promise<void> {
    flushing = flushing.then(async () => {
      if (buffer.length === 0) return;
      const batch = buffer;
      buffer = [];
      try {
        await deps.sink.record(batch);
      } catch (err) {
        logger.warn(
          { err: { code: (err as { code?: string }).code, message: (err as Error).message }, records: batch.length },
          'could not store delivery records',
        );
      }
    });
    return flushing;
  }
  async function store(records: DeliveryRecord[]): Promise<void> {
    buffer.push(...records);
    void flushRecords();
  }

  async function sendOne(n: Notification, receiver: ReceiverConfig, index: number): Promise<ChannelResult> {
    const cfg = receiver.channels[index] as { type: string };
    const channel = deps.channels.get(cfg.type);
    if (!channel)
      return {
        index,
        channel: cfg.type,
        destination: cfg.type,
        outcome: { kind: 'failed', error: 'unknown channel', code: 'unknown_channel' },
        attempts: 0,
      };
    const destination = channel.destination(cfg);
    const secrets = configSecrets(cfg);
    const log = logger.child({ channel: cfg.type, destination, receiver: receiver.name, notification: n.key });
    const open = broken.get(destination);
    if (open && clock.now() < open.until) {
      const outcome: Outcome = {
        kind: 'failed',
        error: `destination marked broken until ${new Date(open.until).toISOString()}: ${open.error}`,
        code: open.code,
      };
      await store([record(n, cfg.type, receiver.name, destination, 0, outcome, true, 0, 'skipped')]);
      log.warn({ code: open.code }, 'destination marked broken; not contacted');
      return { index, channel: cfg.type, destination, outcome, attempts: 0 };
    }
    return serial(destination, async () => {
      const result = await sendWithRetry(
        async (signal) =>
          scrubOutcome(
            await channel.send(n, cfg, { logger: log, http: deps.http, signal, now: clock.now, render: deps.render }),
            secrets,
          ),
        {
          policy,
          clock,
          ...(deps.random ? { random: deps.random } : {}),
          onAttempt: async (info) => {
            const final = info.nextDelayMs === undefined;
            deps.attemptsCounter?.inc({
              channel: cfg.type,
              result: info.outcome.kind,
              code: info.outcome.kind === 'ok' ? '' : (info.outcome.code ?? ''),
            });
            if (info.outcome.kind === 'ok')
              log.info({ attempt: info.attempt, durationMs: info.durationMs }, 'notification delivered');
            else
              log.warn(
                {
                  attempt: info.attempt,
                  code: info.outcome.code,
                  error: info.outcome.error,
                  retryInMs: info.nextDelayMs,
                },
                info.outcome.kind === 'retryable' && !final
                  ? 'delivery attempt failed; will retry'
                  : 'delivery attempt failed',
              );
            await store([
              record(n, cfg.type, receiver.name, destination, info.attempt, info.outcome, final, info.durationMs),
            ]);
          },
        },
      );
      if (
        result.outcome.kind === 'failed' &&
        !result.exhausted &&
        BROKEN_DESTINATION_CODES.has(result.outcome.code ?? '')
      ) {
        broken.set(destination, {
          until: clock.now() + config.delivery.recheck_after,
          code: result.outcome.code ?? 'failed',
          error: result.outcome.error,
        });
      }
      return { index, channel: cfg.type, destination, outcome: result.outcome, attempts: result.attempts };
    });
  }

  async function health(failedOn: ChannelResult, receiver: ReceiverConfig, n: Notification): Promise<void> {
    if (n.kind === 'health') return;
    const key = `${failedOn.destination}|${failedOn.outcome.kind === 'ok' ? '' : failedOn.outcome.code}`;
    const last = healthSent.get(key);
    if (last !== undefined && clock.now() - last < config.delivery.recheck_after) return;
    healthSent.set(key, clock.now());
    const target = config.delivery.health_receiver ?? receiver.fallback;
    const error = failedOn.outcome.kind === 'ok' ? '' : failedOn.outcome.error;
    const code = failedOn.outcome.kind === 'ok' ? '' : (failedOn.outcome.code ?? '');
    logger.error(
      { channel: failedOn.channel, destination: failedOn.destination, receiver: receiver.name, code },
      'alert channel is failing',
    );
    if (!target) return;
    const notice: Notification = {
      kind: 'health',
      key: `health:${failedOn.destination}:${code}:${clock.now()}`,
      groupKey: `health:${failedOn.destination}`,
      receiver: target,
      status: 'firing',
      groupLabels: {},
      firing: [],
      resolved: [],
      throttled: 0,
      createdAt: clock.now(),
      title: `[regwatch] ${failedOn.channel} channel of receiver "${receiver.name}" is failing (${code})`,
      text: `Channel ${failedOn.channel} (${failedOn.destination}) of receiver "${receiver.name}" could not deliver "${n.key}" after ${failedOn.attempts} attempt(s).\nReason: ${error}\nFurther failures of this destination are reported again after ${Math.round(config.delivery.recheck_after / 60000)} min at the earliest.`,
    };
    await deliverTo(target, notice, new Set([failedOn.destination]));
  }

  async function deliverTo(
    name: string,
    n: Notification,
    exclude: ReadonlySet<string> = new Set(),
  ): Promise<ChannelResult[]> {
    const receiver = receivers.get(name);
    if (!receiver) return [];
    const idx = receiver.channels
      .map((c, i) => ({ c, i }))
      .filter(({ c }) => !exclude.has(deps.channels.get(c.type)?.destination(c) ?? ''))
      .map(({ i }) => i);
    return Promise.all(idx.map((i) => sendOne(n, receiver, i)));
  }

  return {
    async deliver(n, done, onChannelDone) {
      const receiver = receivers.get(n.receiver);
      if (!receiver) {
        logger.error({ receiver: n.receiver }, 'notification for an unknown receiver dropped (config changed?)');
        return [];
      }
      const results = await Promise.all(
        receiver.channels.map(async (_c, i) => {
          if (done.includes(i)) return undefined;
          const r = await sendOne(n, receiver, i);
          if (r.outcome.kind === 'failed') {
            const failedDest = new Set([r.destination]);
            await health(r, receiver, n);
            if (receiver.fallback) {
              logger.warn(
                { receiver: receiver.name, fallback: receiver.fallback, channel: r.channel },
                'falling back to another receiver',
              );
              await deliverTo(receiver.fallback, { ...n, receiver: receiver.fallback }, failedDest);
            }
          }
          await onChannelDone(i);
          return r;
        }),
      );
      await flushRecords();
      return results.filter((r): r is ChannelResult => r !== undefined);
    },
    async deliverTo(name, n, exclude) {
      const r = await deliverTo(name, n, exclude);
      await flushRecords();
      return r;
    },
    preview(n) {
      const receiver = receivers.get(n.receiver);
      if (!receiver) return [];
      return receiver.channels.map((c) => {
        const ch = deps.channels.get(c.type);
        return ch ? ch.render(n, c, deps.render, clock.now()) : { channel: c.type, target: '?', body: null };
      });
    },
  };
}
