/**
 * One registry request counted once in Elasticsearch (shared CASES C12) through the real pipeline
 * (receiver → Kafka → indexer → Elasticsearch): the notification, app-log line and access line of
 * two real manifest pulls (test/fixtures/real-registry, Distribution 2.8.2 + skopeo) are stored
 * as six documents, of which exactly one per pull has `oci_registry.image_pull: true` and the
 * documents without `oci_registry.duplicate: true` carry the bytes pulled once — also through the
 * security dashboard's own panel queries. `regwatch.events` gets the events unmarked.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { securityOverview } from '../../../dashboards/src/boards/security-overview.ts';
import { dashboardQueries } from '../../../dashboards/src/queries.ts';
import { NOTIFICATION_MEDIA_TYPE, post, startPipeline, type Pipeline } from './pipeline.ts';

const fixture = (name: string): string[] =>
  readFileSync(new URL(`../../fixtures/real-registry/${name}`, import.meta.url), 'utf8')
    .split('\n')
    .filter((l) => l.length > 0);
const LOG = fixture('registry-output.log');
const NOTIFICATIONS = fixture('notifications.ndjson').map((l) => (JSON.parse(l) as { body: string }).body);

/** Pull of team/app:v1 by tag: notification 5, output lines 60–62 (authorized request, response completed, access). */
const BY_TAG = {
  rid: '768fa14f-c6e7-4620-aa29-aa1627d85515',
  notification: NOTIFICATIONS[4]!,
  lines: LOG.slice(59, 62),
};
/** Pull of team/app by digest: notification 9, output lines 76–78. */
const BY_DIGEST = {
  rid: 'febacb3c-8f44-4343-861e-c90a32669e1f',
  notification: NOTIFICATIONS[8]!,
  lines: LOG.slice(75, 78),
};
const MANIFEST_BYTES = 557;

interface Doc {
  event: { dataset: string };
  oci_registry: { image_pull: boolean; duplicate?: boolean; duplicate_bytes?: boolean };
  http?: { request?: { id?: string }; response?: { body?: { bytes?: number } } };
}

describe('copies of one request counted once through the real indexer (C12)', () => {
  let p: Pipeline;
  before(async () => {
    p = await startPipeline({ partitions: 1 });
  });
  after(async () => {
    await p.close();
  });

  test('notification first (by tag) and output first (by digest): one image pull each, bytes once', async () => {
    assert.ok(BY_TAG.notification.includes(BY_TAG.rid) && BY_TAG.lines.some((l) => l.includes(BY_TAG.rid)));
    assert.ok(BY_DIGEST.notification.includes(BY_DIGEST.rid) && BY_DIGEST.lines.some((l) => l.includes(BY_DIGEST.rid)));
    // By tag: the notification arrives first, then the registry output.
    assert.equal((await post(p, '/v1/notifications', BY_TAG.notification, NOTIFICATION_MEDIA_TYPE)).status, 202);
    assert.equal(await p.waitForEvents(1), 1);
    assert.equal((await post(p, '/v1/logs', BY_TAG.lines.join('\n'), 'text/plain')).status, 202);
    assert.equal(await p.waitForEvents(3), 3);
    // By digest: the registry output arrives first, then the notification.
    assert.equal((await post(p, '/v1/logs', BY_DIGEST.lines.join('\n'), 'text/plain')).status, 202);
    assert.equal(await p.waitForEvents(5), 5);
    assert.equal((await post(p, '/v1/notifications', BY_DIGEST.notification, NOTIFICATION_MEDIA_TYPE)).status, 202);
    assert.equal(await p.waitForEvents(6), 6);

    const index = `logs-oci_registry.*-${p.namespace}`;
    const all = await p.es.search<Doc>({ index, size: 100, query: { match_all: {} } });
    const docs = all.hits.hits.map((h) => h._source!);
    assert.equal(docs.length, 6);
    const summary = docs
      .map(
        (d) =>
          `${d.http?.request?.id ?? 'access'}|${d.event.dataset}|pull=${d.oci_registry.image_pull}|dup=${d.oci_registry.duplicate === true}|dupBytes=${d.oci_registry.duplicate_bytes === true}`,
      )
      .sort();
    assert.deepEqual(
      summary,
      [
        `${BY_DIGEST.rid}|oci_registry.log|pull=true|dup=false|dupBytes=false`,
        `${BY_DIGEST.rid}|oci_registry.notification|pull=false|dup=true|dupBytes=false`,
        // Notification first: it counts the request; the app-log line is a duplicate that brings the bytes.
        `${BY_TAG.rid}|oci_registry.log|pull=false|dup=true|dupBytes=false`,
        `${BY_TAG.rid}|oci_registry.notification|pull=true|dup=false|dupBytes=false`,
        'access|oci_registry.access|pull=false|dup=true|dupBytes=true',
        'access|oci_registry.access|pull=false|dup=true|dupBytes=true',
      ].sort(),
    );
    // Two requests, two counted documents (the notification-first request was counted twice before).
    assert.equal(await p.countEvents({ bool: { must_not: [{ term: { 'oci_registry.duplicate': true } }] } }), 2);

    assert.equal(await p.countEvents({ term: { 'oci_registry.image_pull': true } }), 2);
    const bytes = async (query: object): Promise<number> => {
      const r = await p.es.search({
        index,
        size: 0,
        query,
        aggs: { b: { sum: { field: 'http.response.body.bytes' } } },
      });
      return (r.aggregations?.['b'] as { value: number }).value;
    };
    assert.equal(await bytes({ match_all: {} }), 4 * MANIFEST_BYTES, 'app log and access line both carry the bytes');
    assert.equal(
      await bytes({ bool: { must_not: [{ term: { 'oci_registry.duplicate_bytes': true } }] } }),
      2 * MANIFEST_BYTES,
    );

    // The security dashboard's own panel queries (what Kibana sends), on this namespace.
    const panels = dashboardQueries(securityOverview);
    const pullsPanel = panels.find((q) => q.title === 'Image pulls')!;
    const pulls = await p.es.search({ ...pullsPanel.body, index });
    assert.equal((pulls.hits.total as { value: number }).value, 2);
    const top = panels.find((q) => q.title.startsWith('Top pullers'))!;
    const bytesMetric = top.metrics.find((m) => m.spec.label === 'Bytes pulled')!;
    const pullsMetric = top.metrics.find((m) => m.spec.label === 'Image pulls')!;
    const r = await p.es.search({ ...top.body, index });
    const buckets = (
      r.aggregations?.[top.buckets[0]!] as { buckets: Record<string, { doc_count: number; v?: { value: number } }>[] }
    ).buckets;
    const sumOf = (name: string, field: 'v' | 'doc_count'): number =>
      buckets.reduce((s, b) => s + (field === 'v' ? (b[name]?.v?.value ?? 0) : (b[name]?.doc_count ?? 0)), 0);
    assert.equal(sumOf(bytesMetric.name, 'v'), 2 * MANIFEST_BYTES, 'Top pullers: bytes pulled');
    assert.equal(sumOf(pullsMetric.name, 'doc_count'), 2, 'Top pullers: image pulls');

    const mapping = await p.es.indices.getFieldMapping({
      index,
      fields: ['oci_registry.duplicate', 'oci_registry.duplicate_bytes'],
    });
    const types = new Set(
      Object.values(mapping).flatMap((m) =>
        Object.values(m.mappings).map((f) => (Object.values(f.mapping)[0] as { type: string }).type),
      ),
    );
    assert.deepEqual([...types], ['boolean']);

    // The detector's input is unchanged: published events carry no copy marking.
    const published = await p.readTopic(p.topics.events, 6);
    const events = published.map((m) => JSON.parse(m.value.toString('utf8')) as Doc);
    assert.equal(events.length, 6);
    assert.ok(
      events.every((e) => e.oci_registry.duplicate === undefined && e.oci_registry.duplicate_bytes === undefined),
    );
    assert.equal(events.filter((e) => e.oci_registry.image_pull).length, 4, 'notification + app log of each pull');
  });

  test('a collector that POSTs the same log body again (its retry) stores no line twice', async () => {
    // Access lines and logrus lines without a request id have no id of their own: their id is the
    // raw line + where the collector had it (the body's hash and the line index), not the Kafka offset.
    const body = [
      ...readFileSync(
        new URL('../../fixtures/registry-samples/21-dist-accesslog-combined.log', import.meta.url),
        'utf8',
      )
        .split('\n')
        .filter((l) => l.length > 0),
      '{"level":"info","msg":"response completed","time":"2026-11-30T08:00:00Z","http.request.method":"GET","http.request.uri":"/v2/","http.response.status":200,"http.request.remoteaddr":"192.0.2.1:5000"}',
      // The same line twice in one body: two requests, two documents.
      '192.0.2.44 - - [30/Nov/2026:08:00:01 +0000] "HEAD /v2/team/app/manifests/v1 HTTP/1.1" 200 0 "" "probe/1.0"',
      '192.0.2.44 - - [30/Nov/2026:08:00:01 +0000] "HEAD /v2/team/app/manifests/v1 HTTP/1.1" 200 0 "" "probe/1.0"',
    ].join('\n');
    const before = await p.countEvents();
    assert.equal((await post(p, '/v1/logs', body, 'text/plain')).status, 202);
    const once = await p.waitForEvents(before + 1, 30_000).then(async () => {
      // Let the whole body land.
      let n = 0;
      for (let i = 0; i < 60; i++) {
        const now = await p.countEvents();
        if (now === n && now > before) break;
        n = now;
        await new Promise((r) => setTimeout(r, 500));
      }
      return n;
    });
    assert.ok(once > before + 2, `${once - before} documents from the body`);
    assert.equal((await post(p, '/v1/logs', body, 'text/plain')).status, 202);
    // The retry's messages are consumed (published to regwatch.events again) but create nothing.
    await new Promise((r) => setTimeout(r, 3000));
    assert.equal(await p.countEvents(), once, 'the retried body added no document');
    const probes = await p.countEvents({ term: { 'user_agent.original': 'probe/1.0' } });
    assert.equal(probes, 2, 'two identical lines of one body are two requests');
  });
});
