import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createReadStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { findingSchema, type Finding } from '../../../shared/src/model/finding.ts';
import { createEngine, parseDetectionConfig } from '../../../services/detector/src/config.ts';
import { analyzeInputs, newSummary } from '../../../services/detector/src/pipeline/analyze.ts';
import { ExternalSorter } from '../../../services/detector/src/pipeline/external-sort.ts';
import { generateScenario } from '../../fixtures/scenarios/generate.ts';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..', '..');
const SAMPLES = join(ROOT, 'test', 'fixtures', 'registry-samples');

async function analyze(
  lines: string[],
  chunkSize?: number,
  cfg: unknown = {},
): Promise<{ findings: Finding[]; summary: ReturnType<typeof newSummary> }> {
  const summary = newSummary();
  const findings: Finding[] = [];
  const input = { name: 'test', stream: Readable.from(lines.map((l) => l + '\n')) };
  for await (const f of analyzeInputs(
    [input],
    createEngine(parseDetectionConfig(cfg)),
    summary,
    chunkSize ? { chunkSize } : {},
  ))
    findings.push(f);
  return { findings, summary };
}

describe('regwatch analyze pipeline', () => {
  test('real registry samples (logs + notifications) normalize and run without findings or rejects of detector origin', async () => {
    const summary = newSummary();
    const files = [
      '16-dist-applog-v3-json-pull-and-push.ndjson',
      '17-dist-applog-v3-json-errors-catalog-tags.ndjson',
      '19-dist-applog-v3-json-auth-failures-and-bad-xff.ndjson',
      '01-dist-notif-v2x-pull-manifest-by-tag.json',
    ];
    const out: Finding[] = [];
    for await (const f of analyzeInputs(
      files.map((f) => ({ name: f, stream: createReadStream(join(SAMPLES, f)) })),
      createEngine(parseDetectionConfig({})),
      summary,
    ))
      out.push(f);
    assert.ok(summary.events >= 15, `events ${summary.events}`);
    assert.equal(summary.rejected, 0);
    assert.deepEqual(out, []);
  });

  test('a request seen as notification and as log line is counted once (join on http.request.id)', async () => {
    const t = Date.parse('2026-03-10T10:00:00Z');
    const lines: string[] = [];
    for (let i = 0; i < 30; i++) {
      const id = `0198aaaa-0000-7000-8000-${String(i).padStart(12, '0')}`;
      const time = new Date(t + i * 1000).toISOString();
      lines.push(
        JSON.stringify({
          'auth.user.name': 'alice',
          'http.request.id': id,
          'http.request.method': 'DELETE',
          'http.request.remoteaddr': '10.0.0.1:5000',
          'http.request.uri': `/v2/team-a/app${i}/manifests/sha256:${'a'.repeat(64)}`,
          'http.request.useragent': 'curl/8.5.0',
          'http.response.duration': '3ms',
          'http.response.status': 202,
          'http.response.written': 0,
          level: 'info',
          msg: 'response completed',
          time,
          'vars.name': `team-a/app${i}`,
          'vars.reference': `sha256:${'a'.repeat(64)}`,
        }),
      );
      lines.push(
        JSON.stringify({
          events: [
            {
              id: `n-${i}`,
              timestamp: time,
              action: 'delete',
              target: { repository: `team-a/app${i}`, digest: `sha256:${'a'.repeat(64)}` },
              request: { id, addr: '10.0.0.1:5000', method: 'DELETE', useragent: 'curl/8.5.0' },
              actor: { name: 'alice' },
            },
          ],
        }),
      );
    }
    // 30 deletions, each seen twice: with threshold 40 a double count would fire, a single count must not.
    const cfg = { rules: { params: { 'delete.burst': { threshold: 40, windowSeconds: 600 } } } };
    const { findings, summary } = await analyze(lines, undefined, cfg);
    assert.equal(summary.events, 60);
    assert.equal(summary.joined, 30);
    assert.deepEqual(
      findings.filter((f) => f.rule === 'delete.burst'),
      [],
    );
    const { findings: at30 } = await analyze(lines, undefined, {
      rules: { params: { 'delete.burst': { threshold: 30, windowSeconds: 600 } } },
    });
    assert.equal(at30.filter((f) => f.rule === 'delete.burst')[0]?.observed.value, 30);
  });

  test('event-time ordering with bounded memory: spilling sorted runs gives the same findings as in memory', async () => {
    const s = generateScenario({ days: 21, trainingDays: 14 });
    const lines = s.lines.slice(0, 40_000).concat(s.lines.slice(40_000).reverse());
    const inMemory = await analyze(lines, undefined, s.config);
    const spilled = await analyze(lines, 5_000, s.config);
    assert.ok(spilled.summary.spilledRuns >= 8);
    assert.deepEqual(
      spilled.findings.map((f) => f.id),
      inMemory.findings.map((f) => f.id),
    );
    for (const f of inMemory.findings) findingSchema.parse(f);
  });

  test('ExternalSorter keeps ties in insertion order across runs', async () => {
    const sorter = new ExternalSorter<{ t: number; i: number }>((x) => x.t, 3);
    const items = [5, 1, 5, 3, 1, 5, 2, 2].map((t, i) => ({ t, i }));
    for (const x of items) await sorter.add(x);
    const out: { t: number; i: number }[] = [];
    for await (const x of sorter.sorted()) out.push(x);
    assert.deepEqual(
      out.map((x) => x.i),
      [1, 4, 6, 7, 3, 0, 2, 5],
    );
  });
});

describe('CLI', () => {
  const dir = mkdtempSync(join(tmpdir(), 'regwatch-cli-'));
  test('regwatch baseline prints the exact CSV contract, one row per point', async () => {
    const csv = join(dir, 's.csv');
    const rows = Array.from(
      { length: 50 },
      (_, i) => `2026-03-02 ${String(i % 24).padStart(2, '0')}:00:00,${i === 49 ? 500 : 10}`,
    );
    // Timestamps must ascend: use successive days for the hour wrap.
    const asc = rows.map((r, i) =>
      r.replace('2026-03-02', `2026-03-${String(2 + Math.floor(i / 24)).padStart(2, '0')}`),
    );
    writeFileSync(csv, ['timestamp,value', ...asc].join('\n') + '\n');
    const { stdout } = await run('sh', [join(ROOT, 'bin', 'regwatch'), 'baseline', '--series', csv]);
    const out = stdout.trim().split('\n');
    assert.equal(out[0], 'timestamp,value,expected,lower,upper,score,anomaly');
    assert.equal(out.length, 51);
    assert.equal(out[1], '2026-03-02 00:00:00,10,,,,0,false');
    const last = out[50]!.split(',');
    assert.equal(last[1], '500');
    assert.equal(Number(last[2]), 10);
    assert.ok(Number(last[5]) > 0.99);
    assert.equal(last[6], 'true', 'the spike is flagged');
    // A normal point after warm-up: inside the band, low score (< 0.5), not flagged.
    const normal = out[48]!.split(',');
    assert.ok(Number(normal[5]) < 0.5, out[48]);
    assert.equal(normal[6], 'false');
    const nd = await run('sh', [join(ROOT, 'bin', 'regwatch'), 'baseline', '--series', csv, '--format', 'ndjson']);
    const first = JSON.parse(nd.stdout.split('\n')[0]!) as Record<string, unknown>;
    assert.deepEqual(Object.keys(first), ['timestamp', 'value', 'expected', 'lower', 'upper', 'score', 'anomaly']);
  });

  test('regwatch baseline: a bad row is a clear error with a code and exit status 2', async () => {
    const csv = join(dir, 'bad.csv');
    writeFileSync(csv, 'timestamp,value\n2026-03-02 00:00:00,abc\n');
    await assert.rejects(
      run('sh', [join(ROOT, 'bin', 'regwatch'), 'baseline', '--series', csv]),
      (err: { code: number; stderr: string }) => {
        assert.equal(err.code, 2);
        assert.match(err.stderr, /BASELINE_INPUT_INVALID: line 2: value "abc" is not a finite number/);
        return true;
      },
    );
  });

  test('regwatch baseline: all bad rows in one run, with line numbers, nothing on stdout', async () => {
    const csv = join(dir, 'bad3.csv');
    writeFileSync(
      csv,
      'timestamp,value\n2026-03-02 00:00:00,1\n2026-03-02 01:00:00,abc\nlater,2\n2026-03-02 03:00:00,1,2\n2026-03-02 04:00:00,5\n',
    );
    await assert.rejects(
      run('sh', [join(ROOT, 'bin', 'regwatch'), 'baseline', '--series', csv]),
      (err: { code: number; stderr: string; stdout: string }) => {
        assert.equal(err.code, 2);
        assert.match(err.stderr, /BASELINE_INPUT_INVALID: 3 bad rows:/);
        for (const line of [3, 4, 5]) assert.match(err.stderr, new RegExp(`line ${line}: `));
        assert.equal(err.stdout, '', 'a bad file prints no rows');
        return true;
      },
    );
  });

  test('regwatch analyze prints NDJSON findings on stdout and the summary on stderr', async () => {
    const file = join(dir, 'bf.ndjson');
    const t = Date.parse('2026-03-10T02:00:00Z');
    const lines = Array.from({ length: 30 }, (_, i) =>
      JSON.stringify({
        'http.request.id': `r-${i}`,
        'http.request.method': 'GET',
        'http.request.remoteaddr': '203.0.113.50:41000',
        'http.request.uri': '/v2/',
        'http.request.useragent': 'python-requests/2.31.0',
        error: 'crypto/bcrypt: hashedPassword is not the hash of the given password',
        level: 'info',
        msg: 'user failed to authenticate',
        time: new Date(t + i * 2000).toISOString(),
        username: `user${i % 5}`,
      }),
    );
    writeFileSync(file, lines.join('\n') + '\n');
    const { stdout, stderr } = await run('sh', [
      join(ROOT, 'bin', 'regwatch'),
      'analyze',
      file,
      '--kibana-url',
      'http://kibana.example:5601',
    ]);
    const fs = stdout
      .trim()
      .split('\n')
      .map((l) => findingSchema.parse(JSON.parse(l)));
    // The burst fires, and resolves at the end of the input (same id, final count).
    assert.deepEqual(
      fs.map((f) => [f.rule, f.status]),
      [
        ['auth.bruteforce_ip', 'firing'],
        ['auth.bruteforce_ip', 'resolved'],
      ],
    );
    assert.equal(fs[1]!.id, fs[0]!.id);
    assert.match(fs[1]!.message, /^Ended: \d+ failed logins from 203\.0\.113\.50 .*; no more for 5 minutes\.$/);
    assert.match(fs[0]!.links.discover!, /^http:\/\/kibana\.example:5601\/app\/discover#\/\?_g=/);
    assert.match(stderr, /auth\.bruteforce_ip\s+0\s+0\s+1\s+0\s+0\s+1/); // medium: 5 user names
    rmSync(dir, { recursive: true, force: true });
  });
});
