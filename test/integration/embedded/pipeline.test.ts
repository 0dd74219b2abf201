/**
 * The embedded composition (`startEmbedded`) with real components and a real data directory:
 * recorded input in, findings NDJSON and alert delivery records out, a restart on the same data
 * directory that does not read the input again, and one that replays it (read positions lost:
 * at-least-once) without repeating a finding or an alert. Also: a second process on the same data directory is refused.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '../../../shared/src/errors.ts';
import { silentLogger } from '../../../shared/src/logger.ts';
import { findingSchema } from '../../../shared/src/model/finding.ts';
import { loadEmbeddedConfig } from '../../../services/embedded/src/config.ts';
import { startEmbedded } from '../../../services/embedded/src/pipeline.ts';

/** htpasswd failures as Distribution 2.8 logs them (JSON formatter), one source address. */
function failedLogins(n: number, start: number): string {
  return Array.from({ length: n }, (_, i) =>
    JSON.stringify({
      'http.request.id': `req-${i}`,
      'http.request.method': 'GET',
      'http.request.remoteaddr': '198.51.100.9:40000',
      'http.request.uri': '/v2/team/app/manifests/latest',
      'http.request.useragent': 'skopeo/1.9.3',
      level: 'error',
      msg: `error authenticating user "root": authentication failure`,
      time: new Date(start + i * 2000).toISOString(),
      'vars.name': 'team/app',
      'vars.reference': 'latest',
    }),
  ).join('\n');
}

const lines = (f: string): string[] => (existsSync(f) ? readFileSync(f, 'utf8').split('\n').filter(Boolean) : []);

describe('embedded pipeline (startEmbedded)', () => {
  test(
    'input → finding + delivered alert; a restart replaying the input repeats neither',
    { timeout: 120_000 },
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'rw-embedded-'));
      try {
        const input = join(dir, 'registry.log');
        writeFileSync(input, `${failedLogins(30, Date.parse('2026-05-04T09:00:00Z'))}\n`);
        const alerts = join(dir, 'alerts.yml');
        writeFileSync(
          alerts,
          'route:\n  receiver: console\n  group_by: [rule, entity]\n  group_wait: 0s\nreceivers:\n  - name: console\n    channels:\n      - type: console\n        stream: stderr\n',
        );
        const findingsFile = join(dir, 'findings.ndjson');
        const config = loadEmbeddedConfig(
          {
            receiver: 'off',
            alertsPort: 0,
            input: [input],
            dataDir: join(dir, 'data'),
            findings: findingsFile,
            alertsConfig: alerts,
            kibanaUrl: 'http://kibana.example.test:5601',
          },
          {},
        );
        let e = await startEmbedded(config, { logger: silentLogger() });
        await assert.rejects(
          startEmbedded(config, { logger: silentLogger() }),
          (err: unknown) => err instanceof AppError && err.code === 'EMBEDDED_START_FAILED',
        );
        const end = Date.now() + 30_000;
        while (Date.now() < end && !lines(e.layout.deliveries).some((l) => l.includes('"final":true')))
          await sleep(100);
        const first = lines(findingsFile).map((l) => findingSchema.parse(JSON.parse(l)));
        assert.ok(
          first.some((f) => f.rule === 'auth.bruteforce_ip' && f.entity.id === '198.51.100.9'),
          JSON.stringify(first.map((f) => f.rule)),
        );
        // --kibana-url: every finding links to Kibana Discover.
        assert.ok(
          first.every((f) => f.links.discover?.startsWith('http://kibana.example.test:5601/')),
          JSON.stringify(first.map((f) => f.links)),
        );
        const deliveries = lines(e.layout.deliveries).map(
          (l) => JSON.parse(l) as { oci_registry: { alert: { result: string; final: boolean; channel: string } } },
        );
        assert.ok(
          deliveries.some(
            (d) =>
              d.oci_registry.alert.final &&
              d.oci_registry.alert.result === 'ok' &&
              d.oci_registry.alert.channel === 'console',
          ),
        );
        await e.stop();
        const findingsBefore = lines(findingsFile).length;
        const deliveriesBefore = lines(e.layout.deliveries).length;

        // Restart: the data dir remembers the input was read completely, so nothing is published.
        e = await startEmbedded(config, { logger: silentLogger() });
        await sleep(1000);
        assert.equal(e.normalize.totals.consumed, 0, 'the input was not read again');
        await e.stop();

        // Restart after a crash that lost the saved read positions: `--input` is read again
        // (at-least-once); the detector and alert state make the replay harmless.
        for (const f of readdirSync(e.layout.inputs)) rmSync(join(e.layout.inputs, f));
        e = await startEmbedded(config, { logger: silentLogger() });
        await sleep(4000);
        assert.ok(e.normalize.totals.consumed >= 30, 'the input was replayed');
        await e.stop();
        assert.equal(lines(findingsFile).length, findingsBefore, 'no finding written again');
        assert.equal(lines(e.layout.deliveries).length, deliveriesBefore, 'no alert sent again');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
