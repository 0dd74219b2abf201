/**
 * The detector service's entry point (services/detector/src/main.ts, as deployed) honours
 * REGWATCH_TOPIC_PREFIX like ingest and alerts: it consumes `<prefix>regwatch.events` and
 * publishes to `<prefix>regwatch.findings` on the real broker. Before, it always used the
 * unprefixed topics: in a prefixed deployment it read another tenant's events and its findings
 * never reached the alerts service.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createKafkaBus } from '../../../shared/src/bus/kafka.ts';
import type { BusMessage } from '../../../shared/src/bus/types.ts';
import { silentLogger } from '../../../shared/src/logger.ts';
import { findingSchema } from '../../../shared/src/model/finding.ts';
import { TOPICS } from '../../../shared/src/topics.ts';
import { kafkaBrokers, uniqueName } from '../../helpers/infra.ts';
import { deleteEvent, spawnDetectorMain } from '../../helpers/detector-events.ts';

const children = new Set<ChildProcess>();
after(() => {
  for (const c of children) c.kill('SIGKILL');
});

describe('detector service entry point', { timeout: 120_000 }, () => {
  test('REGWATCH_TOPIC_PREFIX: events from <prefix>regwatch.events, findings to <prefix>regwatch.findings', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'regwatch-det-main-'));
    const prefix = `${uniqueName('tenant')}.`;
    const events = `${prefix}${TOPICS.events}`;
    const findings = `${prefix}${TOPICS.findings}`;
    const bus = createKafkaBus({ brokers: kafkaBrokers(), clientId: 'regwatch-detector-test', logger: silentLogger() });
    try {
      await bus.ensureTopics([events, findings], 1);
      const t0 = Date.parse('2026-03-10T17:00:00Z');
      const pub = bus.publisher();
      // 25 deletions in 250 s: above delete.burst's default 20 in 10 minutes.
      await pub.publish(
        events,
        Array.from({ length: 25 }, (_, i) => ({
          key: 'mallory',
          value: JSON.stringify(deleteEvent(i, t0 + i * 10_000, 'prefix-')),
        })),
      );
      await pub.close();

      const child = spawnDetectorMain(prefix, dir, 'warn');
      children.add(child);
      let output = '';
      child.stdout!.on('data', (b: Buffer) => (output += b.toString()));
      child.stderr!.on('data', (b: Buffer) => (output += b.toString()));
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));

      const got: BusMessage[] = [];
      const sub = await bus.subscribe(
        { groupId: uniqueName('reader'), topics: [findings], fromBeginning: true },
        async (batch) => {
          got.push(...batch);
        },
      );
      const end = Date.now() + 60_000;
      while (got.length === 0 && Date.now() < end && child.exitCode === null) await sleep(200);
      await sub.close();
      assert.ok(got.length > 0, `no finding on ${findings}; detector output:\n${output.slice(-3000)}`);
      const f = findingSchema.parse(JSON.parse(got[0]!.value!.toString('utf8')));
      assert.equal(f.rule, 'delete.burst');
      assert.deepEqual(f.entity, { type: 'user', id: 'mallory' });

      child.kill('SIGTERM');
      assert.equal(await exited, 0, output.slice(-3000));
    } finally {
      await bus.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
