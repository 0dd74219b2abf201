import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startChatServer, type ChatServer } from '../../helpers/chat-servers.ts';
import { elasticsearchUrl, esClient, REPO_ROOT, uniqueName } from './support.ts';

const run = promisify(execFile);

interface SendReportOutput {
  results: { outcome: string }[];
  deliveries: { store: string; path?: string; index?: string; records: number; error?: unknown };
}
interface RecordDoc {
  event: { outcome: string };
  oci_registry: { alert: { kind: string; receiver: string; channel: string; final: boolean; destination: string } };
}

/**
 * `regwatch alerts send-report` records every delivery attempt like the alerts service: in the
 * deliveries file of `regwatch run`'s data dir, a given NDJSON file, or the Elasticsearch
 * deliveries index (real ES node). The Slack webhook is a local server behaving as Slack documents.
 */
describe('regwatch alerts send-report records its deliveries', () => {
  let dir: string;
  let slack: ChatServer;
  const cli = (args: string[], env: Record<string, string> = {}) =>
    run('sh', [join(REPO_ROOT, 'bin/regwatch'), 'alerts', 'send-report', ...args], {
      cwd: dir,
      env: { ...process.env, ES_URLS: '', ES_DELIVERIES_INDEX: '', REGWATCH_DATA_DIR: '', ...env },
      timeout: 60_000,
    });
  const base = (): string[] => [
    '--dir',
    join(dir, 'report'),
    '--config',
    join(dir, 'alerts.yml'),
    '--receiver',
    'platform',
  ];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'regwatch-send-report-'));
    slack = await startChatServer('slack');
    const report = join(dir, 'report');
    mkdirSync(report, { recursive: true });
    writeFileSync(
      join(report, 'capacity.md'),
      '# Registry capacity — week 48\n\nfs:/var/lib/registry: 42 days to 85 %\n',
    );
    writeFileSync(join(report, 'capacity.html'), '<h1>Registry capacity — week 48</h1>');
    writeFileSync(join(report, 'capacity.png'), Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex'));
    writeFileSync(
      join(dir, 'alerts.yml'),
      `route: { receiver: platform }\nreceivers:\n  - name: platform\n    channels: [{ type: slack, url: "${slack.url}" }]\n`,
    );
  });
  after(async () => {
    await slack.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("default: the data dir's deliveries file (where regwatch run records), said on stdout and stderr", async () => {
    const r = await cli(base());
    const out = JSON.parse(r.stdout) as SendReportOutput;
    const path = join(dir, '.data', 'alerts', 'deliveries.ndjson');
    assert.deepEqual(out.deliveries, { store: 'file', path, records: 1 });
    assert.match(
      r.stderr,
      /1\/1 channel\(s\) delivered; 1 delivery record\(s\) → .*\.data\/alerts\/deliveries\.ndjson/,
    );
    const recs = readFileSync(path, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as RecordDoc);
    assert.equal(recs.length, 1);
    assert.equal(recs[0]?.oci_registry.alert.kind, 'report');
    assert.equal(recs[0]?.oci_registry.alert.receiver, 'platform');
    assert.equal(recs[0]?.event.outcome, 'success');
    assert.ok(!readFileSync(path, 'utf8').includes(slack.url), 'no webhook URL in the records');
    assert.equal(slack.accepted.length, 1);
  });

  test('--deliveries-file: a failed destination is recorded attempt by attempt; exit code says it failed', async () => {
    const file = join(dir, 'out', 'report-deliveries.ndjson');
    slack.script({ status: 404, body: 'no_service' });
    const err = await cli([...base(), '--deliveries-file', file]).then(
      () => assert.fail('expected a non-zero exit'),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
    assert.notEqual(err.code, 0);
    assert.match(err.stderr, /ALERTS_CHANNEL_REJECTED/);
    const out = JSON.parse(err.stdout) as SendReportOutput;
    assert.equal(out.deliveries.path, file);
    const recs = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as RecordDoc);
    assert.equal(recs.length, out.deliveries.records);
    assert.ok(recs.some((x) => x.oci_registry.alert.final && x.event.outcome === 'failure'));
  });

  test('--es-url: records go to the Elasticsearch deliveries index; an unreachable ES stops it before sending', async () => {
    const index = uniqueName('regwatch-alert-deliveries-cli');
    const es = esClient();
    try {
      const r = await cli([...base(), '--es-url', elasticsearchUrl(), '--deliveries-index', index]);
      const out = JSON.parse(r.stdout) as SendReportOutput;
      assert.deepEqual(out.deliveries, { store: 'elasticsearch', index, records: 1 });
      assert.match(r.stderr, new RegExp(`1 delivery record\\(s\\) → Elasticsearch index ${index}`));
      const hits = await es.search<RecordDoc>({ index, query: { match_all: {} } });
      assert.equal(hits.hits.hits.length, 1);
      assert.equal(hits.hits.hits[0]?._source?.oci_registry.alert.kind, 'report');

      // ES_URLS from the environment configures it too (as for the service).
      const viaEnv = await cli(base(), { ES_URLS: elasticsearchUrl(), ES_DELIVERIES_INDEX: index });
      assert.equal((JSON.parse(viaEnv.stdout) as SendReportOutput).deliveries.store, 'elasticsearch');

      const sentBefore = slack.requests.length;
      const down = await cli([...base(), '--es-url', 'http://127.0.0.1:1']).then(
        () => assert.fail('expected ES_UNAVAILABLE'),
        (e: { code: number; stderr: string }) => e,
      );
      assert.match(down.stderr, /ES_UNAVAILABLE/);
      assert.match(down.stderr, /nothing was sent/);
      assert.equal(slack.requests.length, sentBefore, 'nothing sent when records could not be kept');
    } finally {
      await es.indices.delete({ index, ignore_unavailable: true });
      await es.close();
    }
  });
});
