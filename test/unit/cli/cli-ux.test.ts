import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { CommanderError } from 'commander';
import { AppError } from '../../../shared/src/errors.ts';
import { EXIT_STATUS_TABLE, exitStatusFor } from '../../../cli/exit-codes.ts';
import { defaultAuthor } from '../../../cli/commands/silence.ts';
import { ROOT, regwatch } from './cli-run.ts';

const SAMPLE = join(ROOT, 'test/fixtures/registry-samples/16-dist-applog-v3-json-pull-and-push.ndjson');

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'rw-cli-ux-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const eventsIn = (stderr: string): number =>
  Number(/regwatch analyze: \d+ lines, (\d+) events/.exec(stderr)?.[1] ?? -1);

describe('exit status table (pure)', () => {
  test('commander help/version → 0, other commander errors → 2, *_INVALID → 2, other AppErrors and errors → 1', () => {
    assert.equal(exitStatusFor(new CommanderError(0, 'commander.helpDisplayed', '')), 0);
    assert.equal(exitStatusFor(new CommanderError(1, 'commander.unknownOption', '')), 2);
    assert.equal(exitStatusFor(new CommanderError(1, 'commander.invalidArgument', '')), 2);
    assert.equal(exitStatusFor(new AppError('CONFIG_INVALID', 'x')), 2);
    assert.equal(exitStatusFor(new AppError('FORECAST_INPUT_INVALID', 'x')), 2);
    assert.equal(exitStatusFor(new AppError('INPUT_UNREADABLE', 'x')), 1);
    assert.equal(exitStatusFor(new Error('bug')), 1);
    assert.deepEqual(
      EXIT_STATUS_TABLE.map((r) => r.status),
      [0, 1, 2, 130],
    );
  });

  test('defaultAuthor: $USER, else $LOGNAME, else the OS account name', () => {
    assert.equal(defaultAuthor({ USER: 'alice', LOGNAME: 'bob' }), 'alice');
    assert.equal(defaultAuthor({ LOGNAME: 'bob' }), 'bob');
    assert.equal(defaultAuthor({ USER: '  ' }), userInfo().username);
    assert.equal(defaultAuthor({}), userInfo().username);
  });
});

describe('regwatch analyze reads gzip like normalize', () => {
  test('FILE.gz and gzip on stdin give the same events as the plain file', async () => {
    const gz = join(dir, 'sample.ndjson.gz');
    writeFileSync(gz, gzipSync(readFileSync(SAMPLE)));
    const plain = await regwatch(['analyze', SAMPLE]);
    const fromGz = await regwatch(['analyze', gz]);
    const fromStdin = await regwatch(['analyze', '-'], { stdin: gzipSync(readFileSync(SAMPLE)) });
    for (const r of [plain, fromGz, fromStdin]) assert.equal(r.code, 0, r.stderr);
    assert.ok(eventsIn(plain.stderr) > 0, plain.stderr);
    assert.equal(eventsIn(fromGz.stderr), eventsIn(plain.stderr), fromGz.stderr);
    assert.equal(eventsIn(fromStdin.stderr), eventsIn(plain.stderr), fromStdin.stderr);
    assert.doesNotMatch(fromGz.stderr, /unknown_format/);
  });

  test('a missing input is INPUT_UNREADABLE, exit 1; a corrupt gzip too', async () => {
    const missing = await regwatch(['analyze', join(dir, 'nope.log.gz')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^regwatch: INPUT_UNREADABLE: cannot read .*nope\.log\.gz: ENOENT/m);
    const bad = join(dir, 'bad.gz');
    writeFileSync(bad, Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0]), Buffer.alloc(64, 9)]));
    const corrupt = await regwatch(['analyze', bad]);
    assert.equal(corrupt.code, 1);
    assert.match(corrupt.stderr, /INPUT_UNREADABLE: cannot read .*bad\.gz: .*corrupt or truncated gzip/);
  });
});

describe('detection config problems exit 2 with every problem listed', () => {
  test('typos, unknown ids and a negative threshold in one file: all listed', async () => {
    const cfg = join(dir, 'detect.yaml');
    writeFileSync(
      cfg,
      'settigns: {}\nrules:\n  disabled: [no.such.rule]\n  params:\n    delete.burst: { threshold: -1, treshold: 3 }\n',
    );
    const r = await regwatch(['analyze', '--config', cfg, SAMPLE]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /CONFIG_INVALID: invalid detection config \(4 problem\(s\)\)/);
    assert.match(r.stderr, /settigns: unknown key "settigns" \(did you mean "settings"\?\)/);
    assert.match(r.stderr, /rules\.disabled\.0: unknown rule id "no\.such\.rule"/);
    assert.match(r.stderr, /rules\.params\.delete\.burst\.threshold: /);
    assert.match(r.stderr, /treshold: unknown key "treshold" \(did you mean "threshold"\?\)/);
    assert.equal(r.stdout, '');
  });

  test('a YAML syntax error is CONFIG_INVALID with file:line:column, exit 2', async () => {
    const cfg = join(dir, 'broken.yaml');
    writeFileSync(cfg, 'rules:\n  disabled: [delete.burst\n  params: {}\n');
    const r = await regwatch(['analyze', '--config', cfg, SAMPLE]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /CONFIG_INVALID: invalid detection config .*broken\.yaml:\d+:\d+: YAML syntax error/);
  });
});

describe('usage errors: one line `regwatch: USAGE_INVALID: …` (like every other error), exit 2', () => {
  test('silence list --state bogus names the allowed choices', async () => {
    const r = await regwatch(['silence', 'list', '--state', 'bogus', '--token', 'x'.repeat(16)]);
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /^regwatch: USAGE_INVALID: option '--state <state>' argument 'bogus' is invalid\. Allowed choices are active, pending, expired/,
    );
    assert.doesNotMatch(r.stderr, /Usage:/);
  });

  test('silence add without --comment names the missing option, no help dump', async () => {
    const r = await regwatch(['silence', 'add', '--matcher', 'rule=x', '--token', 'x'.repeat(16)]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^regwatch: USAGE_INVALID: required option '-c, --comment <text>' not specified/);
    assert.doesNotMatch(r.stderr, /Usage:/);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  });

  test('dlq --reason with an unknown code is a usage error, not an empty result', async () => {
    const r = await regwatch(['dlq', '--reason', 'not_json,no_such_reason', '--brokers', '127.0.0.1:1']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^regwatch: USAGE_INVALID: .*unknown reason code 'no_such_reason'/);
  });

  test('unknown option exits 2; --help exits 0', async () => {
    const r = await regwatch(['analyze', '--no-such-option']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^regwatch: USAGE_INVALID: unknown option '--no-such-option'/);
    const c = await regwatch(['no-such-command']);
    assert.equal(c.code, 2);
    assert.match(c.stderr, /^regwatch: USAGE_INVALID: unknown command 'no-such-command' \(add --help for usage\)\n$/);
    const h = await regwatch(['analyze', '--help']);
    assert.equal(h.code, 0);
    assert.match(h.stdout, /Usage: regwatch analyze/);
  });
});

describe('silence add without $USER', () => {
  let server: Server;
  let url = '';
  const bodies: unknown[] = [];
  before(async () => {
    // Behaves as services/alerts/src/api.ts documents POST /api/v1/silences (201 + the silence).
    server = createServer((req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
        bodies.push({ method: req.method, url: req.url, auth: req.headers.authorization, body });
        res.writeHead(201, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({ id: 'sil-1', ...body, endsAt: '2026-01-01T02:00:00.000Z', status: { state: 'active' } }),
        );
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  test('createdBy falls back to the OS account name, not "unknown"', async () => {
    const env: Record<string, string | undefined> = { ...process.env };
    delete env['USER'];
    delete env['LOGNAME'];
    const token = 't'.repeat(20);
    const r = await regwatch(
      ['silence', 'add', '--url', url, '--token', token, '-m', 'rule=pull.volume_spike', '-c', 'maintenance'],
      { env },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(bodies.length, 1);
    const got = bodies[0] as { method: string; url: string; auth: string; body: Record<string, unknown> };
    assert.equal(got.method, 'POST');
    assert.equal(got.url, '/api/v1/silences');
    assert.equal(got.auth, `Bearer ${token}`);
    assert.equal(got.body['createdBy'], userInfo().username);
    assert.notEqual(got.body['createdBy'], 'unknown');
    assert.match(r.stderr, /silence sil-1 active until/);
  });
});

describe('regwatch setup kibana with nothing listening', () => {
  test('names the cause (ECONNREFUSED) and exits 1', async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const r = await regwatch(['setup', 'kibana', '--url', `http://127.0.0.1:${port}`]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      new RegExp(
        `KIBANA_UNAVAILABLE: .*cannot reach Kibana at .*: fetch failed \\(ECONNREFUSED 127\\.0\\.0\\.1:${port}\\)`,
      ),
    );
  });
});
