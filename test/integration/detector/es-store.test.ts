/**
 * The detector's Elasticsearch state store (services/detector/src/state/es-store.ts) on the real
 * Elasticsearch node: gzip + base64 chunks behind a manifest, two slots, checksum, the earlier
 * single-document layout still read, and a snapshot whose JSON is larger than Elasticsearch's
 * default `http.max_content_length` (100 MB) — the single-document layout could not save it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from '@elastic/elasticsearch';
import { makeEvents } from '../../../bench/detector-events.ts';
import { createEsClient, esConfigSchema } from '../../../shared/src/es/client.ts';
import { createEngine, parseDetectionConfig } from '../../../services/detector/src/config.ts';
import type { EngineSnapshot } from '../../../services/detector/src/engine.ts';
import { esStore } from '../../../services/detector/src/state/es-store.ts';
import { elasticsearchUrl, uniqueName } from '../../helpers/infra.ts';

/** A real engine snapshot: `identities` identities with a few days of pulls each. */
function snapshotOf(identities: number, seed: number): EngineSnapshot {
  const engine = createEngine(parseDetectionConfig({}));
  const start = Date.parse('2026-10-01T00:00:00Z');
  for (const ev of makeEvents(identities * 20, identities, start, 3 * 86_400_000, seed)) engine.process(ev);
  return engine.snapshot();
}

const plain = (s: unknown): unknown => JSON.parse(JSON.stringify(s));

describe('detector state in Elasticsearch (chunked, compressed)', { timeout: 300_000 }, () => {
  let client: Client;
  const index = uniqueName('regwatch-detector-state-it');
  before(() => {
    client = createEsClient(esConfigSchema.parse({ nodes: [elasticsearchUrl()] }));
  });
  after(async () => {
    await client.indices.delete({ index }, { ignore: [404] });
    await client.close();
  });
  const source = async (id: string): Promise<Record<string, unknown> | undefined> => {
    const r = await client.get<Record<string, unknown>>({ index, id }, { ignore: [404] });
    return r.found ? r._source : undefined;
  };

  test('round trip over several chunks; a smaller later save leaves no chunk of the larger one behind', async () => {
    const store = esStore(client, 'rt', index, { chunkChars: 4096 });
    assert.equal(await store.load(), undefined);
    const big = snapshotOf(300, 1);
    await store.save(big);
    const m1 = await source('rt');
    assert.equal(m1?.['encoding'], 'gzip+base64');
    const n1 = m1?.['chunks'] as number;
    assert.ok(n1 > 3, `chunks ${n1}`);
    assert.ok((m1?.['gzip_bytes'] as number) * 4 < (m1?.['json_bytes'] as number), JSON.stringify(m1));
    assert.deepEqual(plain(await store.load()), plain(big));
    // A fresh store (a restarted detector) reads the same.
    assert.deepEqual(plain(await esStore(client, 'rt', index).load()), plain(big));

    const small = snapshotOf(20, 2);
    await store.save(small); // into the other slot
    await store.save(small); // back into the first slot, over the larger snapshot's chunks
    const m3 = await source('rt');
    assert.equal(m3?.['slot'], m1?.['slot']);
    const n3 = m3?.['chunks'] as number;
    assert.ok(n3 < n1, `${n3} < ${n1}`);
    for (let i = n3; i < n1; i++) assert.equal(await source(`rt:slot${String(m3?.['slot'])}:${i}`), undefined);
    assert.deepEqual(plain(await esStore(client, 'rt', index).load()), plain(small));
  });

  test('a save that died mid-way (chunks written, manifest not) leaves the previous snapshot current', async () => {
    const store = esStore(client, 'crash', index, { chunkChars: 4096 });
    const snap = snapshotOf(50, 3);
    await store.save(snap);
    const m = await source('crash');
    const other = 1 - (m?.['slot'] as number);
    // What a crash leaves: the first chunks of a new snapshot in the other slot.
    for (let i = 0; i < 3; i++) {
      await client.index({ index, id: `crash:slot${other}:${i}`, document: { data: 'H4sIAAAA' } });
    }
    assert.deepEqual(plain(await esStore(client, 'crash', index).load()), plain(snap));
    const next = snapshotOf(10, 4);
    const restarted = esStore(client, 'crash', index, { chunkChars: 1_000_000 });
    await restarted.load();
    await restarted.save(next);
    assert.equal((await source('crash'))?.['chunks'], 1);
    assert.equal(await source(`crash:slot${other}:1`), undefined, 'leftover chunks of the crashed save are deleted');
    assert.deepEqual(plain(await esStore(client, 'crash', index).load()), plain(next));
  });

  test('a damaged chunk is refused on load (checksum), not half-read', async () => {
    const store = esStore(client, 'damaged', index, { chunkChars: 4096 });
    await store.save(snapshotOf(50, 5));
    const m = await source('damaged');
    await client.index({ index, id: `damaged:slot${String(m?.['slot'])}:1`, document: { data: 'AAAA' } });
    await assert.rejects(esStore(client, 'damaged', index).load(), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'INTERNAL');
      assert.match(err.message, /checksum mismatch/);
      return true;
    });
  });

  test('the earlier single-document layout is read, and replaced by the next save', async () => {
    const old = snapshotOf(10, 6);
    await client.index({
      index,
      id: 'legacy',
      document: { saved_at: new Date().toISOString(), body: JSON.stringify(old) },
    });
    const store = esStore(client, 'legacy', index);
    assert.deepEqual(plain(await store.load()), plain(old));
    const next = snapshotOf(10, 7);
    await store.save(next);
    const m = await source('legacy');
    assert.equal(m?.['body'], undefined);
    assert.deepEqual(plain(await esStore(client, 'legacy', index).load()), plain(next));
  });

  test('a snapshot whose JSON exceeds http.max_content_length (100 MB) is saved and loaded', async () => {
    const snap = snapshotOf(10, 8);
    // Padding stands in for ~60k identities (~1.7 KB of JSON each, ~8× smaller gzipped).
    snap.meta = { offsets: { 'regwatch.events:0': '7' }, pad: 'identity-state '.repeat(7_500_000) };
    const json = JSON.stringify(snap);
    assert.ok(json.length > 110_000_000, `${json.length}`);
    // The single-document layout: Elasticsearch refuses the request (413).
    await assert.rejects(
      client.index({ index, id: 'too-big-old-layout', document: { saved_at: new Date().toISOString(), body: json } }),
      (err: Error & { statusCode?: number }) => err.statusCode === 413,
    );
    const store = esStore(client, 'large', index);
    await store.save(snap);
    const back = (await esStore(client, 'large', index).load()) as EngineSnapshot & { meta: { pad: string } };
    assert.equal(back.meta.pad.length, 'identity-state '.length * 7_500_000);
    assert.deepEqual(back.identities, plain(snap.identities));
  });
});
