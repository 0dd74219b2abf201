/**
 * `regwatch report capacity --es-url …` against the real Elasticsearch node (ELASTICSEARCH_URL,
 * default http://127.0.0.1:9200): storage samples are indexed the way the ingest service indexes
 * `regwatch.storage` (services/ingest/src/documents.ts storageDocument, STORAGE_MAPPINGS) into a
 * uniquely named index, and the report is built from them.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@elastic/elasticsearch';
import { STORAGE_MAPPINGS } from '../../../shared/src/es/mappings.ts';
import { storageDocument } from '../../../services/ingest/src/documents.ts';
import { elasticsearchUrl, uniqueName } from '../../helpers/infra.ts';
import { regwatch } from '../../unit/cli/cli-run.ts';

const ES_URL = elasticsearchUrl();
const index = uniqueName('rwtest_capacity');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const GB = 1e9;
let client: Client;
let dir: string;

/** Hourly samples over `days` days ending 10 minutes ago: `start + perDay × t` bytes used of `capacity`. */
function series(scope: string, days: number, start: number, perDay: number, capacity: number) {
  const end = Date.now() - 10 * 60_000;
  const out = [];
  for (let t = end - days * DAY; t <= end; t += HOUR)
    out.push({
      timestamp: new Date(t).toISOString(),
      scope,
      used_bytes: Math.round(start + (perDay * (t - (end - days * DAY))) / DAY),
      capacity_bytes: capacity,
      source: 'statfs',
    });
  return out;
}

before(async () => {
  client = new Client({ node: ES_URL });
  dir = await mkdtemp(join(tmpdir(), 'rw-report-es-'));
  await client.indices.create({ index, mappings: STORAGE_MAPPINGS as never });
  const samples = [
    // 1 TB volume at 500 GB growing 1 GB/day: 85 % (850 GB) in ~320 days.
    ...series('fs:/var/lib/registry', 30, 500 * GB, 1 * GB, 1000 * GB),
    // 100 GB Harbor quota at 50 GB growing 0.5 GB/day: 85 GB in ~40 days, full in ~70.
    ...series('harbor:library', 30, 50 * GB, 0.5 * GB, 100 * GB),
    // Two samples only: too short for a forecast, left out with a note.
    ...series('harbor:tiny', 1 / 24, 1 * GB, 0, 10 * GB),
  ];
  const operations = samples.flatMap((s) => {
    const d = storageDocument(Buffer.from(JSON.stringify(s)));
    assert.ok(d.ok, JSON.stringify(d));
    return [{ create: { _index: index, _id: d.value.id } }, d.value.doc];
  });
  const res = await client.bulk({ operations, refresh: 'wait_for' });
  assert.equal(res.errors, false);
});

after(async () => {
  await client.indices.delete({ index }).catch(() => undefined);
  await client.close();
  await rm(dir, { recursive: true, force: true });
});

/** The markdown table row of `scope`, split into trimmed cells. */
function row(md: string, scope: string): string[] {
  const line = md.split('\n').find((l) => l.startsWith(`| ${scope} `));
  assert.ok(line, `no row for ${scope} in:\n${md}`);
  return line
    .split('|')
    .slice(1, -1)
    .map((c) => c.trim());
}

describe('regwatch report capacity --es-url', () => {
  test('reports every scope indexed in Elasticsearch (headline figures, four files, JSON on stdout)', async () => {
    const out = join(dir, 'out');
    const r = await regwatch(['report', 'capacity', '--es-url', ES_URL, '--storage-index', index, '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    const json = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as {
      title: string;
      scopes: number;
      stale: string[];
      files: Record<string, string>;
    };
    assert.equal(json.scopes, 2);
    assert.deepEqual(json.stale, []);
    assert.match(json.title, /^Registry capacity report \(week of \d{4}-\d{2}-\d{2}\)$/);
    for (const f of Object.values(json.files)) assert.ok((await stat(f)).size > 0, f);
    assert.equal((await readFile(json.files['png']!)).subarray(1, 4).toString('latin1'), 'PNG');
    assert.match(r.stderr, /report: scope harbor:tiny left out: FORECAST_INPUT_INVALID/);
    assert.match(r.stderr, /: 2 scope\(s\) →/);

    const md = await readFile(json.files['markdown']!, 'utf8');
    const [scope, used, capacity, usedPct, growth, toWarn, toFull] = row(md, 'harbor:library');
    assert.equal(scope, 'harbor:library');
    assert.match(used!, /^6[45]\.\d GB$/);
    assert.equal(capacity, '100.0 GB');
    assert.match(usedPct!, /^6[45](\.\d)? ?%$/);
    assert.match(growth!, /^(500\.00 MB|0\.50 GB)\/day$/);
    const days = (cell: string): number => Number(/^([\d.]+) d/.exec(cell)?.[1]);
    assert.ok(Math.abs(days(toWarn!) - 40) < 2, toWarn);
    assert.ok(Math.abs(days(toFull!) - 70) < 2, toFull);
    const fs = row(md, 'fs:/var/lib/registry');
    assert.equal(fs[2], '1.0 TB');
    assert.ok(Math.abs(days(fs[5]!) - 320) < 5, fs[5]);
    assert.match(fs[6]!, /^> 365 d/);
    // Most urgent first.
    assert.ok(md.indexOf('| harbor:library ') < md.indexOf('| fs:/var/lib/registry '));
  });

  test('an index pattern that matches nothing is FORECAST_INPUT_INVALID naming it; nothing is written', async () => {
    const out = join(dir, 'none');
    const missing = `${index}_nothing*`;
    const r = await regwatch(['report', 'capacity', '--es-url', ES_URL, '--storage-index', missing, '--out', out]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /FORECAST_INPUT_INVALID: no index matches rwtest_capacity_\S+_nothing\* on http:\/\/127/);
    await assert.rejects(stat(out), { code: 'ENOENT' });
  });

  test('samples older than --history-days are not read', async () => {
    const r = await regwatch([
      'report',
      'capacity',
      '--es-url',
      ES_URL,
      '--storage-index',
      index,
      '--history-days',
      '0.001',
      '--out',
      join(dir, 'short'),
    ]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      /FORECAST_INPUT_INVALID: rwtest_capacity_\S+ on http:\/\/\S+ holds no storage samples in the last 0\.001 day\(s\)/,
    );
  });

  test('unreachable Elasticsearch: ES_UNAVAILABLE, exit 1', async () => {
    const r = await regwatch(['report', 'capacity', '--es-url', 'http://127.0.0.1:1', '--out', join(dir, 'x')]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /regwatch: ES_UNAVAILABLE: /);
  });

  test('without any source, the error names all three options', async () => {
    const r = await regwatch(['report', 'capacity', '--out', join(dir, 'y'), '--data-dir', join(dir, 'no-such-dir')]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /INPUT_UNREADABLE: data directory .* does not exist/);
    assert.match(r.stderr, /--es-url URL/);
    assert.match(r.stderr, /--data-dir DIR/);
    assert.match(r.stderr, /--series FILE\.csv --capacity BYTES/);
  });

  test('--series and --es-url together are a usage error', async () => {
    const r = await regwatch(['report', 'capacity', '--es-url', ES_URL, '--series', 'x.csv', '--out', dir]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /cannot be used with option '--es-url/);
  });
});
