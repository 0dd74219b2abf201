import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createEsClient, esConfigSchema } from '../../../shared/src/es/client.ts';
import { EVENT_MAPPINGS } from '../../../shared/src/es/mappings.ts';
import type { RegistryEvent } from '../../../shared/src/model/registry-event.ts';
import { createEngine, parseDetectionConfig } from '../../../services/detector/src/config.ts';
import { hourlyIdentityAggregates } from '../../../services/detector/src/jobs/es-queries.ts';
import {
  backfillFromElasticsearch,
  runHourlyBaselineJob,
  runSloJob,
} from '../../../services/detector/src/jobs/hourly-jobs.ts';
import { newSummary } from '../../../services/detector/src/pipeline/analyze.ts';
import { perDayPerRule, replayFromElasticsearch } from '../../../services/detector/src/pipeline/replay.ts';
import { esStore } from '../../../services/detector/src/state/es-store.ts';
import { elasticsearchUrl, uniqueName } from '../../helpers/infra.ts';
import type { Finding } from '../../../shared/src/model/finding.ts';

const H = 3_600_000;
const D = 24 * H;
const MON = Date.parse('2026-03-02T00:00:00Z');
const SPIKE_HOUR = MON + 22 * D + 10 * H; // Tuesday, week 4

let n = 0;
function pull(t: number, user: string, status = 200, durationMs = 20): RegistryEvent {
  return {
    '@timestamp': new Date(t).toISOString(),
    event: {
      kind: 'event',
      category: ['web'],
      type: ['access'],
      action: 'manifest-pull',
      outcome: status < 400 ? 'success' : 'failure',
      id: `ev-${++n}`,
      dataset: 'oci_registry.log',
      duration: durationMs * 1e6,
    },
    user: { name: user },
    source: { ip: '10.1.0.5' },
    http: { request: { method: 'GET' }, response: { status_code: status } },
    oci_registry: {
      image_pull: status < 400,
      actor: { kind: 'user', anonymous: false },
      source_format: 'test',
      repository: `team-a/svc-${n % 4}`,
      namespace: 'team-a',
    },
  };
}

describe('scheduled Elasticsearch jobs and replay (real Elasticsearch)', { timeout: 120_000 }, () => {
  const client = createEsClient(esConfigSchema.parse({ nodes: [elasticsearchUrl()] }));
  const index = uniqueName('det_events');
  const stateIndex = uniqueName('det_state');
  const cfg = parseDetectionConfig({});

  before(async () => {
    await client.indices.create({ index, mappings: EVENT_MAPPINGS as never });
    const docs: RegistryEvent[] = [];
    // Three weeks of 10 pulls per working hour for alice (weekdays 09–17 UTC).
    for (let d = 0; d < 22; d++) {
      const wd = new Date(MON + d * D).getUTCDay();
      if (wd === 0 || wd === 6) continue;
      for (let h = 9; h < 17; h++)
        for (let i = 0; i < 10; i++) docs.push(pull(MON + d * D + h * H + i * 300_000, 'alice'));
    }
    // The spike: 700 pulls in one hour, 10 % of them failing with 503.
    for (let i = 0; i < 700; i++) docs.push(pull(SPIKE_HOUR + i * 5_000, 'alice', i % 10 === 0 ? 503 : 200));
    const ops = docs.flatMap((doc) => [{ create: { _index: index, _id: doc.event.id } }, doc]);
    const r = await client.bulk({ operations: ops, refresh: 'wait_for' });
    assert.equal(r.errors, false);
  });
  after(async () => {
    await client.indices.delete({ index: [index, stateIndex] }, { ignore: [404] });
    await client.close();
  });

  test('hourly baseline job: one composite aggregation over all identities finds the spike', async () => {
    const fs = await runHourlyBaselineJob(client, { index, config: cfg, now: SPIKE_HOUR + H + 5 * 60_000 });
    const spike = fs.find((f) => f.rule === 'pull.volume_spike');
    assert.ok(spike, JSON.stringify(fs.map((f) => f.rule)));
    assert.equal(spike.entity.id, 'alice');
    assert.equal(spike.observed.value, 630);
    assert.equal(spike.window.start, new Date(SPIKE_HOUR).toISOString());
    // Re-running the job (overlapping windows, C24) gives the same finding id, not a second count.
    const again = await runHourlyBaselineJob(client, { index, config: cfg, now: SPIKE_HOUR + H + 30 * 60_000 });
    assert.equal(again.find((f) => f.rule === 'pull.volume_spike')?.id, spike.id);
    assert.equal(again.find((f) => f.rule === 'pull.volume_spike')?.observed.value, 630);
  });

  test('hourly aggregates count the bytes of a blob once: copies marked oci_registry.duplicate_bytes are left out', async () => {
    const t = MON + 40 * D + 3 * H;
    const blob = (id: string, dataset: RegistryEvent['event']['dataset'], duplicate: boolean): RegistryEvent => ({
      ...pull(t + 60_000, 'carol'),
      event: {
        kind: 'event',
        category: ['web'],
        type: ['access'],
        action: 'blob-pull',
        outcome: 'success',
        id,
        dataset,
      },
      http: { request: { method: 'GET' }, response: { status_code: 200, body: { bytes: 1000 } } },
      oci_registry: {
        image_pull: false,
        actor: { kind: 'user', anonymous: false },
        source_format: 'test',
        repository: 'team-a/svc-0',
        ...(duplicate ? { duplicate: true, duplicate_bytes: true } : {}),
      },
    });
    // One request seen as an access line (counts) and an app-log line (the later copy), plus a
    // notification-first request: its app-log line is a duplicate for request counts but the
    // copy that carries the bytes (no duplicate_bytes), so its bytes count.
    const notified: RegistryEvent = {
      ...blob('blob-log-2', 'oci_registry.log', false),
      oci_registry: { ...blob('x', 'oci_registry.log', false).oci_registry, duplicate: true },
    };
    const docs = [
      blob('blob-access', 'oci_registry.access', false),
      blob('blob-log', 'oci_registry.log', true),
      notified,
    ];
    const r = await client.bulk({
      operations: docs.flatMap((doc) => [{ create: { _index: index, _id: doc.event.id } }, doc]),
      refresh: 'wait_for',
    });
    assert.equal(r.errors, false);
    const rows = [];
    for await (const hour of hourlyIdentityAggregates(client, { index, fromMs: t, toMs: t + H }))
      rows.push(...hour.rows);
    const carol = rows.find((x) => x.identity === 'carol');
    assert.equal(carol?.bytes, 2000);
  });

  test('SLO job: pull success rate below 99.9 % in the judged hour', async () => {
    const fs = await runSloJob(client, { index, config: cfg, now: SPIKE_HOUR + H + 60_000 });
    const slo = fs.find((f) => f.rule === 'slo.pull_success_rate');
    assert.ok(slo);
    assert.equal(slo.observed.value, 0.9);
  });

  test('replay streams history in event-time order and counts expected alerts per day per rule', async () => {
    const found: Finding[] = [];
    const summary = newSummary();
    for await (const f of replayFromElasticsearch(client, createEngine(cfg), summary, {
      index,
      from: MON + 21 * D,
      to: MON + 23 * D,
      warmupDays: 21,
    }))
      found.push(f);
    assert.ok(summary.events > 1000);
    const rows = perDayPerRule(found);
    assert.ok(
      rows.some((r) => r.day === '2026-03-24' && r.rule === 'pull.volume_spike' && r.mediumOrAbove === 1),
      JSON.stringify(rows),
    );
    assert.ok(rows.some((r) => r.day === '2026-03-24' && r.rule === 'slo.pull_success_rate'));
  });

  test('backfill seeds identity baselines from history without judging', async () => {
    const engine = createEngine(cfg);
    await backfillFromElasticsearch(client, engine, { index, now: SPIKE_HOUR, days: 25 });
    const alice = engine.identity('alice');
    assert.ok(alice && alice.activeDays >= 15, `activeDays ${alice?.activeDays}`);
    const ex = alice.profile.expect('pulls', 1 * 24 + 10); // Tuesday 10:00 UTC
    assert.ok(ex && Math.abs(ex.expected - 10) < 1, JSON.stringify(ex));
  });

  test('detector state round-trips through Elasticsearch', async () => {
    const store = esStore(client, 'detector-test', stateIndex);
    assert.equal(await store.load(), undefined);
    const engine = createEngine(cfg);
    const snap = engine.snapshot();
    snap.meta = { offsets: { 'regwatch.events:0': '41' } };
    await store.save(snap);
    const back = await store.load();
    assert.deepEqual(back?.meta, { offsets: { 'regwatch.events:0': '41' } });
  });
});
