/**
 * Ingest benchmark (`npm run bench:ingest`), against the real engines (npm run infra:up):
 *  1. Kafka → Elasticsearch: events/s of the indexer (consume raw envelopes, normalize, bulk create,
 *     publish to regwatch.events, commit) vs a raw `_bulk` loop of the same documents in the same
 *     run (the Elasticsearch ceiling on this machine). Target ratio ≥ 0.9.
 *  2. Receiver: envelopes/s and p99 latency of POST /v1/notifications (202 after the Kafka ack) vs a
 *     bare Fastify route that answers 202 at once (autocannon). Target ≥ 0.5 of bare, p99 < 50 ms.
 *
 * Fairness (changed after the first version, which measured the indexer at 1.5× the "ceiling"):
 *  - The raw loop sent one 1000-document bulk at a time while the indexer had one bulk per
 *    partition in flight (3, now up to 3 × IN_FLIGHT): the loop now uses the indexer's mean bulk
 *    size and its peak number of bulks in flight, counted by wrapping its bulk function. Both use
 *    `refresh: false` and the same pre-normalized documents.
 *  - The indexer's clock starts at its first delivered batch, not before the consumer-group join
 *    (a one-off of seconds, not throughput).
 *  - The machine is 2 shared cores: each side is measured between two runs of the other
 *    (raw → indexer → raw → indexer → raw, bare → receiver → bare) and compared with their mean;
 *    the Kafka→ES ratio is the median of the per-round ratios. The JSON also has the load average
 *    and CPU µs per event/request, the figure least distorted by other load.
 *  - Both Kafka→ES sides are warmed up first (an untimed indexer run on a quarter of the events and
 *    an untimed raw loop): before, the first raw loop met a cold Elasticsearch and ran at about half
 *    the rate of the second, which lowered the ceiling the indexer was compared with.
 *  - The indexer asks `_bulk` for only the item statuses/errors it reads (`filter_path`, see
 *    services/ingest/src/es-bulk.ts), which spares Elasticsearch building the full response: the
 *    raw loop asks for the same filtered response, so the ceiling is not lowered by work the
 *    indexer no longer causes.
 *  - The broker and Elasticsearch share the 2 cores with this process, so a ratio is mostly a
 *    share of the machine's CPU: the bench prints the CPU per event/request of this process and
 *    of the engines `npm run infra:up` started (/proc/<pid>/stat of the pids in .infra/), for the
 *    indexer vs the raw loop and the receiver vs the bare route.
 *  - The receiver section also warms both sides up first (BENCH_WARMUP_SECONDS of untimed load on
 *    the bare route, then on the receiver): before, the receiver's measured run began with kafkajs'
 *    produce path still being compiled (V8 background threads ~40 µs CPU per request in the first
 *    seconds, 8–17 µs later). It also prints how many produce requests the receiver's publishes
 *    became (messages per request: how well concurrent requests coalesce) and their ack times.
 *  - autocannon runs in a worker thread (BENCH_AC_WORKERS=0 puts it back on the server's thread,
 *    where its own work delays every Kafka acknowledgement the receiver awaits).
 *  - Ceilings (added in the sixth version): two pass-through runs measured exactly like an indexer
 *    round (same raw topic, consumer, batches in flight, bulk adapter, commit after the bulk) but
 *    with ready-made documents instead of normalizing: "consume + _bulk" and "consume + _bulk +
 *    republish to an events topic". They show what share of the raw loop ANY Kafka → Elasticsearch
 *    pipeline reaches on this machine, before normalization costs anything: on 2 shared cores the
 *    broker and the consumer take CPU from Elasticsearch, so the indexer's ratio is bounded by the
 *    second ceiling (the issue requires the republish to `regwatch.events`). The receiver section
 *    has one too: a bare route that publishes the body and answers after the Kafka ack, nothing else.
 * Env: BENCH_LINGER_MS (the publisher's lingerMs; default: the service's), BENCH_CEILINGS (0 skips the ceilings), BENCH_EVENTS (default 40000), BENCH_SECONDS (autocannon duration, default 10), BENCH_PART
 * (indexer | receiver | all), BENCH_ROUNDS (interleaved indexer rounds, default 3), BENCH_IN_FLIGHT (batches per partition, default 2 as in the service),
 * BENCH_AC_WORKERS (default 1), BENCH_WARMUP_SECONDS (untimed load on the bare route and the receiver before
 * the measured bare → receiver → bare runs, default 3), BENCH_PROFILE_DIR (when set, a V8 CPU profile of the main thread
 * during each measured section only — `indexer.cpuprofile`, `receiver.cpuprofile` — excluding
 * set-up, topic filling and the baseline runs), KAFKA_BROKERS, ELASTICSEARCH_URL.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon from 'autocannon';
import Fastify from 'fastify';
import kafkajs from 'kafkajs';
import { createKafkaBus } from '../shared/src/bus/kafka.ts';
import type { ProduceRequestInfo } from '../shared/src/bus/kafka.ts';
import { applyElasticsearchAssets } from '../shared/src/es/assets.ts';
import { createEsClient, waitForElasticsearch } from '../shared/src/es/client.ts';
import { eventsDataStream } from '../shared/src/es/names.ts';
import { silentLogger } from '../shared/src/logger.ts';
import { normalizePayload } from '../shared/src/normalize/index.ts';
import { TOPICS } from '../shared/src/topics.ts';
import type { MessageBus, OutgoingMessage } from '../shared/src/bus/types.ts';
import type { RegistryEvent } from '../shared/src/model/registry-event.ts';
import { createIndexer } from '../services/ingest/src/indexer.ts';
import { createIngestMetrics } from '../services/ingest/src/metrics.ts';
import { createIngestNormalizer } from '../services/ingest/src/normalizer.ts';
import { buildReceiver } from '../services/ingest/src/receiver.ts';
import { BULK_RESPONSE_FILTER, esBulk } from '../services/ingest/src/es-bulk.ts';

const EVENTS = Number(process.env['BENCH_EVENTS'] ?? 40_000);
/** `indexer`, `receiver` or `all` (default). */
const PART = process.env['BENCH_PART'] ?? 'all';
/** Partitions of the bench topics (the ingest service's default KAFKA_TOPIC_PARTITIONS). */
const PARTITIONS = 3;
/** Batches per partition in the indexer at once (the ingest service's INGEST_BATCHES_IN_FLIGHT). */
const IN_FLIGHT = Number(process.env['BENCH_IN_FLIGHT'] ?? 2);
/** Also measure the pass-through ceilings (consume + bulk ready-made documents, ± republish); BENCH_CEILINGS=0 skips them. */
const CEILINGS = process.env['BENCH_CEILINGS'] !== '0';
/** autocannon worker threads (0 = in the server's own thread). */
const AC_WORKERS = Number(process.env['BENCH_AC_WORKERS'] ?? 1);
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 10);
const PER_ENVELOPE = 10;
/** Interleaved indexer rounds (each between two raw `_bulk` loops). */
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3);
const BROKERS = (process.env['KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(',');
const ES_URL = process.env['ELASTICSEARCH_URL'] ?? 'http://127.0.0.1:9200';
const run = `bench_${process.pid}_${randomBytes(3).toString('hex')}`;
const log = silentLogger();
const say = (s: string): boolean => process.stderr.write(`${s}\n`);
const PROFILE_DIR = process.env['BENCH_PROFILE_DIR'];
/** Untimed load on each receiver-section side before the measured runs, s (JIT, connections). */
const WARMUP_SECONDS = Number(process.env['BENCH_WARMUP_SECONDS'] ?? 3);
/** Produce requests of the bench's publisher (KafkaBusOptions.onProduceRequest), emptied per section. */
const produced: ProduceRequestInfo[] = [];

/** State directory of `npm run infra:up` (pid files of the engines it started). */
const INFRA_DIR = process.env['REGWATCH_INFRA_DIR'] ?? join(import.meta.dirname, '..', '.infra');

/** Pid from a pid file, undefined when absent. */
function pidFile(path: string): number | undefined {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * CPU time (user + system, µs) a process has used so far, from /proc/<pid>/stat (Linux; fields 14
 * and 15 in clock ticks, 100 per second on Linux x86-64). undefined when unknown.
 */
function processCpuUs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
  } catch {
    return undefined;
  }
}

/**
 * The engines' CPU during a section: the broker and Elasticsearch started by `npm run infra:up`
 * run on the same 2 cores as this process, so the machine's CPU per event/request is this
 * process's plus theirs. Returns a function giving the µs each used since the call.
 */
function engineCpu(): () => { broker?: number; elasticsearch?: number } {
  const pids = {
    broker: pidFile(join(INFRA_DIR, 'kafka', 'kafka.pid')),
    elasticsearch: pidFile(join(INFRA_DIR, 'es', 'es.pid')),
  };
  const b0 = processCpuUs(pids.broker);
  const e0 = processCpuUs(pids.elasticsearch);
  return () => {
    const b1 = processCpuUs(pids.broker);
    const e1 = processCpuUs(pids.elasticsearch);
    return {
      ...(b0 !== undefined && b1 !== undefined ? { broker: b1 - b0 } : {}),
      ...(e0 !== undefined && e1 !== undefined ? { elasticsearch: e1 - e0 } : {}),
    };
  };
}

/** "this process N + broker B + Elasticsearch E µs" per unit (parts that are unknown are left out). */
function machineCpuText(nodeUs: number, engines: { broker?: number; elasticsearch?: number }, units: number): string {
  const parts = [`Node ${Math.round(nodeUs / units)}`];
  if (engines.broker !== undefined) parts.push(`broker ${Math.round(engines.broker / units)}`);
  if (engines.elasticsearch !== undefined) parts.push(`Elasticsearch ${Math.round(engines.elasticsearch / units)}`);
  return `${parts.join(' + ')} µs`;
}

/** Starts a CPU profile of this thread when BENCH_PROFILE_DIR is set; the returned function writes it. */
async function profile(name: string): Promise<() => Promise<void>> {
  if (!PROFILE_DIR) return async () => undefined;
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return async () => {
    const { profile: p } = await session.post('Profiler.stop');
    session.disconnect();
    await writeFile(join(PROFILE_DIR, `${name}.cpuprofile`), JSON.stringify(p));
  };
}

function envelope(base: number, n: number): string {
  return JSON.stringify({
    events: Array.from({ length: n }, (_, i) => ({
      id: `${run}-${base + i}`,
      timestamp: new Date(Date.UTC(2026, 10, 29, 10, 0, 0, (base + i) % 1000)).toISOString(),
      action: 'pull',
      target: {
        mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
        size: 708,
        digest: 'sha256:fea8895f450959fa676bcc1df0611ea93823a735a01205fd8622846041d0c7cf',
        length: 708,
        repository: `team-${(base + i) % 17}/app`,
        url: 'http://registry.example.test:5000/v2/team/app/manifests/sha256:fea8895f450959fa676bcc1df0611ea93823a735a01205fd8622846041d0c7cf',
        tag: 'v1',
      },
      request: {
        id: `req-${run}-${base + i}`,
        addr: `192.0.2.${(base + i) % 250}:40000`,
        host: 'registry.example.test',
        method: 'GET',
        useragent: 'skopeo/1.9.3',
      },
      actor: { name: `user-${(base + i) % 50}` },
      source: { addr: 'registry-1:5000', instanceID: '00000000-0000-4000-8000-0000000000ff' },
    })),
  });
}

/** Counts `_bulk` calls: documents per call and the most requests in flight at once. */
function bulkProbe() {
  let inFlight = 0;
  return {
    calls: 0,
    docs: 0,
    maxInFlight: 0,
    async around<T>(docs: number, fn: () => Promise<T>): Promise<T> {
      this.calls++;
      this.docs += docs;
      this.maxInFlight = Math.max(this.maxInFlight, ++inFlight);
      try {
        return await fn();
      } finally {
        inFlight--;
      }
    },
  };
}

/**
 * The ceiling: the same documents, pre-normalized, sent with `_bulk` `create` in chunks of `chunk`
 * documents with up to `concurrency` requests in flight (the batch size and parallelism the
 * indexer had in the same run). Returns events/s and the CPU (µs) this process and the engines used.
 */
async function rawBulkLoop(
  es: ReturnType<typeof createEsClient>,
  docs: readonly RegistryEvent[],
  target: string,
  chunk: number,
  concurrency: number,
): Promise<{ rate: number; nodeUs: number; engines: { broker?: number; elasticsearch?: number } }> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < docs.length) {
      const from = next;
      next += chunk;
      const ops: object[] = [];
      for (const d of docs.slice(from, from + chunk)) ops.push({ create: { _index: target, _id: d.event.id } }, d);
      const r = await es.bulk({ operations: ops as never[], refresh: false, filter_path: BULK_RESPONSE_FILTER });
      if (r.errors) throw new Error('baseline bulk had errors');
    }
  };
  const t = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  const engines = engineCpu();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const cpu = process.cpuUsage(cpu0);
  return {
    rate: docs.length / (Number(process.hrtime.bigint() - t) / 1e9),
    nodeUs: cpu.user + cpu.system,
    engines: engines(),
  };
}

/**
 * Deletes this run's topics (`bench_<pid>_<hex>…`): each run writes ~0.3 GB to the broker, and a
 * test broker that is stopped between runs never reaches its 24 h retention. A failure is only
 * reported (the figures are already printed).
 */
async function deleteRunTopics(): Promise<void> {
  const admin = new kafkajs.Kafka({
    brokers: BROKERS,
    clientId: 'regwatch-bench-cleanup',
    logLevel: kafkajs.logLevel.NOTHING,
  }).admin();
  try {
    await admin.connect();
    const mine = (await admin.listTopics()).filter((t) => t.startsWith(run));
    if (mine.length > 0) await admin.deleteTopics({ topics: mine, timeout: 30_000 });
    say(`deleted this run's ${mine.length} topics`);
  } catch (err) {
    say(`could not delete this run's topics (${run}*): ${(err as Error).message}`);
  } finally {
    await admin.disconnect();
  }
}

async function main(): Promise<void> {
  const es = createEsClient({ nodes: [ES_URL], tlsRejectUnauthorized: true, requestTimeoutMs: 60_000, maxRetries: 0 });
  await waitForElasticsearch(es);
  const ns = (s: string) => `${run}${s}`.replace(/[^a-z0-9_]/g, '_');
  await applyElasticsearchAssets(es, { namespace: ns('pipe'), logger: log });

  const envelopes: string[] = [];
  for (let b = 0; b < EVENTS; b += PER_ENVELOPE) envelopes.push(envelope(b, PER_ENVELOPE));
  const docs = envelopes.flatMap((e) =>
    normalizePayload(e, 'notification').flatMap((r) => (r.kind === 'event' ? [r.event] : [])),
  );
  if (docs.length !== EVENTS) throw new Error(`normalizer produced ${docs.length} events, expected ${EVENTS}`);

  const prefix = `${run}.`;
  const topics = {
    notifications: `${prefix}${TOPICS.notifications}`,
    logs: `${prefix}${TOPICS.logs}`,
    harborWebhooks: `${prefix}${TOPICS.harborWebhooks}`,
    events: `${prefix}${TOPICS.events}`,
    dlq: `${prefix}${TOPICS.dlq}`,
    storage: `${prefix}${TOPICS.storage}`,
    findings: `${prefix}${TOPICS.findings}`,
  };
  const bus = createKafkaBus({
    brokers: BROKERS,
    clientId: 'regwatch-bench',
    logger: log,
    publishTimeoutMs: 30_000,
    maxBatchesInFlight: IN_FLIGHT,
    onProduceRequest: (info) => produced.push(info),
    ...(process.env['BENCH_LINGER_MS'] !== undefined ? { lingerMs: Number(process.env['BENCH_LINGER_MS']) } : {}),
  });
  await bus.ensureTopics(Object.values(topics), PARTITIONS);
  const pub = bus.publisher();
  const metrics = createIngestMetrics({ defaultMetrics: false });
  let result: Record<string, unknown> = { events: EVENTS };

  if (PART !== 'receiver') {
    /** Publishes `envs` to `topic` in 200-message calls, as the registry's envelopes (key per index). */
    const fill = async (topic: string, envs: readonly string[], key: (i: number) => string | null) => {
      for (let i = 0; i < envs.length; i += 200) {
        await pub.publish(
          topic,
          envs.slice(i, i + 200).map((value, k) => ({
            key: key(i + k),
            value,
            headers: { 'content-type': 'application/vnd.docker.distribution.events.v1+json' },
          })),
        );
      }
    };

    /**
     * One indexer run on its own raw topic, consumer group and data stream: fills the topic with
     * `envs`, starts the service's indexer (the service's own bulk adapter, counted by a probe) and
     * times it from its first delivered batch until every event is created in Elasticsearch.
     */
    const indexerRun = async (tag: string, envs: readonly string[], events: number) => {
      const runTopics = { ...topics, notifications: `${prefix}${tag}.${TOPICS.notifications}` };
      await bus.ensureTopics([runTopics.notifications], PARTITIONS);
      await fill(runTopics.notifications, envs, () => null);
      const probe = bulkProbe();
      let first: bigint | null = null;
      const timedBus: MessageBus = {
        ...bus,
        subscribe: (o, h) =>
          bus.subscribe(o, (b, c) => {
            first ??= process.hrtime.bigint();
            return h(b, c);
          }),
      };
      const serviceBulk = esBulk(es);
      const indexer = createIndexer({
        bus: timedBus,
        publisher: pub,
        // The service's own adapter (services/ingest/src/main.ts uses the same one).
        bulk: (operations) => probe.around(operations.length / 2, () => serviceBulk(operations)),
        normalizer: createIngestNormalizer(),
        topics: runTopics,
        indices: {
          namespace: ns(tag),
          findings: `regwatch-findings-${ns(tag)}`,
          storage: `regwatch-storage-${ns(tag)}`,
        },
        groupId: `${run}-${tag}-ingest`,
        options: { itemRetries: 5, retryBaseMs: 200, retryMaxMs: 2000, correlationSize: 50_000 },
        logger: log,
        metrics,
      });
      const stopProfile = tag === 'pipe1' ? await profile('indexer') : async () => undefined;
      const cpu0 = process.cpuUsage();
      const engines = engineCpu();
      await indexer.start();
      while (indexer.totals.created + indexer.totals.duplicates < events) await sleep(5);
      const seconds = Number(process.hrtime.bigint() - (first ?? 0n)) / 1e9;
      const cpu = process.cpuUsage(cpu0);
      const engineUs = engines();
      await stopProfile();
      await indexer.stop();
      return {
        rate: events / seconds,
        cpuUsPerEvent: (cpu.user + cpu.system) / events,
        nodeUs: cpu.user + cpu.system,
        engines: engineUs,
        chunk: Math.max(1, Math.round(probe.docs / probe.calls)),
        calls: probe.calls,
        maxInFlight: probe.maxInFlight,
      };
    };

    /**
     * Ceilings of ANY Kafka → Elasticsearch pipeline on this machine, measured like an indexer run
     * (same raw topic contents, partitions, consumer and batches in flight, the service's bulk
     * adapter, commit after the bulk) but with no normalization: each raw message's documents are
     * taken ready-made (`docs` of its envelope, the objects the raw loop sends). `republish` also
     * writes every document to an events topic keyed by user before the commit, as the issue
     * requires of the indexer (the detector's input). Returns events/s and CPU like `indexerRun`.
     */
    const passthroughRun = async (tag: string, republish: boolean) => {
      const topic = `${prefix}${tag}.${TOPICS.notifications}`;
      const eventsTopic = `${prefix}${tag}.${TOPICS.events}`;
      await bus.ensureTopics([topic, eventsTopic], PARTITIONS);
      await fill(topic, envelopes, (i) => String(i));
      const target = eventsDataStream('oci_registry.notification', ns(tag));
      const serviceBulk = esBulk(es);
      let done = 0;
      let first: bigint | null = null;
      const cpu0 = process.cpuUsage();
      const engines = engineCpu();
      const sub = await bus.subscribe({ groupId: `${run}-${tag}`, topics: [topic] }, async (batch) => {
        first ??= process.hrtime.bigint();
        const ops: (object | string)[] = [];
        const out: OutgoingMessage[] = [];
        for (const m of batch) {
          const e = Number(m.key);
          for (const d of docs.slice(e * PER_ENVELOPE, (e + 1) * PER_ENVELOPE)) {
            if (!republish) {
              ops.push({ create: { _index: target, _id: d.event.id } }, d);
              continue;
            }
            // Serialized once for both writes, as the indexer does.
            const json = JSON.stringify(d);
            ops.push({ create: { _index: target, _id: d.event.id } }, json);
            out.push({ key: d.user?.name ?? null, value: json });
          }
        }
        const r = await serviceBulk(ops);
        if (r.items.some((it) => Object.values(it)[0]?.status !== 201)) throw new Error('passthrough bulk had errors');
        if (out.length > 0) await pub.publish(eventsTopic, out);
        done += ops.length / 2;
      });
      while (done < EVENTS) await sleep(5);
      const seconds = Number(process.hrtime.bigint() - (first ?? 0n)) / 1e9;
      const cpu = process.cpuUsage(cpu0);
      const engineUs = engines();
      await sub.close();
      return { rate: EVENTS / seconds, nodeUs: cpu.user + cpu.system, engines: engineUs };
    };

    // ---- 1. indexer: raw envelopes already in Kafka → ES (+ regwatch.events, commits), against a
    // raw `_bulk` loop of the same documents. Changed (second version): (a) a warm-up of both sides
    // first — Elasticsearch's JIT and the indexer's were cold during the first raw loop, which then
    // ran at half the rate of the second and lowered the ceiling; (b) every raw loop uses the bulk
    // size and peak parallelism the indexer had in the warm-up; (c) BENCH_ROUNDS (default 3) rounds
    // raw → indexer → raw …, each indexer run compared with the mean of its two neighbours, ratio =
    // median of those per-round ratios (load on the shared machine hits both sides of each round).
    const warmEnvs = envelopes.slice(0, Math.ceil(envelopes.length / 4));
    const warm = await indexerRun('warm', warmEnvs, warmEnvs.length * PER_ENVELOPE);
    await rawBulkLoop(
      es,
      docs,
      eventsDataStream('oci_registry.notification', ns('basew')),
      warm.chunk,
      warm.maxInFlight,
    );
    const raws: Awaited<ReturnType<typeof rawBulkLoop>>[] = [];
    const pipes: Awaited<ReturnType<typeof indexerRun>>[] = [];
    const ratios: number[] = [];
    const rawRun = async (i: number) =>
      rawBulkLoop(
        es,
        docs,
        eventsDataStream('oci_registry.notification', ns(`base${i}`)),
        warm.chunk,
        warm.maxInFlight,
      );
    raws.push(await rawRun(0));
    for (let i = 1; i <= ROUNDS; i++) {
      pipes.push(await indexerRun(`pipe${i}`, envelopes, EVENTS));
      raws.push(await rawRun(i));
      ratios.push(pipes[i - 1]!.rate / ((raws[i - 1]!.rate + raws[i]!.rate) / 2));
    }
    const median = (xs: readonly number[]): number => {
      const a = xs.slice().sort((x, y) => x - y);
      return a.length % 2 ? a[a.length >> 1]! : (a[a.length / 2 - 1]! + a[a.length / 2]!) / 2;
    };
    const ratio = median(ratios);
    // Ceilings (after the measured rounds, each between two raw loops like an indexer round).
    const ceilings: { name: string; rate: number; ratio: number; cpu: ReturnType<typeof perRun> }[] = [];
    const perRun = (r: { nodeUs: number; engines: { broker?: number; elasticsearch?: number } }) => ({
      node: Math.round(r.nodeUs / EVENTS),
      ...(r.engines.broker !== undefined ? { broker: Math.round(r.engines.broker / EVENTS) } : {}),
      ...(r.engines.elasticsearch !== undefined ? { elasticsearch: Math.round(r.engines.elasticsearch / EVENTS) } : {}),
    });
    if (CEILINGS) {
      for (const [name, republish] of [
        ['consume_bulk', false],
        ['consume_bulk_republish', true],
      ] as const) {
        const before = raws[raws.length - 1]!;
        const p = await passthroughRun(`ceil_${name}`, republish);
        const after = await rawRun(raws.length);
        raws.push(after);
        ceilings.push({ name, rate: p.rate, ratio: p.rate / ((before.rate + after.rate) / 2), cpu: perRun(p) });
      }
    }
    const cpuUs = median(pipes.map((p) => p.cpuUsPerEvent));
    // Machine CPU per event, summed over the runs of each side (this process + the engines).
    const total = (runs: readonly { nodeUs: number; engines: { broker?: number; elasticsearch?: number } }[]) => {
      const sum = (f: (r: (typeof runs)[number]) => number | undefined): number | undefined =>
        runs.every((r) => f(r) !== undefined) ? runs.reduce((a, r) => a + f(r)!, 0) : undefined;
      const broker = sum((r) => r.engines.broker);
      const elasticsearch = sum((r) => r.engines.elasticsearch);
      return {
        nodeUs: runs.reduce((a, r) => a + r.nodeUs, 0),
        engines: {
          ...(broker !== undefined ? { broker } : {}),
          ...(elasticsearch !== undefined ? { elasticsearch } : {}),
        },
      };
    };
    const pipeCpu = total(pipes);
    const rawCpu = total(raws);
    const perEvent = (t: ReturnType<typeof total>, runs: number) => {
      const n = runs * EVENTS;
      return {
        node: Math.round(t.nodeUs / n),
        ...(t.engines.broker !== undefined ? { broker: Math.round(t.engines.broker / n) } : {}),
        ...(t.engines.elasticsearch !== undefined ? { elasticsearch: Math.round(t.engines.elasticsearch / n) } : {}),
      };
    };
    result = {
      ...result,
      kafka_to_es: {
        baseline_bulk_events_per_s: raws.map((r) => Math.round(r.rate)),
        indexer_events_per_s: pipes.map((p) => Math.round(p.rate)),
        round_ratios: ratios.map((r) => Number(r.toFixed(3))),
        ratio: Number(ratio.toFixed(3)),
        indexer_bulk_calls: pipes.map((p) => p.calls),
        indexer_docs_per_bulk: warm.chunk,
        indexer_max_bulks_in_flight: warm.maxInFlight,
        indexer_node_cpu_us_per_event: Math.round(cpuUs),
        machine_cpu_us_per_event: { indexer: perEvent(pipeCpu, pipes.length), raw_bulk: perEvent(rawCpu, raws.length) },
        ceilings: Object.fromEntries(
          ceilings.map((c) => [
            c.name,
            { events_per_s: Math.round(c.rate), ratio: Number(c.ratio.toFixed(3)), machine_cpu_us_per_event: c.cpu },
          ]),
        ),
        target: 0.9,
      },
    };
    say(
      `Kafka→ES: indexer ${pipes.map((p) => Math.round(p.rate)).join('/')} ev/s vs raw _bulk ${raws.map((r) => Math.round(r.rate)).join('/')} ev/s (interleaved, after a warm-up) → ratio ${ratio.toFixed(3)} [rounds ${ratios.map((r) => r.toFixed(2)).join(' ')}] (target ≥ 0.9); bulks of ~${warm.chunk} docs, ≤ ${warm.maxInFlight} in flight, ${Math.round(cpuUs)} µs Node CPU/event`,
    );
    say(
      `  machine CPU per event (2 shared cores): indexer ${machineCpuText(pipeCpu.nodeUs, pipeCpu.engines, pipes.length * EVENTS)}; raw _bulk ${machineCpuText(rawCpu.nodeUs, rawCpu.engines, raws.length * EVENTS)}`,
    );
    for (const c of ceilings)
      say(
        `  ceiling ${c.name === 'consume_bulk' ? 'consume + _bulk ready-made documents (no normalizing, no republish)' : 'consume + _bulk + republish to an events topic (no normalizing)'}: ${Math.round(c.rate)} ev/s → ratio ${c.ratio.toFixed(3)}; machine CPU per event Node ${c.cpu.node}${c.cpu.broker !== undefined ? ` + broker ${c.cpu.broker}` : ''}${c.cpu.elasticsearch !== undefined ? ` + Elasticsearch ${c.cpu.elasticsearch}` : ''} µs`,
      );
  }

  // ---- 2. receiver vs bare Fastify, interleaved bare → receiver → bare (ratio against their mean)
  if (PART !== 'indexer') {
    const body = envelope(10_000_000, 2);
    const bare = Fastify();
    bare.addContentTypeParser('*', { parseAs: 'buffer' }, (_r, b, done) => done(null, b));
    bare.post('/v1/notifications', async (_req, reply) => reply.code(202).send({ accepted: 1 }));
    const bareUrl = await bare.listen({ host: '127.0.0.1', port: 0 });
    const token = randomBytes(16).toString('hex');
    const receiver = buildReceiver({
      publisher: pub,
      topics,
      config: {
        host: '127.0.0.1',
        port: 0,
        tokens: [token],
        bodyLimitBytes: 1_000_000,
        rateLimit: null,
        retryAfterSeconds: 5,
      },
      logger: log,
      metrics,
      ready: () => ({ ready: true, checks: {} }),
    });
    const recvUrl = await receiver.listen({ host: '127.0.0.1', port: 0 });
    // Warm the producer connection so the first second is not a connect.
    await pub.publish(topics.notifications, [{ key: null, value: body }]);
    const cannon = (url: string, seconds = SECONDS) =>
      autocannon({
        url: `${url}/v1/notifications`,
        method: 'POST',
        connections: 20,
        // The load generator runs in its own thread: in the server's thread it would share the
        // event loop, delaying every Kafka acknowledgement the receiver awaits behind its own work.
        ...(AC_WORKERS > 0 ? { workers: AC_WORKERS } : {}),
        duration: seconds,
        headers: {
          'content-type': 'application/vnd.docker.distribution.events.v1+json',
          authorization: `Bearer ${token}`,
        },
        body,
      });
    // CPU µs per request of this process (server + load generator), a figure that the shared
    // machine's load distorts far less than wall-clock rates.
    const measured = async (url: string) => {
      const cpu0 = process.cpuUsage();
      const engines = engineCpu();
      const res = await cannon(url);
      const cpu = process.cpuUsage(cpu0);
      const n = Math.max(1, res.requests.total);
      return { res, cpuPerReq: (cpu.user + cpu.system) / n, nodeUs: cpu.user + cpu.system, engines: engines(), n };
    };
    // Untimed warm-up of both sides (JIT, keep-alive connections), as the Kafka→ES section does:
    // without it the receiver's first seconds include compiling kafkajs' produce path.
    if (WARMUP_SECONDS > 0) {
      await cannon(bareUrl, WARMUP_SECONDS);
      await cannon(recvUrl, WARMUP_SECONDS);
    }
    const b1 = await measured(bareUrl);
    const stopProfile = await profile('receiver');
    produced.length = 0;
    const r = await measured(recvUrl);
    await stopProfile();
    const produceRequests = produced.length;
    const producedMessages = produced.reduce((n, p) => n + p.messages, 0);
    const produceMs = produced.map((p) => p.durationMs).sort((a, b) => a - b);
    const pct = (q: number): number => Number((produceMs[Math.floor(q * (produceMs.length - 1))] ?? 0).toFixed(2));
    const b2 = await measured(bareUrl);
    // Ceiling: a bare route that only does what no receiver can skip — publish the body to Kafka
    // with the same publisher and answer 202 after the ack (no token, media type or JSON check, no
    // metrics, no raw headers) — measured after the second bare run and compared with both bare runs.
    let ceiling: Awaited<ReturnType<typeof measured>> | undefined;
    if (CEILINGS) {
      const ceil = Fastify();
      ceil.addContentTypeParser('*', { parseAs: 'buffer' }, (_r, b, done) => done(null, b));
      ceil.post('/v1/notifications', (req, reply) => {
        pub.publish(topics.notifications, [{ key: null, value: req.body as Buffer }]).then(
          () => void reply.code(202).send({ accepted: 1 }),
          (err: unknown) => void reply.code(503).send({ error: String(err) }),
        );
      });
      const ceilUrl = await ceil.listen({ host: '127.0.0.1', port: 0 });
      if (WARMUP_SECONDS > 0) await cannon(ceilUrl, WARMUP_SECONDS);
      ceiling = await measured(ceilUrl);
      await ceil.close();
    }
    await receiver.close();
    await bare.close();
    const [bare1, recvRes, bare2] = [b1.res, r.res, b2.res];
    const bareRate = (bare1.requests.average + bare2.requests.average) / 2;
    const recvRatio = recvRes.requests.average / bareRate;
    const bareCpu = (b1.cpuPerReq + b2.cpuPerReq) / 2;
    const cpuRatio = bareCpu / r.cpuPerReq;
    result = {
      ...result,
      receiver: {
        bare_req_per_s: [Math.round(bare1.requests.average), Math.round(bare2.requests.average)],
        receiver_envelopes_per_s: Math.round(recvRes.requests.average),
        ratio: Number(recvRatio.toFixed(3)),
        receiver_p99_ms: recvRes.latency.p99,
        bare_p99_ms: [bare1.latency.p99, bare2.latency.p99],
        receiver_non_2xx: recvRes.non2xx,
        receiver_errors: recvRes.errors,
        cpu_us_per_request: {
          bare: [Math.round(b1.cpuPerReq), Math.round(b2.cpuPerReq)],
          receiver: Math.round(r.cpuPerReq),
        },
        cpu_ratio: Number(cpuRatio.toFixed(3)),
        broker_cpu_us_per_request: r.engines.broker !== undefined ? Math.round(r.engines.broker / r.n) : null,
        produce_requests: produceRequests,
        messages_per_produce_request: Number((producedMessages / Math.max(1, produceRequests)).toFixed(2)),
        produce_ms_p50: pct(0.5),
        produce_ms_p99: pct(0.99),
        warmup_seconds: WARMUP_SECONDS,
        ...(ceiling
          ? {
              ceiling_publish_only: {
                envelopes_per_s: Math.round(ceiling.res.requests.average),
                ratio: Number((ceiling.res.requests.average / bareRate).toFixed(3)),
                cpu_us_per_request: Math.round(ceiling.cpuPerReq),
                broker_cpu_us_per_request:
                  ceiling.engines.broker !== undefined ? Math.round(ceiling.engines.broker / ceiling.n) : null,
              },
            }
          : {}),
        target_ratio: 0.5,
        target_p99_ms: 50,
      },
    };
    say(
      `receiver: ${Math.round(recvRes.requests.average)} env/s vs bare ${Math.round(bare1.requests.average)}/${Math.round(bare2.requests.average)} req/s → ratio ${recvRatio.toFixed(3)} (target ≥ 0.5), p99 ${recvRes.latency.p99} ms (target < 50), non-2xx ${recvRes.non2xx}; CPU/request ${Math.round(r.cpuPerReq)} µs vs bare ${Math.round(bareCpu)} µs → CPU ratio ${cpuRatio.toFixed(3)}`,
    );
    say(
      `  ${produceRequests} produce requests, ${(producedMessages / Math.max(1, produceRequests)).toFixed(2)} messages each (concurrent requests coalesced), ack p50 ${pct(0.5)} ms p99 ${pct(0.99)} ms`,
    );
    say(
      `  machine CPU per request (2 shared cores, load generator included): receiver ${machineCpuText(r.nodeUs, r.engines, r.n)}; bare ${machineCpuText(b1.nodeUs + b2.nodeUs, { ...(b1.engines.broker !== undefined && b2.engines.broker !== undefined ? { broker: b1.engines.broker + b2.engines.broker } : {}) }, b1.n + b2.n)}`,
    );
    if (ceiling)
      say(
        `  ceiling (bare route + publish to Kafka, answer after the ack, nothing else): ${Math.round(ceiling.res.requests.average)} env/s → ratio ${(ceiling.res.requests.average / bareRate).toFixed(3)}; ${machineCpuText(ceiling.nodeUs, ceiling.engines, ceiling.n)} per request`,
      );
  }
  await pub.close();
  await bus.close();
  await es.close();
  await deleteRunTopics();
  process.stdout.write(`${JSON.stringify({ ...result, loadavg: loadavg().map((x) => Number(x.toFixed(2))) })}\n`);
}

await main();
