/**
 * Storage forecasts into Elasticsearch against the real node (ELASTICSEARCH_URL, default
 * http://127.0.0.1:9200):
 *  1. the detector's scheduled `storage.exhaustion` job (runStorageJob) reads 30 days of hourly
 *     storage samples of two scopes from a real storage index, forecasts them and, through
 *     esForecastWriter, indexes one point per scope and UTC day; a second run overwrites the same
 *     ids (no duplicates, every point from the newer run);
 *  2. the Capacity dashboard's "Days to 85 %", "Days to 100 %" and the forecast layer of "Storage
 *     used vs capacity, with forecast and interval", run as ES queries, return exactly the
 *     forecast's values;
 *  3. the embedded mode's runLocalStorageForecast stores its forecasts the same way;
 *  4. a scope whose collector stopped (samples end 3 days before the run) gets only a
 *     `storage.data_stale` finding and a warning, no capacity finding and no forecast points,
 *     while a fresh scope fires as before; when its samples return, the stale finding is resolved —
 *     by a restarted detector whose statuses come back from the indexed findings.
 * Indices are `regwatch-{storage,forecasts}-<unique>` and are deleted afterwards.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@elastic/elasticsearch';
import { createEsClient, waitForElasticsearch } from '../../../shared/src/es/client.ts';
import { applyElasticsearchAssets } from '../../../shared/src/es/assets.ts';
import { silentLogger } from '../../../shared/src/logger.ts';
import { findingDocument, storageDocument } from '../../../services/ingest/src/documents.ts';
import { storageStatusesFromFindings } from '../../../services/detector/src/forecast/previous-statuses.ts';
import { runStorageJob } from '../../../services/detector/src/jobs/hourly-jobs.ts';
import { storageSeries } from '../../../services/detector/src/jobs/es-queries.ts';
import { esForecastWriter, forecastPointId } from '../../../services/detector/src/forecast/es-writer.ts';
import { forecastStorage } from '../../../services/detector/src/forecast/model.ts';
import { STORAGE_RULE } from '../../../services/detector/src/forecast/findings.ts';
import { STORAGE_STALE_RULE } from '../../../services/detector/src/forecast/stale-findings.ts';
import { localStoreSink } from '../../../services/detector/src/storage/sink.ts';
import { runLocalStorageForecast } from '../../../services/embedded/src/storage-stage.ts';
import { capacity } from '../../../dashboards/src/boards/capacity.ts';
import { dashboardQueries } from '../../../dashboards/src/queries.ts';
import { elasticsearchUrl, uniqueName } from '../../helpers/infra.ts';
import { capturingLogger } from '../../helpers/logs.ts';

const H = 3_600_000;
const D = 24 * H;
const T0 = Date.parse('2026-01-01T00:00:00Z');
const NOW = T0 + 30 * D;
const FS = 'fs:/var/lib/registry';
const HARBOR = 'harbor:team-a';

let es: Client;
const id = uniqueName('it');
const storageIndex = `regwatch-storage-${id}`;
const forecastsIndex = `regwatch-forecasts-${id}`;
const staleStorageIndex = `regwatch-storage-${id}-stale`;
const staleForecastsIndex = `regwatch-forecasts-${id}-stale`;
const findingsIndex = `regwatch-findings-${id}`;

type Fc = {
  '@timestamp': string;
  oci_registry: {
    forecast: {
      scope: string;
      generated_at: string;
      method: string;
      used: { bytes: number; lower: { bytes: number }; upper: { bytes: number } };
      capacity: { bytes: number };
      days_to_85?: number;
      days_to_100?: number;
    };
  };
};

/** Hourly samples: steady growth with a weekday rhythm and a little noise (deterministic). */
function samples(): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (let h = 0; h < 30 * 24; h++) {
    const t = T0 + h * H;
    const wobble = ((h * 7919) % 17) * 1e7;
    out.push({
      timestamp: new Date(t).toISOString(),
      used_bytes: 400e9 + h * 0.5e9 + wobble,
      capacity_bytes: 1e12,
      scope: FS,
      source: 'statfs',
      instance_id: 'registry-0',
    });
    out.push({
      timestamp: new Date(t).toISOString(),
      used_bytes: 20e9 + h * 0.05e9 + wobble / 10,
      capacity_bytes: 100e9,
      scope: HARBOR,
      source: 'harbor_quota',
      instance_id: 'registry-0',
    });
  }
  return out;
}

async function forecastDocs(scope?: string): Promise<{ id: string; src: Fc }[]> {
  await es.indices.refresh({ index: forecastsIndex });
  const r = await es.search<Fc>({
    index: forecastsIndex,
    size: 5000,
    query: scope ? { term: { 'oci_registry.forecast.scope': scope } } : { match_all: {} },
    sort: [{ '@timestamp': 'asc' }],
  });
  return r.hits.hits.map((h) => ({ id: h._id!, src: h._source! }));
}

before(async () => {
  es = createEsClient({
    nodes: [elasticsearchUrl()],
    tlsRejectUnauthorized: true,
    requestTimeoutMs: 30_000,
    maxRetries: 0,
  });
  await waitForElasticsearch(es, { timeoutMs: 60_000 });
  await applyElasticsearchAssets(es, { namespace: 'default', logger: silentLogger() });
  const ops: object[] = [];
  for (const s of samples()) {
    const r = storageDocument(Buffer.from(JSON.stringify(s)));
    assert.ok(r.ok);
    ops.push({ index: { _index: storageIndex, _id: r.value.id } }, r.value.doc);
  }
  const res = await es.bulk({ operations: ops, refresh: 'wait_for' });
  assert.equal(res.errors, false);
});

after(async () => {
  await es.indices
    .delete({
      index: [storageIndex, forecastsIndex, staleStorageIndex, staleForecastsIndex, findingsIndex],
      ignore_unavailable: true,
    })
    .catch(() => undefined);
  await es.close();
});

describe('storage forecasts in Elasticsearch (real node)', () => {
  test('the storage job indexes one point per scope and UTC day; a later run overwrites the same ids', async () => {
    const writer = esForecastWriter(es, { index: forecastsIndex, refresh: true });
    const previous = new Map<string, 'firing' | 'resolved'>();
    const log = capturingLogger();
    const findings = await runStorageJob(es, {
      index: storageIndex,
      now: NOW,
      previous,
      forecasts: writer,
      logger: log.logger,
    });
    const first = await forecastDocs();
    const scopes = new Set(first.map((d) => d.src.oci_registry.forecast.scope));
    assert.deepEqual([...scopes].sort(), [FS, HARBOR]);
    for (const d of first) {
      const t = Date.parse(d.src['@timestamp']);
      assert.equal(t % D, 0, 'points on UTC midnights');
      assert.ok(t > NOW - D, 'points are in the future of the last sample');
      assert.equal(d.id, forecastPointId(d.src.oci_registry.forecast.scope, t));
      assert.equal(d.src.oci_registry.forecast.generated_at, new Date(NOW).toISOString());
      const u = d.src.oci_registry.forecast.used;
      assert.ok(u.lower.bytes <= u.bytes && u.bytes <= u.upper.bytes);
    }
    // The forecast the job computed, from the same series.
    const series = await storageSeries(es, { index: storageIndex, fromMs: NOW - 90 * D, toMs: NOW });
    const expected = forecastStorage(series.get(FS)!);
    const fsDocs = first.filter((d) => d.src.oci_registry.forecast.scope === FS);
    assert.equal(fsDocs[0]?.src.oci_registry.forecast.days_to_100, expected.days_to_full!);
    assert.equal(fsDocs[0]?.src.oci_registry.forecast.days_to_85, expected.days_to_warn!);
    assert.ok(
      findings.some((f) => f.entity.id === FS || JSON.stringify(f).includes(FS)),
      'FS scope fires',
    );

    // A run 6 hours later (same samples): same target days → same ids, all from the newer run.
    const later = NOW + 6 * H;
    await runStorageJob(es, { index: storageIndex, now: later, previous, forecasts: writer, logger: log.logger });
    log.logger.flush();
    assert.deepEqual(
      log.lines.filter((l) => l['msg'] === 'storage forecast not stored'),
      [],
      'no forecast write failed',
    );
    assert.equal(log.lines.filter((l) => l['msg'] === 'storage forecast stored').length, 4, '2 scopes × 2 runs');
    const second = await forecastDocs();
    assert.equal(second.length, first.length, 'overwritten, not duplicated');
    assert.deepEqual(second.map((d) => d.id).sort(), first.map((d) => d.id).sort());
    assert.ok(second.every((d) => d.src.oci_registry.forecast.generated_at === new Date(later).toISOString()));
    console.log(
      `forecast points: ${first.length} (${FS}: ${fsDocs.length}), days_to_85=${expected.days_to_warn} days_to_100=${expected.days_to_full}; after a second run: ${second.length}`,
    );
  });

  test('stale points of an earlier, longer forecast are removed', async () => {
    const writer = esForecastWriter(es, { index: forecastsIndex, refresh: true });
    const series = await storageSeries(es, { index: storageIndex, fromMs: NOW - 90 * D, toMs: NOW });
    const r = forecastStorage(series.get(HARBOR)!);
    const before = (await forecastDocs(HARBOR)).length;
    const report = await writer.write(HARBOR, { ...r, path: r.path.slice(0, 11) }, new Date(NOW + 12 * H));
    const after_ = await forecastDocs(HARBOR);
    assert.equal(report.written, 10);
    assert.equal(after_.length, 10);
    assert.equal(report.deleted, before - 10);
  });

  test('the Capacity panels for forecasts return the forecast values', async () => {
    // Restore a full forecast for both scopes (the previous test shortened one).
    await runStorageJob(es, {
      index: storageIndex,
      now: NOW,
      previous: new Map(),
      forecasts: esForecastWriter(es, { index: forecastsIndex, refresh: true }),
    });
    const series = await storageSeries(es, { index: storageIndex, fromMs: NOW - 90 * D, toMs: NOW });
    const truth = Object.fromEntries(
      [FS, HARBOR].map((s) => {
        const r = forecastStorage(series.get(s)!);
        return [s, r];
      }),
    );
    const qs = dashboardQueries(capacity);
    const run = async (title: string, layer = 0) => {
      const q = qs.find((x) => x.title === title && x.layer === layer);
      assert.ok(q, title);
      assert.equal(q.index, 'regwatch-forecasts*');
      const res = await es.search({ index: forecastsIndex, ...q.body } as never);
      return res.aggregations as Record<string, unknown>;
    };
    type TopHit = { b0: { buckets: { key: string; m1: { hits: { hits: { _source: Fc }[] } } }[] } };
    const lastOf = (a: Record<string, unknown>, f: 'days_to_85' | 'days_to_100') =>
      Object.fromEntries(
        (a as TopHit).b0.buckets.map((b) => [b.key, b.m1.hits.hits[0]?._source.oci_registry.forecast[f]]),
      );
    const d85 = lastOf(await run('Days to 85 %'), 'days_to_85');
    const d100 = lastOf(await run('Days to 100 %'), 'days_to_100');
    assert.deepEqual(d85, { [FS]: truth[FS]!.days_to_warn, [HARBOR]: truth[HARBOR]!.days_to_warn });
    assert.deepEqual(d100, { [FS]: truth[FS]!.days_to_full, [HARBOR]: truth[HARBOR]!.days_to_full });

    type Day = {
      key: number;
      b1: { buckets: { key: string; m2: { value: number }; m3: { value: number }; m4: { value: number } }[] };
    };
    const days = ((await run('Storage used vs capacity, with forecast and interval', 1)).b0 as { buckets: Day[] })
      .buckets;
    assert.ok(days.length >= 30, `${days.length} forecast days`);
    const firstDay = days[0]!;
    const fsBucket = firstDay.b1.buckets.find((b) => b.key === FS);
    assert.ok(fsBucket, 'forecast line for the fs scope');
    assert.ok(
      fsBucket.m3.value <= fsBucket.m2.value && fsBucket.m2.value <= fsBucket.m4.value,
      'lower ≤ forecast ≤ upper',
    );
    // The first midnight after the last sample lies between the path's first two daily points.
    const p = truth[FS]!.path;
    assert.ok(fsBucket.m2.value >= Math.round(p[0]!.expected) && fsBucket.m2.value <= Math.round(p[1]!.expected));
    console.log(
      `capacity panels: days to 85 % ${JSON.stringify(d85)}; days to 100 % ${JSON.stringify(d100)}; forecast line ${days.length} days, first ${new Date(firstDay.key).toISOString()} fs=${fsBucket.m2.value} [${fsBucket.m3.value}, ${fsBucket.m4.value}]`,
    );
  });

  test('the embedded storage forecast stores its forecasts too', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'regwatch-fc-'));
    const index = `regwatch-forecasts-${uniqueName('emb')}`;
    try {
      await localStoreSink(dir).write(
        samples()
          .filter((s) => s.scope === FS)
          .map((s) => s as never),
      );
      const findings = await runLocalStorageForecast({
        dataDir: dir,
        now: NOW,
        previous: new Map(),
        forecasts: esForecastWriter(es, { index, refresh: true }),
        logger: silentLogger(),
      });
      assert.ok(findings.length >= 1);
      await es.indices.refresh({ index });
      const c = await es.count({ index, query: { term: { 'oci_registry.forecast.scope': FS } } });
      assert.ok(c.count >= 30, `${c.count} points`);
    } finally {
      await es.indices.delete({ index, ignore_unavailable: true }).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a scope whose samples stopped raises storage.data_stale only, and is resolved when they return', async () => {
    const DEAD = 'fs:/srv/registry-b';
    const until = NOW - 3 * D; // DEAD's collector stopped here
    const index = async (docs: Record<string, unknown>[]): Promise<void> => {
      const ops: object[] = [];
      for (const s of docs) {
        const r = storageDocument(Buffer.from(JSON.stringify(s)));
        assert.ok(r.ok);
        ops.push({ index: { _index: staleStorageIndex, _id: r.value.id } }, r.value.doc);
      }
      const res = await es.bulk({ operations: ops, refresh: 'wait_for' });
      assert.equal(res.errors, false);
    };
    // FS as in the other tests (fresh up to NOW − 1 h); DEAD: the FS curve, shifted to end at `until`.
    const dead = (fromMs: number, toMs: number): Record<string, unknown>[] =>
      samples()
        .filter((s) => s.scope === FS)
        .map((s) => ({
          ...s,
          scope: DEAD,
          timestamp: new Date(Date.parse(s.timestamp as string) - 3 * D).toISOString(),
        }))
        .concat(
          Array.from({ length: 72 }, (_, i) => ({
            timestamp: new Date(until + i * H).toISOString(),
            used_bytes: 400e9 + (720 + i) * 0.5e9,
            capacity_bytes: 1e12,
            scope: DEAD,
            source: 'statfs',
            instance_id: 'registry-1',
          })),
        )
        .filter((s) => {
          const t = Date.parse(s.timestamp);
          return t >= fromMs && t <= toMs;
        });
    await index([...samples().filter((s) => s.scope === FS), ...dead(0, until)]);

    const writer = esForecastWriter(es, { index: staleForecastsIndex, refresh: true });
    const previous = new Map<string, 'firing' | 'resolved'>();
    const log = capturingLogger();
    const run1 = await runStorageJob(es, {
      index: staleStorageIndex,
      now: NOW,
      previous,
      forecasts: writer,
      logger: log.logger,
    });
    const of = (fs: typeof run1, scope: string): string[] =>
      fs.filter((f) => f.entity.id === scope).map((f) => `${f.rule}:${f.status}`);
    assert.deepEqual(of(run1, FS), [`${STORAGE_RULE}:firing`], 'the fresh scope fires as before');
    assert.deepEqual(of(run1, DEAD), [`${STORAGE_STALE_RULE}:firing`], 'no capacity finding from stale data');
    const stale = run1.find((f) => f.entity.id === DEAD)!;
    assert.equal(stale.severity, 'medium');
    assert.match(stale.message, /since 2026-01-28T00:00:00\.000Z \(72\.0 h, threshold 24\.0 h\)/);
    log.logger.flush();
    const warn = log.lines.find((l) => l['level'] === 40 && l['scope'] === DEAD);
    assert.ok(warn, 'warning logged for the stale scope');
    assert.equal(warn['last_sample'], new Date(until).toISOString());
    assert.equal(warn['age_seconds'], 3 * 86_400);
    assert.equal(warn['threshold_seconds'], 86_400);
    await es.indices.refresh({ index: staleForecastsIndex });
    const points = async (scope: string): Promise<number> =>
      (await es.count({ index: staleForecastsIndex, query: { term: { 'oci_registry.forecast.scope': scope } } })).count;
    assert.equal(await points(DEAD), 0, 'no forecast points from stale data');
    assert.ok((await points(FS)) >= 30);

    // The detector restarts here: its statuses come back from the findings the ingest indexed
    // (findingDocument, `index` by finding id, as the indexer writes them).
    assert.deepEqual(
      await storageStatusesFromFindings(es, { index: findingsIndex }),
      new Map(),
      'no findings index yet: nothing to restore',
    );
    const ops: object[] = [];
    for (const f of run1) {
      const d = findingDocument(Buffer.from(JSON.stringify(f)));
      assert.ok(d.ok);
      ops.push({ index: { _index: findingsIndex, _id: d.value.id } }, d.value.doc);
    }
    assert.equal((await es.bulk({ operations: ops, refresh: 'wait_for' })).errors, false);
    const restored = await storageStatusesFromFindings(es, { index: `${findingsIndex}*` });
    assert.deepEqual(restored, previous, 'the restarted detector knows what it had emitted');

    // DEAD's collector is back: its samples from `until` to NOW − 1 h arrive; a run at NOW + 1 h.
    await index(dead(until + 1, NOW));
    const run2 = await runStorageJob(es, {
      index: staleStorageIndex,
      now: NOW + H,
      previous: restored,
      forecasts: writer,
      logger: log.logger,
    });
    assert.deepEqual(of(run2, DEAD), [`${STORAGE_STALE_RULE}:resolved`, `${STORAGE_RULE}:firing`]);
    assert.equal(run2.find((f) => f.rule === STORAGE_STALE_RULE)?.id, stale.id, 'resolved under the same id');
    assert.deepEqual(of(run2, FS), [`${STORAGE_RULE}:firing`]);
    await es.indices.refresh({ index: staleForecastsIndex });
    assert.ok((await points(DEAD)) >= 30, 'forecast points again once fresh');
    console.log(`stale scope: ${stale.message}`);
  });
});
