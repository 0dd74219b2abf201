/**
 * `regwatch replay` and `regwatch setup elasticsearch` against the real Elasticsearch node
 * (ELASTICSEARCH_URL, default http://127.0.0.1:9200).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@elastic/elasticsearch';
import { applyElasticsearchAssets } from '../../../shared/src/es/assets.ts';
import { buildAssets } from '../../../shared/src/es/templates.ts';
import { silentLogger } from '../../../shared/src/logger.ts';
import { regwatch } from '../../unit/cli/cli-run.ts';

const ES_URL = process.env.ELASTICSEARCH_URL ?? 'http://127.0.0.1:9200';
let client: Client;
before(() => {
  client = new Client({ node: ES_URL });
});
after(() => client.close());

describe('regwatch replay', () => {
  test('names itself in the summary and warns when the index pattern matches nothing', async () => {
    const pattern = `regwatch-ux-test-nothing-${Date.now()}-*`;
    const r = await regwatch([
      'replay',
      '--es-url',
      ES_URL,
      '--index',
      pattern,
      '--from',
      '2026-01-01T00:00:00Z',
      '--to',
      '2026-01-02T00:00:00Z',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(`regwatch replay: warning: index pattern "${pattern.replace(/[.*]/g, '\\$&')}" matched no index`),
    );
    assert.match(r.stderr, /^regwatch replay: 0 lines, 0 events/m);
    assert.doesNotMatch(r.stderr, /regwatch analyze:/);
    assert.equal(r.stdout, 'day,rule,findings,medium_or_above\n');
  });
});

describe('regwatch setup elasticsearch', () => {
  test('says when it replaces a template installed by another regwatch version (hash X → Y)', async () => {
    await applyElasticsearchAssets(client, { logger: silentLogger() });
    const name = buildAssets({ ilm: true }).componentTemplates[0]!.name;
    const got = await client.cluster.getComponentTemplate({ name });
    const installed = got.component_templates[0]!.component_template as unknown as Record<string, unknown> & {
      _meta: Record<string, unknown>;
    };
    const currentHash = String(installed._meta['regwatch_hash']);
    // What an older (or differently configured) regwatch deployment would have left behind.
    await client.cluster.putComponentTemplate({
      name,
      template: installed['template'],
      _meta: { ...installed._meta, regwatch_hash: '0123456789abcdef0123456789abcdef' },
    } as never);
    const r = await regwatch(['setup', 'elasticsearch', '--url', ES_URL]);
    assert.equal(r.code, 0, r.stderr);
    const line = r.stderr.split('\n').find((l) => l.includes(name));
    assert.ok(line, r.stderr);
    assert.match(
      line,
      new RegExp(
        `^updated +component_template +${name.replace(/[.@]/g, '\\$&')} \\(replaced template installed by another regwatch version \\(hash 0123456789ab → ${currentHash.slice(0, 12)}\\)\\)$`,
      ),
    );
    assert.match(r.stderr, /warning: 1 asset\(s\) had been installed by a different regwatch version/);
    const report = JSON.parse(r.stdout) as { changes: { name: string; previousHash?: string; hash?: string }[] };
    const change = report.changes.find((c) => c.name === name)!;
    assert.equal(change.previousHash, '0123456789abcdef0123456789abcdef');
    assert.equal(change.hash, currentHash);
    // Restored: a second run finds nothing to replace.
    const again = await regwatch(['setup', 'elasticsearch', '--url', ES_URL]);
    assert.equal(again.code, 0, again.stderr);
    assert.doesNotMatch(again.stderr, /replaced template/);
  });
});
