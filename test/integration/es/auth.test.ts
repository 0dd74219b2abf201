/**
 * Credentials against the real security-enabled Elasticsearch (`bash infra/up.sh es-secure`,
 * basic auth as `elastic`; port REGWATCH_ES_SECURE_PORT, default 9201; started here when not
 * running): wrong password → ES_AUTH_FAILED (not retriable) at once, right password → ready
 * and setup works; nothing prints the password. Connection refused → ES_UNAVAILABLE (retriable).
 */
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createEsClient, esConfigSchema, waitForElasticsearch } from '../../../shared/src/es/client.ts';
import { AppError } from '../../../shared/src/errors.ts';

const ROOT = resolve(import.meta.dirname, '../../..');
const PORT = process.env.REGWATCH_ES_SECURE_PORT ?? '9201';
const URL_ = `http://127.0.0.1:${PORT}`;
const PASSWORD = process.env.REGWATCH_ES_SECURE_PASSWORD ?? 'changeme-regwatch';

before(() => {
  // Idempotent: reuses a running instance, otherwise starts it and waits for cluster health.
  execFileSync('bash', [join(ROOT, 'infra/up.sh'), 'es-secure'], {
    stdio: ['ignore', 'ignore', 'inherit'],
    timeout: 600_000,
  });
});

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((res) => {
    const p = spawn('sh', [join(ROOT, 'bin/regwatch'), ...args], { cwd: ROOT });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('close', (code) => res({ code, stdout, stderr }));
  });
}

describe('Elasticsearch credentials', () => {
  test('a wrong password fails fast with ES_AUTH_FAILED, not retriable', async () => {
    const client = createEsClient(
      esConfigSchema.parse({ nodes: [URL_], username: 'elastic', password: 'wrong-password' }),
    );
    const t0 = Date.now();
    await assert.rejects(
      waitForElasticsearch(client, { timeoutMs: 30_000 }),
      (e: unknown) =>
        e instanceof AppError &&
        e.code === 'ES_AUTH_FAILED' &&
        !e.retriable &&
        /401/.test(e.message) &&
        !e.message.includes('wrong-password'),
    );
    assert.ok(Date.now() - t0 < 10_000, 'auth failures must not be retried until the timeout');
    await client.close();
  });

  test('no credentials on a secured cluster is ES_AUTH_FAILED too', async () => {
    const client = createEsClient(esConfigSchema.parse({ nodes: [URL_] }));
    await assert.rejects(
      waitForElasticsearch(client, { timeoutMs: 10_000 }),
      (e: unknown) => e instanceof AppError && e.code === 'ES_AUTH_FAILED',
    );
    await client.close();
  });

  test('the right password works, and setup elasticsearch succeeds without printing it', async () => {
    const client = createEsClient(esConfigSchema.parse({ nodes: [URL_], username: 'elastic', password: PASSWORD }));
    assert.match(await waitForElasticsearch(client, { timeoutMs: 60_000 }), /green|yellow/);
    await client.close();
    const dir = mkdtempSync(join(tmpdir(), 'regwatch-es-'));
    try {
      writeFileSync(join(dir, 'pw'), `${PASSWORD}\n`);
      const ok = await cli([
        'setup',
        'elasticsearch',
        '--url',
        URL_,
        '--username',
        'elastic',
        '--password-file',
        join(dir, 'pw'),
      ]);
      assert.equal(ok.code, 0, ok.stderr);
      const report = JSON.parse(ok.stdout) as { changes: unknown[] };
      assert.ok(report.changes.length > 10);
      assert.ok(!ok.stdout.includes(PASSWORD) && !ok.stderr.includes(PASSWORD));
      writeFileSync(join(dir, 'bad'), 'nope\n');
      const bad = await cli([
        'setup',
        'elasticsearch',
        '--url',
        URL_,
        '--username',
        'elastic',
        '--password-file',
        join(dir, 'bad'),
      ]);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /ES_AUTH_FAILED: .*401/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('connection refused is ES_UNAVAILABLE and retriable', async () => {
    const client = createEsClient(esConfigSchema.parse({ nodes: ['http://127.0.0.1:9'], maxRetries: 0 }));
    await assert.rejects(
      waitForElasticsearch(client, { timeoutMs: 1500, intervalMs: 200 }),
      (e: unknown) => e instanceof AppError && e.code === 'ES_UNAVAILABLE' && e.retriable,
    );
    await client.close();
  });
});
