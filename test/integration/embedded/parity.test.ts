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
import { Readable } from 'node:stream';
import { createEngine } from '../../../services/detector/src/config.ts';
import { analyzeInputs, newSummary } from '../../../services/detector/src/pipeline/analyze.ts';

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

/**
 * A credential-stuffing burst as Distribution's JSON formatter logs htpasswd failures: `n` failed
 * logins from one source IP, 2–3 s apart, cycling through 12 user names (the events topic is keyed
 * by the attempted user name, so the burst spreads over every partition).
 */
function credentialStuffing(n: number, withRequestId: boolean): string {
  const names = ['admin', 'root', 'alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi', 'ivan', 'judy'];
  const start = Date.parse('2026-10-15T03:00:00Z');
  const lines: string[] = [];
  for (let i = 0; i < n; i++)
    lines.push(
      JSON.stringify({
        ...(withRequestId ? { 'http.request.id': `stuff-${i}` } : {}),
        'http.request.method': 'GET',
        'http.request.remoteaddr': `203.0.113.50:${40_000 + i}`,
        'http.request.uri': '/v2/',
        'http.request.useragent': 'python-requests/2.31.0',
        level: 'error',
        msg: `error authenticating user "${names[i % names.length]}": authentication failure`,
        time: new Date(start + i * 2_500 + (i % 2) * 500).toISOString(),
      }),
    );
  // Ten minutes later one more failed login from elsewhere: event time moves past the burst, so
  // both commands see it end (a live run cannot know a burst ended before later events arrive).
  lines.push(
    JSON.stringify({
      'http.request.method': 'GET',
      'http.request.remoteaddr': '198.51.100.7:50000',
      'http.request.uri': '/v2/',
      level: 'error',
      msg: 'error authenticating user "ci-bot": authentication failure',
      time: new Date(start + 600_000).toISOString(),
    }),
  );
  return lines.join('\n') + '\n';
}

/** What must be equal in both commands: id, rule, severity, entity, window, message. */
const exact = (f: Finding): string =>
  JSON.stringify([f.id, f.rule, f.severity, f.entity, f.window.start, f.window.end, f.message]);

/** `regwatch analyze` over `text` (its core: read, normalize, sort by event time, detect): every finding emitted, in order. */
async function analyzeText(text: string): Promise<Finding[]> {
  const engine = createEngine(parseDetectionConfig({}));
  const out: Finding[] = [];
  for await (const f of analyzeInputs([{ name: 'bf.ndjson', stream: Readable.from([text]) }], engine, newSummary()))
    out.push(f);
  return out;
}

/** First and last emission of each finding id (a finding is re-emitted when it escalates or ends). */
function firstAndLast(fs: readonly Finding[]): { first: string[]; last: string[] } {
  const first = new Map<string, Finding>();
  const last = new Map<string, Finding>();
  for (const f of fs) {
    if (!first.has(f.id)) first.set(f.id, f);
    last.set(f.id, f);
  }
  return { first: [...first.values()].map(exact).sort(), last: [...last.values()].map(exact).sort() };
}

/** `regwatch run` (embedded, default detection settings) with `text` POSTed to its receiver's /v1/logs. */
async function runText(text: string): Promise<Finding[]> {
  const dir = mkdtempSync(join(tmpdir(), 'regwatch-parity-bf-'));
  const findings: Finding[] = [];
  const config = loadEmbeddedConfig(
    { port: 0, alertsPort: 0, dataDir: join(dir, 'data'), partitions: PARTITIONS, findings: join(dir, 'f.ndjson') },
    {},
  );
  const e = await startEmbedded(config, { logger: silentLogger(), onFinding: (f) => findings.push(f) });
  try {
    const res = await fetch(`${e.url}/v1/logs`, {
      method: 'POST',
      body: text,
      headers: { 'content-type': 'application/x-ndjson' },
    });
    assert.equal(res.status, 202, await res.text());
    const lines = text.split('\n').filter(Boolean).length;
    await settle(
      () =>
        e.normalize.totals.consumed >= lines &&
        seen(e.detector.engine.stats) >= e.normalize.totals.events &&
        e.detector.held === 0,
      () => findings.length,
      'run',
      60_000,
      1000,
    );
  } finally {
    await e.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return findings;
}

describe('parity: regwatch analyze vs regwatch run (POST /v1/logs) on a credential-stuffing burst', () => {
  for (const withRequestId of [true, false])
    test(`40 failed logins, 12 user names, one IP, ${withRequestId ? 'with' : 'without'} http.request.id: same ids, severities, messages`, async (t) => {
      const text = credentialStuffing(40, withRequestId);
      const analyzed = await analyzeText(text);
      const run = await runText(text);
      const bruteforce = analyzed.filter((f) => f.rule === 'auth.bruteforce_ip');
      assert.equal(new Set(bruteforce.map((f) => f.id)).size, 1, `analyze: ${analyzed.map((f) => f.rule).join(', ')}`);
      const [f] = bruteforce as [Finding];
      assert.equal(f.window.start, '2026-10-15T03:00:00.000Z', 'the burst starts at its first failed login');
      assert.equal(f.severity, 'high');
      // The wording belongs to the rule; what matters here: all 12 names of the burst, one IP.
      assert.match(f.message, /203\.0\.113\.50/);
      assert.match(f.message, /against 12 user name\(s\)/);
      t.diagnostic(`analyze: ${analyzed.map((x) => `${x.id.slice(0, 8)} ${x.severity} ${x.message}`).join(' | ')}`);
      // What fired (id, severity, message at the threshold) and how each finding ended, exactly.
      const a = firstAndLast(analyzed);
      const r = firstAndLast(run);
      assert.deepEqual(r.first, a.first);
      assert.deepEqual(r.last, a.last);
    });
});
