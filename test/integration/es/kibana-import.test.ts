/**
 * `regwatch setup kibana` against a local HTTP server that answers as Kibana's saved objects
 * import API documents: multipart `file` field, `kbn-xsrf` required (400 without), `/s/<space>`
 * prefix, `overwrite=true`, and a 200 body `{success, successCount, errors[], successResults[]}`
 * — including 200 with `success: false` and per-object errors, which must fail the command.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { importNdjson } from '../../../shared/src/es/kibana-import.ts';
import { AppError } from '../../../shared/src/errors.ts';

const ROOT = resolve(import.meta.dirname, '../../..');
const DASH = join(ROOT, 'dashboards');

interface Seen {
  method: string;
  path: string;
  query: URLSearchParams;
  xsrf: string | undefined;
  auth: string | undefined;
  fileName: string | undefined;
  lines: number;
}

type Mode = 'ok' | 'object-errors' | 'unauthorized' | 'success-false-no-errors';

let server: Server;
let base = '';
let mode: Mode = 'ok';
const seen: Seen[] = [];

async function body(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

before(async () => {
  server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const raw = await body(req);
      const send = (status: number, obj: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(obj));
      };
      const m = /^(?:\/s\/([a-z0-9_-]+))?\/api\/saved_objects\/_import$/.exec(url.pathname);
      if (req.method !== 'POST' || !m) return send(404, { statusCode: 404, error: 'Not Found', message: 'Not Found' });
      if (!req.headers['kbn-xsrf'])
        return send(400, { statusCode: 400, error: 'Bad Request', message: 'Request must contain a kbn-xsrf header.' });
      if (mode === 'unauthorized')
        return send(401, { statusCode: 401, error: 'Unauthorized', message: 'Unauthorized' });
      const form = await new Response(raw, {
        headers: { 'content-type': req.headers['content-type'] ?? '' },
      }).formData();
      const file = form.get('file');
      if (!(file instanceof File))
        return send(400, {
          statusCode: 400,
          error: 'Bad Request',
          message: '[request body.file]: expected value of type [Buffer]',
        });
      if (!file.name.endsWith('.ndjson'))
        return send(400, { statusCode: 400, error: 'Bad Request', message: 'Invalid file extension .json' });
      const objs = (await file.text())
        .split('\n')
        .filter((l) => l.trim())
        .map((l) => JSON.parse(l) as { type: string; id: string; attributes: { title?: string } });
      seen.push({
        method: req.method,
        path: url.pathname,
        query: url.searchParams,
        xsrf: req.headers['kbn-xsrf'] as string,
        auth: req.headers.authorization,
        fileName: file.name,
        lines: objs.length,
      });
      if (mode === 'object-errors') {
        const dash = objs.find((o) => o.type === 'dashboard');
        return send(200, {
          success: false,
          successCount: objs.length - 1,
          errors: [
            {
              id: dash?.id ?? 'x',
              type: 'dashboard',
              title: dash?.attributes.title,
              meta: { title: dash?.attributes.title, icon: 'dashboardApp' },
              error: { type: 'missing_references', references: [{ type: 'index-pattern', id: 'does-not-exist' }] },
            },
          ],
        });
      }
      if (mode === 'success-false-no-errors') return send(200, { success: false, successCount: 0 });
      return send(200, {
        success: true,
        successCount: objs.length,
        successResults: objs.map((o) => ({
          type: o.type,
          id: o.id,
          meta: { title: o.attributes.title ?? o.id },
          overwrite: true,
        })),
      });
    })();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const addr = server.address();
  assert.ok(addr && typeof addr === 'object');
  base = `http://127.0.0.1:${addr.port}`;
});

after(() => {
  server.close();
});

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((res) => {
    const p = spawn('sh', [join(ROOT, 'bin/regwatch'), ...args], {
      cwd: ROOT,
      env: { ...process.env, REGWATCH_KIBANA_URL: '' },
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('close', (code) => res({ code, stdout, stderr }));
  });
}

const files = readdirSync(DASH)
  .filter((f) => f.endsWith('.ndjson'))
  .sort();

describe('setup kibana (saved objects import API)', () => {
  test('imports every dashboards/*.ndjson with kbn-xsrf, overwrite=true and the space prefix', async () => {
    mode = 'ok';
    seen.length = 0;
    const r = await cli(['setup', 'kibana', '--url', base, '--space', 'security']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(seen.length, files.length);
    for (const [i, s] of seen.entries()) {
      assert.equal(s.path, '/s/security/api/saved_objects/_import');
      assert.equal(s.query.get('overwrite'), 'true');
      assert.equal(s.xsrf, 'true');
      assert.equal(s.fileName, files[i]);
      const expectedLines = readFileSync(join(DASH, files[i]!), 'utf8').split('\n').filter(Boolean).length;
      assert.equal(s.lines, expectedLines);
    }
    const out = JSON.parse(r.stdout) as { results: { success: boolean; successCount: number }[] };
    assert.equal(out.results.length, files.length);
    assert.ok(out.results.every((x) => x.success && x.successCount > 0));
  });

  test('default space has no /s/ prefix; basic auth is sent from the password file', async () => {
    mode = 'ok';
    seen.length = 0;
    const dir = mkdtempSync(join(tmpdir(), 'regwatch-kb-'));
    try {
      writeFileSync(join(dir, 'pw'), 's3cret\n');
      const r = await cli([
        'setup',
        'kibana',
        '--url',
        base,
        '--username',
        'elastic',
        '--password-file',
        join(dir, 'pw'),
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(seen[0]?.path, '/api/saved_objects/_import');
      assert.equal(seen[0]?.auth, `Basic ${Buffer.from('elastic:s3cret').toString('base64')}`);
      assert.ok(!r.stdout.includes('s3cret') && !r.stderr.includes('s3cret'), 'password must not be printed');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a 200 answer with success:false and per-object errors exits non-zero listing every error', async () => {
    mode = 'object-errors';
    seen.length = 0;
    const r = await cli(['setup', 'kibana', '--url', base]);
    assert.equal(r.code, 1);
    assert.equal(seen.length, files.length, 'every file is still attempted');
    assert.match(r.stderr, /KIBANA_IMPORT_FAILED/);
    assert.match(r.stderr, new RegExp(`Kibana reported ${files.length} error\\(s\\)`));
    for (const f of files)
      assert.match(
        r.stderr,
        new RegExp(
          `${f.replace('.', '\\.')}: dashboard/regwatch-[a-z-]+ "\\[regwatch\\][^"]+": missing_references: missing references: index-pattern/does-not-exist`,
        ),
      );
  });

  test('success:false without an errors list is still a failure', async () => {
    mode = 'success-false-no-errors';
    const r = await importNdjson('a.ndjson', '{"type":"tag","id":"x","attributes":{}}\n', { url: base });
    assert.equal(r.success, false);
    const c = await cli(['setup', 'kibana', '--url', base]);
    assert.equal(c.code, 1);
    assert.match(c.stderr, /success: false without listing errors/);
  });

  test('401 is a clear, non-retriable KIBANA_IMPORT_FAILED error', async () => {
    mode = 'unauthorized';
    await assert.rejects(
      importNdjson('a.ndjson', '{"type":"tag","id":"x","attributes":{}}\n', { url: base }),
      (e: unknown) =>
        e instanceof AppError &&
        e.code === 'KIBANA_IMPORT_FAILED' &&
        !e.retriable &&
        /401.*credentials/.test(e.message),
    );
  });

  test('an unreachable Kibana is a retriable error; --dry-run needs no Kibana', async () => {
    await assert.rejects(
      importNdjson('a.ndjson', '{}\n', { url: 'http://127.0.0.1:9', timeoutMs: 2000 }),
      (e: unknown) => e instanceof AppError && e.code === 'KIBANA_UNAVAILABLE' && e.retriable,
    );
    const r = await cli(['setup', 'kibana', '--dry-run', '--url', 'http://kibana.example:5601', '--space', 'ops']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { dryRun: boolean; target: string; files: unknown[] };
    assert.equal(out.target, 'http://kibana.example:5601/s/ops/api/saved_objects/_import?overwrite=true');
    assert.equal(out.files.length, files.length);
  });

  test('a bad space id is rejected before any request', async () => {
    const r = await cli(['setup', 'kibana', '--url', base, '--space', 'Bad Space']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /CONFIG_INVALID: invalid Kibana space id/);
  });
});
