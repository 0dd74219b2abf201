/**
 * Alerts benchmark (`npm run bench:alerts`). Prints figures, each with a baseline measured in
 * the same run and the ratio to it:
 *
 * 1. Finding → delivered latency (p50/p95/p99, ms) with group_wait 0, through the full mode:
 *    publish on Kafka → alerts consumer → Elasticsearch state (compare-and-set) → signed webhook
 *    received by a local HTTP server. Baseline: Kafka publish → consumer handler latency of the
 *    same bus on its own (what any Kafka consumer pays). Target: p99 ≤ 1000 ms.
 * 2. The same with the in-process bus and memory store (embedded mode).
 * 3. Findings/s through routing + grouping (engine.ingest into the memory store), and routing
 *    alone; baseline: parsing + validating the same findings (zod), the minimum work per finding.
 *
 * Env: KAFKA_BROKERS, ELASTICSEARCH_URL (defaults 127.0.0.1:9092, http://127.0.0.1:9200),
 * BENCH_FINDINGS (latency samples, default 200), BENCH_RATE (findings/s, default 40).
 */
import { randomBytes } from 'node:crypto';
import { Client } from '@elastic/elasticsearch';
import { createKafkaBus } from '../shared/src/bus/kafka.ts';
import { createMemoryBus } from '../shared/src/bus/memory.ts';
import type { MessageBus } from '../shared/src/bus/types.ts';
import { createLogger, silentLogger } from '../shared/src/logger.ts';
import { findingSchema, type Finding } from '../shared/src/model/finding.ts';
import { TOPICS } from '../shared/src/topics.ts';
import { createFakeClock, systemClock } from '../services/alerts/src/clock.ts';
import { parseAlertsConfig } from '../services/alerts/src/config.ts';
import { createMemoryDeliveriesSink } from '../services/alerts/src/deliveries.ts';
import { createEsDeliveriesSink } from '../services/alerts/src/deliveries-es.ts';
import { createDeliverer } from '../services/alerts/src/delivery.ts';
import { createEngine } from '../services/alerts/src/engine.ts';
import { findingLabels } from '../services/alerts/src/labels.ts';
import { buildRouteTree, matchRoutes } from '../services/alerts/src/route.ts';
import { createAlerts } from '../services/alerts/src/service.ts';
import { createEsStore } from '../services/alerts/src/store/elasticsearch.ts';
import { createMemoryStore } from '../services/alerts/src/store/memory.ts';
import type { AlertStore } from '../services/alerts/src/store/types.ts';
import type { DeliveriesSink } from '../services/alerts/src/deliveries.ts';
import { startChatServer } from '../test/helpers/chat-servers.ts';
import { channels } from '../services/alerts/src/channels/index.ts';
import type { HttpClient } from '../services/alerts/src/http.ts';

const N = Number(process.env['BENCH_FINDINGS'] ?? 200);
const RATE = Number(process.env['BENCH_RATE'] ?? 40);
const brokers = (process.env['KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(',');
const esUrl = process.env['ELASTICSEARCH_URL'] ?? 'http://127.0.0.1:9200';
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const rid = (): string => randomBytes(4).toString('hex');

function finding(i: number, now = Date.now()): Finding {
  return findingSchema.parse({
    id: `bench-${i}-${rid()}`,
    rule: ['pull.volume_spike', 'repo.crawling', 'auth.failed_login_user', 'delete.burst'][i % 4],
    severity: (['high', 'medium', 'critical', 'low'] as const)[i % 4],
    score: 70,
    status: 'firing',
    entity: { type: 'user', id: `user${i}` },
    window: { start: new Date(now - 900_000).toISOString(), end: new Date(now).toISOString() },
    observed: { value: 100 + i, unit: 'count' },
    expected: { value: 10, unit: 'count', lower: 2, upper: 20 },
    evidence: {
      repositories: [{ name: 'team/app', count: 80 }],
      source_ips: [{ ip: `198.51.100.${i % 250}`, count: 100 }],
      user_agents: [],
      sample_event_ids: [],
    },
    message: `user${i} pulled ${100 + i} images`,
    links: { discover: 'http://kibana/x' },
    labels: { team: i % 2 ? 'a' : 'b' },
    detected_at: new Date(now).toISOString(),
  });
}

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
};
const fmt = (xs: number[]): string =>
  `p50 ${pct(xs, 50).toFixed(1)} ms, p95 ${pct(xs, 95).toFixed(1)} ms, p99 ${pct(xs, 99).toFixed(1)} ms (n=${xs.length})`;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Bus-only latency: publish → handler, same bus, same pacing. */
async function busBaseline(bus: MessageBus, topic: string): Promise<number[]> {
  const sent = new Map<string, number>();
  const lat: number[] = [];
  const sub = await bus.subscribe(
    { groupId: `bench-base-${rid()}`, topics: [topic], fromBeginning: false },
    async (batch) => {
      const t = performance.now();
      for (const m of batch) {
        const s = sent.get(m.key ?? '');
        if (s !== undefined) lat.push(t - s);
      }
    },
  );
  await sleep(4000);
  const pub = bus.publisher();
  for (let i = 0; i < N; i++) {
    const key = `k${i}`;
    sent.set(key, performance.now());
    await pub.publish(topic, [{ key, value: JSON.stringify(finding(i)) }]);
    await sleep(1000 / RATE);
  }
  const end = Date.now() + 20_000;
  while (lat.length < N && Date.now() < end) await sleep(50);
  await sub.close();
  await pub.close();
  return lat;
}

/** Wraps a store to time every call (ms) per method: where the latency goes. */
function timedStore(inner: AlertStore, times: Map<string, number[]>): AlertStore {
  const wrap =
    <A extends unknown[], R>(name: string, fn: (...a: A) => Promise<R>) =>
    async (...a: A): Promise<R> => {
      const t = performance.now();
      try {
        return await fn(...a);
      } finally {
        const list = times.get(name) ?? [];
        list.push(performance.now() - t);
        times.set(name, list);
      }
    };
  return {
    getGroup: wrap('getGroup', inner.getGroup.bind(inner)),
    putGroup: wrap('putGroup', inner.putGroup.bind(inner)),
    deleteGroup: wrap('deleteGroup', inner.deleteGroup.bind(inner)),
    dueGroups: wrap('dueGroups', inner.dueGroups.bind(inner)),
    firingAlerts: wrap('firingAlerts', inner.firingAlerts.bind(inner)),
    getThrottle: wrap('getThrottle', inner.getThrottle.bind(inner)),
    putThrottle: wrap('putThrottle', inner.putThrottle.bind(inner)),
    putSilence: wrap('putSilence', inner.putSilence.bind(inner)),
    getSilence: wrap('getSilence', inner.getSilence.bind(inner)),
    listSilences: wrap('listSilences', inner.listSilences.bind(inner)),
    close: () => inner.close(),
  };
}

/** Finding → webhook received latency through createAlerts with group_wait 0. */
async function alertsLatency(
  bus: MessageBus,
  topic: string,
  store: AlertStore,
  sink: DeliveriesSink,
): Promise<number[]> {
  const hook = await startChatServer('webhook', { secret: SECRET });
  const config = parseAlertsConfig(`
route: { receiver: hook, group_by: ['...'], group_wait: 0s, group_interval: 5m, repeat_interval: 4h }
receivers: [{ name: hook, channels: [{ type: webhook, url: "${hook.url}", secret: "${SECRET}" }] }]
`);
  const alerts = createAlerts({
    bus,
    store,
    clock: systemClock,
    config,
    logger: process.env['BENCH_LOG']
      ? createLogger('bench', { level: 'debug', destination: process.stderr as never })
      : silentLogger(),
    deliveriesSink: sink,
    topic,
    groupId: `bench-alerts-${rid()}`,
    tickMs: 100,
  });
  await alerts.start();
  await sleep(4000);
  const sent = new Map<string, number>();
  const pub = bus.publisher();
  for (let i = 0; i < N; i++) {
    const f = finding(i);
    sent.set(f.id, performance.now());
    await pub.publish(topic, [{ key: `user:${f.entity.id}`, value: JSON.stringify(f) }]);
    await sleep(1000 / RATE);
  }
  const end = Date.now() + 30_000;
  while (hook.accepted.length < N && Date.now() < end) await sleep(50);
  const lat: number[] = [];
  // Receive time on the server: recorded with Date.now(); convert using the offset at publish.
  const offset = Date.now() - performance.now();
  for (const r of hook.accepted) {
    const body = r.json as { alerts: { key: string }[] };
    for (const a of body.alerts) {
      const s = sent.get(a.key);
      if (s !== undefined) lat.push(r.at - offset - s);
    }
  }
  if (lat.length < N)
    console.log(
      `    (webhook requests ${hook.requests.length}, accepted ${hook.accepted.length}, matched ${lat.length})`,
    );
  await pub.close();
  await alerts.stop();
  await hook.close();
  return lat;
}

async function routingThroughput(): Promise<void> {
  const config = parseAlertsConfig(`
route:
  receiver: default
  group_by: [rule, entity]
  group_wait: 30s
  routes:
    - { matchers: ['severity=~high|critical', 'entity_type=user'], receiver: sec, continue: true }
    - { matchers: ['rule=~storage\\\\..*'], receiver: platform }
    - { matchers: ['team=a'], receiver: team-a }
receivers:
  - { name: default, channels: [{ type: console }] }
  - { name: sec, channels: [{ type: console }] }
  - { name: platform, channels: [{ type: console }] }
  - { name: team-a, channels: [{ type: console }] }
inhibit_rules:
  - { source_matchers: ['rule=auth.bruteforce_ip'], target_matchers: ['rule=auth.failed_login_user'], equal: [source_ip] }
`);
  const M = 20_000;
  const raw = Array.from({ length: M }, (_, i) => JSON.stringify(finding(i)));
  let t = performance.now();
  const parsed = raw.map((r) => findingSchema.parse(JSON.parse(r)));
  const parseRate = M / ((performance.now() - t) / 1000);
  const root = buildRouteTree(config);
  t = performance.now();
  let routed = 0;
  for (const f of parsed) routed += matchRoutes(root, findingLabels(f)).length;
  const routeRate = M / ((performance.now() - t) / 1000);
  const noHttp: HttpClient = { post: async () => ({ status: 200, headers: {}, body: '' }), close: async () => {} };
  const clock = createFakeClock(Date.now());
  const deliverer = createDeliverer({
    config,
    channels,
    http: noHttp,
    clock,
    logger: silentLogger(),
    sink: createMemoryDeliveriesSink(),
    render: {},
    instanceId: 'b',
  });
  const engine = createEngine({
    config,
    store: createMemoryStore(),
    clock,
    logger: silentLogger(),
    deliverer,
    instanceId: 'b',
  });
  t = performance.now();
  for (let i = 0; i < M; i += 500) await engine.ingest(parsed.slice(i, i + 500));
  const ingestRate = M / ((performance.now() - t) / 1000);
  console.log(`\n[3] findings/s (${M} findings, ${routed} route matches)`);
  console.log(`    baseline parse + zod validate : ${parseRate.toFixed(0)} findings/s`);
  console.log(
    `    routing (labels + tree)       : ${routeRate.toFixed(0)} findings/s  (ratio to baseline ${(routeRate / parseRate).toFixed(2)}x)`,
  );
  console.log(
    `    routing + grouping (ingest)   : ${ingestRate.toFixed(0)} findings/s  (ratio to baseline ${(ingestRate / parseRate).toFixed(2)}x)`,
  );
}

async function main(): Promise<void> {
  console.log(`alerts benchmark: ${N} findings at ${RATE}/s, group_wait 0`);
  await routingThroughput();

  const mem = createMemoryBus();
  const memTopic = `bench-${rid()}.${TOPICS.findings}`;
  await mem.ensureTopics([memTopic, `${memTopic}.base`], 3);
  const memBase = await busBaseline(mem, `${memTopic}.base`);
  const memLat = await alertsLatency(mem, memTopic, createMemoryStore(), createMemoryDeliveriesSink());
  await mem.close();
  console.log(`\n[2] embedded (in-process bus + memory store)`);
  console.log(`    baseline bus publish→handler  : ${fmt(memBase)}`);
  console.log(
    `    finding → webhook delivered   : ${fmt(memLat)}  (p99 ratio to baseline ${(pct(memLat, 99) / pct(memBase, 99)).toFixed(1)}x)`,
  );

  const es = new Client({ node: esUrl });
  const kafka = createKafkaBus({ brokers, clientId: 'bench-alerts', logger: silentLogger() });
  const topic = `bench-${rid()}.${TOPICS.findings}`;
  const stateIndex = `regwatch-alert-state-bench-${rid()}`;
  const delivIndex = `regwatch-alert-deliveries-bench-${rid()}`;
  try {
    await kafka.ensureTopics([topic, `${topic}.base`], 3);
    const base = await busBaseline(kafka, `${topic}.base`);
    const times = new Map<string, number[]>();
    const lat = await alertsLatency(
      kafka,
      topic,
      timedStore(createEsStore({ client: es, index: stateIndex }), times),
      createEsDeliveriesSink({ client: es, index: delivIndex }),
    );
    console.log(`\n[1] full mode (Kafka + Elasticsearch state + signed webhook)`);
    console.log(`    baseline Kafka publish→handler: ${fmt(base)}`);
    console.log(
      `    finding → webhook delivered   : ${fmt(lat)}  (p99 ratio to baseline ${(pct(lat, 99) / pct(base, 99)).toFixed(1)}x)`,
    );
    for (const [name, xs] of times) console.log(`    ES state ${name.padEnd(13)}: ${fmt(xs)}`);
    console.log(`    target p99 ≤ 1000 ms: ${pct(lat, 99) <= 1000 ? 'MET' : 'NOT MET'}; delivered ${lat.length}/${N}`);
  } finally {
    await kafka.close();
    await es.indices.delete({ index: [stateIndex, delivIndex], ignore_unavailable: true });
    await es.close();
  }
}

await main();
