import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { RegistryEvent } from '../../shared/src/model/registry-event.ts';
import { expectedBytes, ignoredKind } from '../../cli/commands/normalize.ts';
import { openInput } from '../../shared/src/io/open-input.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SAMPLES = join(ROOT, 'test/fixtures/registry-samples');
const CASES = join(ROOT, 'test/fixtures/cases/inputs');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function regwatch(args: string[], stdin?: Buffer | string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', [join(ROOT, 'bin/regwatch'), ...args], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (code) =>
      resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }),
    );
    child.stdin.end(stdin ?? '');
  });
}

const events = (stdout: string): RegistryEvent[] =>
  stdout
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as RegistryEvent);

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'regwatch-cli-normalize-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('regwatch normalize on the Harbor / Quay / Artifactory / Nexus fixtures (26–41)', () => {
  const expected: [string, string[]][] = [
    ['26-harbor-webhook-push-artifact-user.json', ['manifest-push']],
    ['27-harbor-webhook-push-artifact-robot-tag-is-digest.json', ['manifest-push']],
    ['28-harbor-webhook-pull-artifact-default.json', ['manifest-pull']],
    ['28b-harbor-webhook-pull-artifact-anonymous-nested.json', ['manifest-pull']],
    ['29-harbor-webhook-pull-artifact-cloudevents.json', ['manifest-pull']],
    ['30-harbor-webhook-quota-warning.json', ['quota-warning']],
    ['31-harbor-webhook-quota-exceed.json', ['quota-exceeded']],
    ['32-harbor-webhook-scanning-completed.json', ['scan-completed']],
    ['33-harbor-webhook-v2.0-push-legacy-resource-url.json', ['manifest-push']],
    [
      '34-harbor-audit-forward-syslog.log',
      ['other', 'manifest-delete', 'manifest-push', 'manifest-push', 'manifest-pull', 'login-success'],
    ],
    ['35-harbor-api-auditlog-exts.json', ['manifest-push', 'manifest-pull', 'login-failure', 'manifest-delete']],
    ['36-harbor-api-audit-logs-legacy.json', ['manifest-push', 'manifest-push', 'manifest-pull', 'tag-delete']],
    ['37-quay-api-logs.json', ['other', 'manifest-push', 'manifest-pull']],
    ['38-quay-kafka-logentry.ndjson', ['other', 'other']],
    ['39-artifactory-request.log', ['manifest-head', 'blob-pull', 'auth-challenge']],
    ['40-artifactory-access.log', ['blob-pull', 'access-denied']],
    ['41-nexus-request.log', ['manifest-head', 'blob-pull', 'blob-push', 'auth-challenge']],
  ];

  // One process for all files (spawning Node per file is slow on a shared machine).
  let all: Run = { code: null, stdout: '', stderr: '' };
  before(async () => {
    all = await regwatch(['normalize', '--no-progress', ...expected.map(([f]) => join(SAMPLES, f))]);
  });

  test('the run exits 0 with no rejects and a summary line', () => {
    assert.equal(all.code, 0, all.stderr);
    assert.match(all.stderr, /^normalize: events 37 \(.*\); rejects 0; ignored 2 \(.*\); lines \d+$/m);
  });

  for (const [file, actions] of expected) {
    test(`${file} → ${actions.join(', ')}`, () => {
      const evs = events(all.stdout).filter((e) => e.log?.file?.path === join(SAMPLES, file));
      assert.deepEqual(
        evs.map((e) => e.event.action),
        actions,
      );
    });
  }

  test('case C06 (an array of three payloads) through the CLI', async () => {
    const r = await regwatch(['normalize', join(CASES, 'C06.json')]);
    assert.equal(r.code, 0, r.stderr);
    const evs = events(r.stdout);
    assert.deepEqual(
      evs.map((e) => [e.event.action, e.oci_registry.actor.kind, e.oci_registry.tag ?? null]),
      [
        ['cache-fill', 'service', null],
        ['scan-completed', 'service', null],
        ['manifest-push', 'robot', null],
      ],
    );
  });

  test('--harbor-host scopes audit ids; --keep-original keeps the record', async () => {
    const r = await regwatch([
      'normalize',
      '--harbor-host',
      'harbor.example.com',
      '--keep-original',
      join(SAMPLES, '35-harbor-api-auditlog-exts.json'),
    ]);
    const [first] = events(r.stdout);
    assert.equal(first?.event.id, 'harbor.example.com/90412');
    assert.equal((JSON.parse(first?.event.original ?? '{}') as { id?: number }).id, 90412);
  });
});

describe('regwatch normalize: inputs, rejects, errors', () => {
  test('gzip file and stdin in one run, summary by action on stderr', async () => {
    const gz = join(dir, 'nexus.log.gz');
    await writeFile(gz, gzipSync(await readFile(join(SAMPLES, '41-nexus-request.log'))));
    const stdin = await readFile(join(SAMPLES, '39-artifactory-request.log'));
    const r = await regwatch(['normalize', gz, '-'], stdin);
    assert.equal(r.code, 0, r.stderr);
    const evs = events(r.stdout);
    assert.equal(evs.length, 7);
    assert.equal(evs[0]?.log?.file?.path, gz);
    assert.equal(evs[4]?.log?.file?.path, 'stdin');
    assert.equal(evs[4]?.event.dataset, 'artifactory.request');
    assert.match(
      r.stderr,
      /normalize: events 7 \(auth-challenge 2, blob-pull 2, manifest-head 2, blob-push 1\); rejects 0; ignored 1 \(artifactory request outside the Docker registry API 1\); lines 8/,
    );
  });

  test('bad lines go to --rejects as NDJSON with reason, detail, original, file, line; good lines still come out', async () => {
    const mixed = join(dir, 'mixed.log');
    const good = (await readFile(join(SAMPLES, '41-nexus-request.log'), 'utf8')).split('\n')[0] ?? '';
    const bytes = Buffer.concat([
      Buffer.from(`${good}\n{"type":"PUSH_ARTIFACT","occur_at":\n\nthis is not a registry line\n`),
      Buffer.from([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x7d, 0x0a]), // `{"<invalid UTF-8>"}`
      Buffer.from(`${'x'.repeat(1024 * 1024 + 10)}\n${good}\n`),
    ]);
    await writeFile(mixed, bytes);
    // A missing parent directory is created (as run --findings and forecast --chart do).
    const rejFile = join(dir, 'not-yet', 'rejects.ndjson');
    const r = await regwatch(['normalize', '--rejects', rejFile, mixed]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(events(r.stdout).length, 2);
    const rejects = (await readFile(rejFile, 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map(
        (l) => JSON.parse(l) as { reason: string; detail: string; original: string; file: string; line: number | null },
      );
    assert.deepEqual(
      rejects.map((x) => [x.reason, x.line]),
      [
        ['not_json', 2],
        ['unknown_format', 4],
        ['invalid_utf8', 5],
        ['too_large', 6],
      ],
    );
    for (const x of rejects) {
      assert.equal(x.file, mixed);
      assert.ok(x.detail.length > 0);
    }
    assert.equal(rejects[0]?.original, '{"type":"PUSH_ARTIFACT","occur_at":');
    assert.equal(rejects[1]?.original, 'this is not a registry line');
    assert.equal(Buffer.from(rejects[2]?.original ?? '', 'latin1').toString('hex'), '7b22c328227d');
    assert.match(r.stderr, /rejects 4 \(invalid_utf8 1, not_json 1, too_large 1, unknown_format 1\)/);
    assert.doesNotMatch(r.stderr, /"reason"/, 'rejects went to the file, not stderr');
  });

  test('without --rejects, rejects are NDJSON on stderr', async () => {
    const r = await regwatch(['normalize'], 'garbage line\n');
    assert.equal(r.code, 0);
    assert.equal(r.stdout, '');
    const line = r.stderr.split('\n').find((l) => l.startsWith('{'));
    assert.deepEqual(JSON.parse(line ?? '{}'), {
      reason: 'unknown_format',
      detail: 'no known registry format matches the line',
      original: 'garbage line',
      file: 'stdin',
      line: 1,
    });
  });

  test('an unreadable file is a clear error with a non-zero exit and no output', async () => {
    const r = await regwatch([
      'normalize',
      join(SAMPLES, '26-harbor-webhook-push-artifact-user.json'),
      join(dir, 'missing.log'),
    ]);
    assert.notEqual(r.code, 0);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /INPUT_UNREADABLE: cannot read .*missing\.log/);
  });

  test('a corrupt gzip file is INPUT_UNREADABLE', async () => {
    const bad = join(dir, 'bad.gz');
    await writeFile(bad, Buffer.concat([Buffer.from([0x1f, 0x8b, 0x08, 0x00]), Buffer.alloc(64, 7)]));
    const r = await regwatch(['normalize', bad]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /INPUT_UNREADABLE/);
  });

  test('a first line cut mid-JSON and an invalid UTF-8 line later: only those two are rejected, every good line is kept', async () => {
    // A log file that begins inside a rotated line, with one line of binary garbage further down.
    // (It was read as one whole JSON document and rejected as a single invalid_utf8.)
    const good = await readFile(join(SAMPLES, '16-dist-applog-v3-json-pull-and-push.ndjson'));
    const alone = await regwatch(['normalize', join(SAMPLES, '16-dist-applog-v3-json-pull-and-push.ndjson')]);
    const expected = events(alone.stdout).length;
    assert.ok(expected > 0);
    const file = join(dir, 'cut-and-garbage.ndjson');
    await writeFile(
      file,
      Buffer.concat([good.subarray(0, 200), Buffer.from('\n'), good, Buffer.from('garbage \xff\xfe here\n', 'latin1')]),
    );
    const r = await regwatch(['normalize', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(events(r.stdout).length, expected);
    const reasons = r.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => (JSON.parse(l) as { reason: string; line: number }).reason)
      .sort();
    assert.deepEqual(reasons, ['invalid_utf8', 'not_json']);
  });

  test('pretty-printed envelopes in the middle of a mixed stream are normalized whole, not cut into rejects', async () => {
    const parts = await Promise.all(
      [
        '16-dist-applog-v3-json-pull-and-push.ndjson',
        '02-dist-notif-v3-pull-manifest-by-digest.json',
        '13-dist-applog-v2x-text-401-then-200.log',
        '03-dist-notif-v3-head-manifest-by-tag.json',
        '36-harbor-api-audit-logs-legacy.json',
        '21-dist-accesslog-combined.log',
      ].map((f) => readFile(join(SAMPLES, f), 'utf8')),
    );
    const file = join(dir, 'mixed-pretty.log');
    await writeFile(file, parts.map((p) => (p.endsWith('\n') ? p : `${p}\n`)).join(''));
    const r = await regwatch(['normalize', '--rejects', join(dir, 'mixed-pretty.rejects'), file]);
    assert.equal(r.code, 0, r.stderr);
    const rejects = (await readFile(join(dir, 'mixed-pretty.rejects'), 'utf8')).split('\n').filter(Boolean);
    assert.deepEqual(rejects, []);
    const datasets = new Set<string>(events(r.stdout).map((e) => e.event.dataset));
    for (const d of ['oci_registry.notification', 'oci_registry.log', 'oci_registry.access', 'harbor.audit'])
      assert.ok(datasets.has(d), `${d} missing: ${[...datasets].join(', ')}`);
    // Each envelope's event is there: one per single-event envelope (02: pull by digest, 03: HEAD).
    const notifications = events(r.stdout).filter((e) => e.event.dataset === 'oci_registry.notification');
    assert.deepEqual(notifications.map((e) => e.event.action).sort(), ['manifest-head', 'manifest-pull']);
  });

  test('a pretty-printed Distribution envelope (whole-file document) is normalized', async () => {
    const r = await regwatch(['normalize', join(SAMPLES, '10-dist-notif-multi-event-envelope-test-fixture.json')]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(events(r.stdout).length, 3);
  });
});

test('ignoredKind: the summary groups ignored inputs by reason without their variable part', () => {
  assert.equal(ignoredKind('duplicate delivery of event 0b2e-11'), 'repeated event id');
  assert.equal(ignoredKind('duplicate event abc in payload'), 'repeated event id');
  assert.equal(ignoredKind('not a request completion line: listening on [::]:5000'), 'not a request completion line');
  assert.equal(
    ignoredKind('authorized request: the completion line of the same request is the event'),
    'authorized request',
  );
  assert.equal(
    ignoredKind('OpenShift middleware "response" line (duplicate of response completed)'),
    'OpenShift middleware "response" line',
  );
  assert.equal(ignoredKind(''), 'other');
});

test('expectedBytes: a gzip file counts its decompressed size (progress bar threshold and total)', async () => {
  const d = await mkdtemp(join(tmpdir(), 'regwatch-expected-'));
  try {
    const plain = Buffer.from('{"msg":"x"}\n'.repeat(100_000));
    await writeFile(join(d, 'a.log'), plain);
    await writeFile(join(d, 'a.log.gz'), gzipSync(plain));
    for (const [f, want] of [
      ['a.log', plain.length],
      ['a.log.gz', plain.length],
    ] as const) {
      const o = await openInput(join(d, f));
      assert.equal(expectedBytes(o), want, f);
      o.stream.destroy();
    }
  } finally {
    await rm(d, { recursive: true, force: true });
  }
});
