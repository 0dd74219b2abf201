/**
 * Parity: the same recorded input through the embedded mode (in-process bus, no Elasticsearch)
 * and through the full mode (real Kafka: raw topics → ingest indexer with a real Elasticsearch →
 * regwatch.events → detector → regwatch.findings) yields the same set of findings (ids, rules,
 * entities, windows). Needs Kafka on KAFKA_BROKERS (127.0.0.1:9092) and ES on ES_URL
 * (http://127.0.0.1:9200): `bash infra/up.sh`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from '@elastic/elasticsearch';
import { createKafkaBus } from '../../../shared/src/bus/kafka.ts';
import type { OutgoingMessage, Publisher } from '../../../shared/src/bus/types.ts';
import { applyElasticsearchAssets } from '../../../shared/src/es/assets.ts';
import { createEsClient, waitForElasticsearch } from '../../../shared/src/es/client.ts';
import { silentLogger } from '../../../shared/src/logger.ts';
import { findingSchema, type Finding } from '../../../shared/src/model/finding.ts';
import { TOPICS } from '../../../shared/src/topics.ts';
import type { BulkResponseItem } from '../../../services/ingest/src/bulk.ts';
import { createIndexer } from '../../../services/ingest/src/indexer.ts';
import { createIngestMetrics } from '../../../services/ingest/src/metrics.ts';
import { createIngestNormalizer } from '../../../services/ingest/src/normalizer.ts';
import { parseDetectionConfig } from '../../../services/detector/src/config.ts';
import { loadEmbeddedConfig } from '../../../services/embedded/src/config.ts';
import { createDetector } from '../../../services/detector/src/service.ts';
import { esStore } from '../../../services/detector/src/state/es-store.ts';
import type { RawKind } from '../../../services/embedded/src/inputs.ts';
import { startEmbedded } from '../../../services/embedded/src/pipeline.ts';
import { findingKey, loadRecordedInput, type RecordedInput } from './recorded.ts';
import { randomBytes } from 'node:crypto';
import { stringify as toYaml } from 'yaml';
import { DEMO_DETECTION_CONFIG } from '../../../shared/src/demo/scenario.ts';

const brokers = (process.env['KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(',');
const esUrl = process.env['ES_URL'] ?? 'http://127.0.0.1:9200';
const unique = (p: string): string => `${p}_${process.pid}_${randomBytes(4).toString('hex')}`.toLowerCase();
const PARTITIONS = 3;

/**
 * Replays the recorded input segment by segment: per origin (the live session, then each sample
 * file) first its notification envelopes / webhooks, then its log lines. A segment's messages go
 * to their raw topic in input order (at most 200 per publish call); the next segment starts only
 * when the pipeline took in everything published so far (`drained(n)`).
 *
 * Why segments: the arrival order of a request's notification and its log line is part of the
 * input. The ingest stage copies the user from a notification onto later log lines of the same
 * request, and the detector counts the first of the two and drops the second — so a log line
 * processed before its notification is attributed to `ip:<addr>` instead of the user. Across the
 * two raw topics that order is otherwise decided by consumer timing in either mode; here it is
 * fixed (notifications first, as the registry sends them at request end), the same for both.
 * Samples are separate segments too because their event times jump years.
 */
async function replay(
  publisher: Publisher,
  input: RecordedInput,
  topicOf: (k: RawKind) => string,
  drained: (n: number) => Promise<boolean>,
): Promise<void> {
  let published = 0;
  const segments = new Map<string, RecordedInput['messages'][number][]>();
  const order: RawKind[] = ['notifications', 'harborWebhooks', 'logs'];
  const origins = [...new Set(input.messages.map((m) => m.origin))];
  for (const o of origins)
    for (const k of order) {
      const msgs = input.messages.filter((m) => m.origin === o && m.kind === k);
      if (msgs.length) segments.set(`${o} ${k}`, msgs);
    }
  for (const [origin, msgs] of segments) {
    let run: OutgoingMessage[] = [];
    let kind: RawKind | null = null;
    const flush = async (): Promise<void> => {
      if (kind && run.length) await publisher.publish(topicOf(kind), run);
      published += run.length;
      run = [];
    };
    for (const m of msgs) {
      if (m.kind !== kind || run.length >= 200) {
        await flush();
        kind = m.kind;
      }
      run.push(m.message);
    }
    await flush();
    const end = Date.now() + 60_000;
    while (!(await drained(published))) {
      if (Date.now() > end) throw new Error(`segment ${origin} not taken in within 60 s`);
      await sleep(50);
    }
  }
}

/** Events the detector engine has taken in (counted, dropped as repeats, or joined to their request). */
const seen = (s: { events: number; duplicates: number; joined?: number }): number =>
  s.events + s.duplicates + (s.joined ?? 0);

/** Waits until `done()` holds and the findings count stayed the same for `quietMs`. */
async function settle(
  done: () => boolean,
  count: () => number,
  what: string,
  timeoutMs = 120_000,
  quietMs = 4000,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  let last = -1;
  let since = Date.now();
  while (Date.now() < end) {
    const c = count();
    if (c !== last) {
      last = c;
      since = Date.now();
    }
    if (done() && Date.now() - since >= quietMs) return;
    await sleep(200);
  }
  throw new Error(`${what}: pipeline did not settle in ${timeoutMs} ms`);
}

async function runEmbedded(input: RecordedInput): Promise<Map<string, Finding>> {
  const dir = mkdtempSync(join(tmpdir(), 'regwatch-parity-'));
  const findings = new Map<string, Finding>();
  // The demo's detection settings (a crawl floor for a registry without history), in both modes.
  writeFileSync(join(dir, 'detection.yml'), toYaml(DEMO_DETECTION_CONFIG));
  const config = loadEmbeddedConfig(
    {
      port: 0,
      alertsPort: 0,
      dataDir: join(dir, 'data'),
      partitions: PARTITIONS,
      findings: join(dir, 'findings.ndjson'),
      detectionConfig: join(dir, 'detection.yml'),
    },
    {},
  );
  const e = await startEmbedded(config, {
    logger: silentLogger(),
    onFinding: (f) => findings.set(f.id, f),
  });
  try {
    await replay(
      e.publisher,
      input,
      (k) => TOPICS[k],
      async (n) => e.normalize.totals.consumed >= n && seen(e.detector.engine.stats) >= e.normalize.totals.events,
    );
    await settle(
      () =>
        e.normalize.totals.consumed >= input.messages.length &&
        seen(e.detector.engine.stats) >= e.normalize.totals.events,
      () => findings.size,
      'embedded',
    );
  } finally {
    await e.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return findings;
}

async function runFull(input: RecordedInput): Promise<Map<string, Finding>> {
  const id = unique('parity');
  const prefix = `${id}.`;
  const t = (name: string): string => `${prefix}${name}`;
  const topics = {
    notifications: t(TOPICS.notifications),
    logs: t(TOPICS.logs),
    harborWebhooks: t(TOPICS.harborWebhooks),
    events: t(TOPICS.events),
    dlq: t(TOPICS.dlq),
    storage: t(TOPICS.storage),
    findings: t(TOPICS.findings),
  };
  const namespace = id.replace(/[^a-z0-9_]/g, '_');
  const logger = silentLogger();
  const bus = createKafkaBus({
    brokers,
    clientId: 'regwatch-parity',
    logger,
    heartbeatIntervalMs: 1000,
    sessionTimeoutMs: 10_000,
  });
  const es: Client = createEsClient({
    nodes: [esUrl],
    tlsRejectUnauthorized: true,
    requestTimeoutMs: 30_000,
    maxRetries: 0,
  });
  const findings = new Map<string, Finding>();
  const stops: (() => Promise<unknown>)[] = [];
  try {
    await waitForElasticsearch(es, { timeoutMs: 60_000 });
    await applyElasticsearchAssets(es, { namespace, logger });
    await bus.ensureTopics(Object.values(topics), PARTITIONS);
    const publisher = bus.publisher();
    stops.push(() => publisher.close());
    // What the findings topic holds, read like any consumer would.
    const reader = await bus.subscribe(
      { groupId: `${id}-reader`, topics: [topics.findings], fromBeginning: true },
      async (batch) => {
        for (const m of batch) {
          const f = findingSchema.parse(JSON.parse(m.value.toString('utf8')));
          findings.set(f.id, f);
        }
      },
    );
    stops.push(() => reader.close());
    // The detector service as in full mode: Kafka in and out, its state in Elasticsearch.
    const detector = createDetector({
      bus,
      store: esStore(es, `${id}-detector`, `regwatch-detector-state-${namespace}`),
      clock: () => Date.now(),
      config: parseDetectionConfig(DEMO_DETECTION_CONFIG),
      logger,
      topics: { events: topics.events, findings: topics.findings },
      groupId: `${id}-detector`,
    });
    await detector.start();
    stops.push(() => detector.stop());
    const metrics = createIngestMetrics({ defaultMetrics: false });
    const indexer = createIndexer({
      bus,
      publisher,
      bulk: async (operations) => {
        const res = await es.bulk({ operations: operations as never[], refresh: false });
        return { items: res.items as unknown as BulkResponseItem[] };
      },
      normalizer: createIngestNormalizer(),
      topics,
      indices: { namespace, findings: `regwatch-findings-${namespace}`, storage: `regwatch-storage-${namespace}` },
      groupId: `${id}-ingest`,
      options: { itemRetries: 5, retryBaseMs: 200, retryMaxMs: 2000, correlationSize: 50_000 },
      logger,
      metrics,
    });
    await indexer.start();
    stops.push(() => indexer.stop());
    const rawTopics = new Set([topics.notifications, topics.logs, topics.harborWebhooks]);
    const rawConsumed = async (): Promise<number> =>
      (await metrics.consumed.get()).values
        .filter((v) => rawTopics.has(String(v.labels.topic)))
        .reduce((a, v) => a + v.value, 0);
    await replay(
      publisher,
      input,
      (k) => topics[k],
      async (n) => (await rawConsumed()) >= n && seen(detector.engine.stats) >= indexer.totals.published,
    );
    await settle(
      // The indexer also consumes regwatch.findings (to index them), so count only raw messages.
      () => indexer.totals.consumed >= input.messages.length && seen(detector.engine.stats) >= indexer.totals.published,
      () => findings.size,
      'full',
    );
    await es.indices.refresh({
      index: `logs-oci_registry.*-${namespace}`,
      ignore_unavailable: true,
      allow_no_indices: true,
    });
    const stored = await es.count({
      index: `logs-oci_registry.*-${namespace}`,
      ignore_unavailable: true,
      allow_no_indices: true,
    });
    assert.ok(stored.count > 1000, `full mode indexed the events in Elasticsearch (${stored.count})`);
  } finally {
    for (const s of stops.reverse()) await s().catch(() => undefined);
    await bus.close();
    await es.indices.deleteDataStream({ name: `logs-oci_registry.*-${namespace}` }).catch(() => undefined);
    await es.indices
      .delete({ index: `regwatch-*-${namespace}*`, ignore_unavailable: true, allow_no_indices: true })
      .catch(() => undefined);
    await es.close();
  }
  return findings;
}

describe('parity: embedded mode vs full mode (real Kafka + Elasticsearch)', () => {
  test(
    'the same recorded input yields the same findings (ids, rules, entities, windows)',
    { timeout: 300_000 },
    async (t) => {
      const input = loadRecordedInput();
      assert.ok(input.messages.length > 1500, `recorded input has ${input.messages.length} messages`);
      const embedded = await runEmbedded(input);
      const full = await runFull(input);
      const a = [...embedded.values()].map(findingKey).sort();
      const b = [...full.values()].map(findingKey).sort();
      // The recorded session holds a crawl and a brute force: both modes must have caught them.
      const rules = new Set([...embedded.values()].map((f) => f.rule));
      assert.ok(rules.has('auth.bruteforce_ip'), `embedded findings: ${[...rules].join(', ')}`);
      assert.ok(rules.has('repo.crawl'), `embedded findings: ${[...rules].join(', ')}`);
      assert.ok(a.length >= 3, `embedded produced ${a.length} findings`);
      t.diagnostic(
        `${input.messages.length} raw messages; ${a.length} findings in both modes: ${[...rules].sort().join(', ')}`,
      );
      assert.deepEqual(b, a);
    },
  );
});
