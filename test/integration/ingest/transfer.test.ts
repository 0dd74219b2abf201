/**
 * Shared case C10 through the real pipeline (receiver → Kafka → indexer → Elasticsearch): the
 * notifications of two blob GETs give the blob's size; the log lines of the same requests, shipped
 * afterwards, are indexed with `oci_registry.transfer.*` (mapped boolean/long by the template), and
 * bytes pulled stay the sum written.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { NOTIFICATION_MEDIA_TYPE, post, startPipeline, type Pipeline } from './pipeline.ts';

const BLOB = 'sha256:dcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdc';
const BLOB_SIZE = 14770572;
const C10 = readFileSync(new URL('../../fixtures/cases/inputs/C10.log', import.meta.url), 'utf8')
  .split('\n')
  .filter((l) => l.length > 0 && !l.startsWith('#'));

/** Distribution notification envelope (FORMATS.md §1a) with one blob pull per request id. */
const notifications = (requestIds: readonly string[]): string =>
  JSON.stringify({
    events: requestIds.map((id) => ({
      id: `notif-${id}`,
      timestamp: '2020-09-24T03:10:11.000000001Z',
      action: 'pull',
      target: {
        mediaType: 'application/octet-stream',
        size: BLOB_SIZE,
        digest: BLOB,
        length: BLOB_SIZE,
        repository: 'team-m/antrea',
        url: `https://registry.example.test/v2/team-m/antrea/blobs/${BLOB}`,
      },
      request: {
        id,
        addr: '192.0.2.39',
        host: 'registry.example.test',
        method: 'GET',
        useragent: 'containerd/v1.3.4',
      },
      actor: { name: 'user-m' },
      source: { addr: 'registry-1:5000', instanceID: '00000000-0000-4000-8000-0000000000ff' },
    })),
  });

describe('C10 partial transfer through the real indexer', () => {
  let p: Pipeline;
  before(async () => {
    p = await startPipeline({ partitions: 1 });
  });
  after(async () => {
    await p.close();
  });

  test('notification first, then the log lines: one partial, one complete, bytes = 19932508', async () => {
    const ids = ['00000000-0000-4000-8000-000000001001', '00000000-0000-4000-8000-000000001002'];
    assert.equal((await post(p, '/v1/notifications', notifications(ids), NOTIFICATION_MEDIA_TYPE)).status, 202);
    assert.equal(await p.waitForEvents(2), 2);
    assert.equal((await post(p, '/v1/logs', C10.join('\n'), 'text/plain')).status, 202);
    assert.equal(await p.waitForEvents(6), 6);

    const logs = { term: { 'event.dataset': 'oci_registry.log' } };
    const blobLogs = { bool: { filter: [logs, { term: { 'event.action': 'blob-pull' } }] } };
    const q = (extra: object): object => ({ bool: { filter: [blobLogs, extra] } });
    assert.equal(await p.countEvents(q({ term: { 'oci_registry.transfer.partial': true } })), 1);
    assert.equal(await p.countEvents(q({ term: { 'oci_registry.transfer.partial': false } })), 1);
    assert.equal(await p.countEvents(q({ term: { 'oci_registry.transfer.expected_bytes': BLOB_SIZE } })), 2);
    assert.equal(await p.countEvents({ exists: { field: 'oci_registry.transfer.partial' } }), 2);

    const index = `logs-oci_registry.*-${p.namespace}`;
    const r = await p.es.search({
      index,
      size: 1,
      query: q({ term: { 'oci_registry.transfer.partial': true } }),
      aggs: { bytes: { sum: { field: 'http.response.body.bytes' } } },
    });
    const doc = r.hits.hits[0]?._source as { http?: { request?: { id?: string } } } | undefined;
    assert.equal(doc?.http?.request?.id, ids[1], 'the second GET is the short one');
    const all = await p.es.search({
      index,
      size: 0,
      query: blobLogs,
      aggs: { bytes: { sum: { field: 'http.response.body.bytes' } } },
    });
    assert.equal((all.aggregations?.['bytes'] as { value: number }).value, 19932508);

    const mapping = await p.es.indices.getFieldMapping({
      index,
      fields: ['oci_registry.transfer.partial', 'oci_registry.transfer.expected_bytes'],
    });
    const types = new Set<string>();
    for (const m of Object.values(mapping))
      for (const [field, f] of Object.entries(m.mappings))
        types.add(`${field}:${(Object.values(f.mapping)[0] as { type: string }).type}`);
    assert.ok(types.has('oci_registry.transfer.partial:boolean'), [...types].join(', '));
    assert.ok(types.has('oci_registry.transfer.expected_bytes:long'), [...types].join(', '));
  });
});
