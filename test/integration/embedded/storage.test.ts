/**
 * Storage samples in the embedded mode (real receiver over HTTP, real data directory): samples
 * posted to `POST /v1/storage` land in the local store the collector writes
 * (`<data-dir>/storage/samples.ndjson`, read back with readLocalSamples), `regwatch report
 * capacity --data-dir` (as a child process) forecasts them, and the embedded storage forecast job
 * turns them into a `storage.exhaustion` finding on the findings output. Invalid samples get 400
 * and are not stored; an invalid message on the bus goes to the DLQ.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../../shared/src/logger.ts';
import type { Finding } from '../../../shared/src/model/finding.ts';
import { TOPICS } from '../../../shared/src/topics.ts';
import { loadEmbeddedConfig } from '../../../services/embedded/src/config.ts';
import { startEmbedded } from '../../../services/embedded/src/pipeline.ts';
import { readLocalSamples } from '../../../services/detector/src/storage/sink.ts';
import { regwatch } from './child.ts';

const GB = 1_000_000_000;
const SCOPE = 's3:registry-bucket';

describe('embedded storage samples', () => {
  test(
    'posted samples reach the local store, the capacity report and the forecast job; a restart keeps the finding statuses',
    { timeout: 120_000 },
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'rw-embedded-storage-'));
      const dataDir = join(dir, 'data');
      const findings: Finding[] = [];
      const start_ = () =>
        startEmbedded(
          loadEmbeddedConfig({ port: 0, alertsPort: 0, dataDir, findings: join(dir, 'findings.ndjson') }, {}),
          { logger: silentLogger(), onFinding: (f) => findings.push(f) },
        );
      let e = await start_();
      let running = true;
      try {
        const post = (body: unknown): Promise<Response> =>
          fetch(`${e.url}/v1/storage`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(body),
          });
        // 4 days of hourly samples, 60 GB growing 0.4 GB/h towards 100 GB: full in about 4 days.
        const start = Date.parse('2026-03-01T00:00:00Z');
        const samples = Array.from({ length: 96 }, (_, i) => ({
          timestamp: new Date(start + i * 3_600_000).toISOString(),
          used_bytes: Math.round(60 * GB + i * 0.4 * GB + ((i * 7919) % 13) * 1_000_000),
          capacity_bytes: 100 * GB,
          scope: SCOPE,
          source: 'api',
        }));
        const bad = await post({ ...samples[0], used_bytes: -1 });
        assert.equal(bad.status, 400);
        assert.equal((await post(samples.slice(0, 50))).status, 202);
        // One more as epoch ms: stored with an ISO timestamp.
        for (const s of samples.slice(50)) {
          const res = await post({ ...s, timestamp: Date.parse(s.timestamp) });
          assert.equal(res.status, 202);
        }
        let stored = 0;
        const end = Date.now() + 20_000;
        while (Date.now() < end && stored < 96) {
          stored = (await readLocalSamples(dataDir)).byScope.get(SCOPE)?.length ?? 0;
          if (stored < 96) await sleep(100);
        }
        const { byScope, skipped } = await readLocalSamples(dataDir);
        assert.equal(skipped, 0);
        assert.equal(byScope.get(SCOPE)?.length, 96, 'every valid sample stored, the invalid one not');
        assert.equal(byScope.get(SCOPE)?.at(-1)?.timestamp, samples.at(-1)?.timestamp);
        assert.equal(e.layout.storage, join(dataDir, 'storage', 'samples.ndjson'));

        // An invalid message on the bus itself (not via the receiver) is dead-lettered, not lost.
        await e.publisher.publish(TOPICS.storage, [{ key: 'x', value: '{"used_bytes":"lots"}' }]);
        const dlqEnd = Date.now() + 10_000;
        while (Date.now() < dlqEnd && e.storage.totals.dlq < 1) await sleep(50);
        assert.equal(e.storage.totals.dlq, 1);

        // `regwatch report capacity --data-dir` reads the samples the pipeline stored.
        const rep = regwatch(['report', 'capacity', '--data-dir', dataDir, '--out', join(dir, 'report')]);
        assert.equal(await rep.exited, 0, rep.stderr);
        assert.match(readFileSync(join(dir, 'report', 'capacity.md'), 'utf8'), /s3:registry-bucket/);

        // The storage forecast job (scheduled on storageCron) over the same store.
        const now = start + 96 * 3_600_000;
        const fs = await e.runStorageForecast(now);
        const f = fs.find((x) => x.rule === 'storage.exhaustion' && x.entity.id === SCOPE);
        assert.ok(f, JSON.stringify(fs));
        assert.equal(f.status, 'firing');
        assert.ok(f.severity === 'critical' || f.severity === 'high', f.severity);
        const outEnd = Date.now() + 10_000;
        while (Date.now() < outEnd && !findings.some((x) => x.id === f.id)) await sleep(50);
        assert.ok(
          findings.some((x) => x.id === f.id),
          'the forecast finding went through regwatch.findings to the output',
        );

        // Restart: the disk was grown to 10 TB while regwatch was stopped. The restarted pipeline
        // still knows the finding is firing (data dir), so the next run sends its resolved notice.
        await e.stop();
        running = false;
        const statuses = JSON.parse(readFileSync(join(dataDir, 'storage', 'finding-statuses.json'), 'utf8'));
        assert.deepEqual(statuses, { version: 1, statuses: { [SCOPE]: 'firing' } });
        e = await start_();
        running = true;
        const grown = Array.from({ length: 24 }, (_, i) => ({
          timestamp: new Date(start + (96 + i) * 3_600_000).toISOString(),
          used_bytes: Math.round(60 * GB + (96 + i) * 0.4 * GB),
          capacity_bytes: 10_000 * GB,
          scope: SCOPE,
          source: 'api',
        }));
        assert.equal((await post(grown)).status, 202);
        const grownEnd = Date.now() + 20_000;
        while (Date.now() < grownEnd && ((await readLocalSamples(dataDir)).byScope.get(SCOPE)?.length ?? 0) < 120)
          await sleep(100);
        const fs2 = await e.runStorageForecast(start + 120 * 3_600_000);
        assert.deepEqual(
          fs2.filter((x) => x.entity.id === SCOPE).map((x) => `${x.rule}:${x.status}:${x.id === f.id}`),
          ['storage.exhaustion:resolved:true'],
          JSON.stringify(fs2),
        );
      } finally {
        if (running) await e.stop();
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
