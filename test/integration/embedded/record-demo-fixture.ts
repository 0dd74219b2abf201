/**
 * Records a real registry session for the parity test (run by hand; the output is committed):
 *   sh scripts/node.sh test/integration/embedded/record-demo-fixture.ts [out-dir]
 * Starts the Debian docker-registry with htpasswd users, points its notifications at a local HTTP
 * server that stores every envelope (one JSON document per line, bytes as received), drives the
 * demo scenario with skopeo (pushes, normal pulls, a crawl, a brute force) and copies the
 * registry's JSON log. Output: `<out-dir>/registry-stdout.ndjson` and `<out-dir>/notifications.ndjson`
 * (default out-dir test/integration/embedded/fixtures/recorded-demo).
 */
import { appendFileSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startLocalRegistry } from '../../../shared/src/demo/registry.ts';
import { generateDemoUsers, runDemoScenario } from '../../../shared/src/demo/scenario.ts';
import { silentLogger } from '../../../shared/src/logger.ts';

const out = process.argv[2] ?? join(import.meta.dirname, 'fixtures', 'recorded-demo');
mkdirSync(out, { recursive: true });
const envelopes = join(out, 'notifications.ndjson');
writeFileSync(envelopes, '');
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    // One envelope per line: the registry sends compact JSON; newlines inside would be a bug.
    appendFileSync(envelopes, `${Buffer.concat(chunks).toString('utf8').replace(/\n/g, ' ')}\n`);
    res.writeHead(202).end();
  });
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const addr = server.address();
const port = typeof addr === 'object' && addr ? addr.port : 0;
const work = mkdtempSync(join(tmpdir(), 'regwatch-record-'));
const users = generateDemoUsers();
const registry = await startLocalRegistry({
  workDir: join(work, 'registry'),
  users: Object.values(users),
  notifications: { url: `http://127.0.0.1:${port}/v1/notifications` },
  logger: silentLogger(),
});
const summary = await runDemoScenario({
  host: registry.host,
  users,
  workDir: join(work, 'scenario'),
  durationMs: 30_000,
  onProgress: (p) => process.stderr.write(`${p.message}\n`),
});
await sleep(3000); // let the last notifications arrive
await registry.stop();
server.close();
copyFileSync(registry.logFile, join(out, 'registry-stdout.ndjson'));
rmSync(work, { recursive: true, force: true });
process.stderr.write(
  `recorded to ${out}: ${JSON.stringify({ ...summary, repositories: summary.repositories.length })}\n`,
);
