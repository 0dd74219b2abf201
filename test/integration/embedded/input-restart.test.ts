/**
 * `regwatch run` (startEmbedded) restarted on the same data directory with the same `--input`:
 * the persisted bus (`<dataDir>/bus`) shows every line of the file published once, however often
 * the pipeline starts, until the file gets new content. Also the embedded receiver over real HTTP:
 * its 413 names the embedded mode's own setting, and `/metrics` leaves out the Elasticsearch
 * indexer's metrics.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createMemoryBus } from '../../../shared/src/bus/memory.ts';
import { silentLogger } from '../../../shared/src/logger.ts';
import { TOPICS } from '../../../shared/src/topics.ts';
import { loadEmbeddedConfig } from '../../../services/embedded/src/config.ts';
import { startEmbedded } from '../../../services/embedded/src/pipeline.ts';

/** Distribution text log lines (logrus text formatter), each with its own request id. */
function logLines(n: number, tag: string): string {
  return Array.from(
    { length: n },
    (_, i) =>
      `time="2026-05-04T09:${String(Math.floor(i / 600) % 60).padStart(2, '0')}:00Z" level=info msg="response completed" http.request.id=${tag}-${i} http.request.method=GET http.request.uri="/v2/" http.response.status=200`,
  ).join('\n');
}

/** Every value on `registry.logs` in the persisted bus under `busDir` (read with a fresh group). */
async function publishedLogLines(busDir: string, expected: number): Promise<string[]> {
  const bus = createMemoryBus({ dataDir: busDir });
  const got: string[] = [];
  const sub = await bus.subscribe(
    { groupId: `count-${Date.now()}-${Math.random()}`, topics: [TOPICS.logs] },
    async (batch) => {
      for (const m of batch) got.push(m.value.toString());
    },
  );
  const end = Date.now() + 20_000;
  while (got.length < expected && Date.now() < end) await sleep(50);
  await sleep(300); // anything beyond the expected count would show up now
  await sub.close();
  await bus.close();
  return got;
}

describe('regwatch run --input across restarts (same data dir)', () => {
  test(
    'a 12 500-line file is published once over three starts; new content at the same path is read again',
    { timeout: 120_000 },
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'rw-input-restart-'));
      try {
        const input = join(dir, 'registry.log');
        writeFileSync(input, `${logLines(12_500, 'a')}\n`);
        const config = loadEmbeddedConfig(
          { receiver: 'off', alertsApi: 'off', input: [input], dataDir: join(dir, 'data'), findings: join(dir, 'f') },
          {},
        );
        for (let run = 0; run < 3; run++) {
          const e = await startEmbedded(config, { logger: silentLogger() });
          await e.stop();
        }
        const busDir = join(dir, 'data', 'bus');
        const once = await publishedLogLines(busDir, 12_500);
        assert.equal(once.length, 12_500, 'every line published exactly once');
        assert.equal(new Set(once).size, 12_500);

        writeFileSync(input, `${logLines(100, 'b')}\n`);
        const e = await startEmbedded(config, { logger: silentLogger() });
        await e.stop();
        const after = await publishedLogLines(busDir, 12_600);
        assert.equal(after.length, 12_600, 'the new content was read from the start, once');
        assert.equal(after.filter((l) => l.includes('http.request.id=b-')).length, 100);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});

describe('embedded receiver over HTTP', () => {
  /** Runs `fn` against a started embedded pipeline (receiver on a free port, 2 KiB body limit). */
  async function withReceiver(fn: (url: string) => Promise<void>): Promise<void> {
    const dir = mkdtempSync(join(tmpdir(), 'rw-embedded-receiver-'));
    try {
      const config = loadEmbeddedConfig(
        { port: 0, alertsApi: 'off', bodyLimitBytes: 2048, dataDir: join(dir, 'data'), findings: join(dir, 'f') },
        {},
      );
      const e = await startEmbedded(config, { logger: silentLogger() });
      try {
        assert.ok(e.url);
        await fn(e.url);
      } finally {
        await e.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  test('413 names the embedded setting: REGWATCH_BODY_LIMIT_BYTES / --body-limit-bytes', async () => {
    await withReceiver(async (url) => {
      const big = await fetch(`${url}/v1/logs`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: 'x'.repeat(4096),
      });
      assert.equal(big.status, 413);
      const body = (await big.json()) as { error: string; message: string; limit_bytes: number };
      assert.equal(body.error, 'BODY_TOO_LARGE');
      assert.equal(body.limit_bytes, 2048);
      assert.match(body.message, /limit of 2048 bytes/);
      assert.match(body.message, /REGWATCH_BODY_LIMIT_BYTES/);
      assert.match(body.message, /--body-limit-bytes/);
      assert.doesNotMatch(body.message, /RECEIVER_BODY_LIMIT_BYTES/);
    });
  });

  test('/metrics leaves out the Elasticsearch indexer and engine metrics', async () => {
    await withReceiver(async (url) => {
      const ok = await fetch(`${url}/v1/logs`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: 'time="2026-05-04T09:00:00Z" level=info msg="hello"\n',
      });
      assert.equal(ok.status, 202);
      const metrics = await (await fetch(`${url}/metrics`)).text();
      assert.match(metrics, /^regwatch_receiver_requests_total\{[^}]*status_code="202"[^}]*\} 1$/m);
      assert.match(metrics, /^regwatch_ingest_ignored_total /m);
      for (const name of [
        'regwatch_ingest_bulk_duration_seconds',
        'regwatch_ingest_indexed_total',
        'regwatch_indexing_duplicates_total',
        'regwatch_indexing_errors_total',
        'regwatch_ingest_item_retries_total',
        'regwatch_ingest_elasticsearch_up',
        'regwatch_ingest_kafka_up',
        'regwatch_ingest_consumer_lag',
      ])
        assert.doesNotMatch(metrics, new RegExp(name), `${name} is not exported in embedded mode`);
    });
  });
});
