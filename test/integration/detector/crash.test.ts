/**
 * The detector service's real entry point killed with SIGKILL between state checkpoints, on the
 * real broker: after the restart every event is counted exactly once (C24, C26). The state is a
 * checkpoint saved every DETECTOR_CHECKPOINT_INTERVAL_MS, the consumer group's offsets are
 * committed only after the checkpoint that covers them, so a crash re-reads what the last
 * checkpoint missed and the saved offsets skip what it already counted.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createKafkaBus } from '../../../shared/src/bus/kafka.ts';
import { silentLogger } from '../../../shared/src/logger.ts';
import { TOPICS } from '../../../shared/src/topics.ts';
import type { EngineSnapshot } from '../../../services/detector/src/engine.ts';
import { kafkaBrokers, uniqueName } from '../../helpers/infra.ts';
import { deleteEvent, spawnDetectorMain } from '../../helpers/detector-events.ts';

const children = new Set<ChildProcess>();
after(() => {
  for (const c of children) c.kill('SIGKILL');
});

/** The detector's saved snapshot in its SQLite state file, or undefined before the first save. */
function savedState(file: string): EngineSnapshot | undefined {
  let db: DatabaseSync | undefined;
  try {
    db = new DatabaseSync(file, { readOnly: true });
    const row = db.prepare('SELECT body FROM detector_state').get() as { body: string } | undefined;
    return row ? (JSON.parse(row.body) as EngineSnapshot) : undefined;
  } catch {
    return undefined; // not created yet
  } finally {
    db?.close();
  }
}

/** Sum over partitions of (saved offset + 1): how many messages the saved state covers. */
function covered(snap: EngineSnapshot | undefined): number {
  const offsets = (snap?.meta.offsets ?? {}) as Record<string, string>;
  return Object.values(offsets).reduce((n, o) => n + Number(o) + 1, 0);
}

async function until(cond: () => boolean, what: string, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe('detector crash between checkpoints (real broker, real entry point)', { timeout: 180_000 }, () => {
  test('SIGKILL mid-stream, restart: every event counted exactly once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'regwatch-det-crash-'));
    const prefix = `${uniqueName('crash')}.`;
    const events = `${prefix}${TOPICS.events}`;
    const stateFile = join(dir, 'state.db');
    const env = {
      DETECTOR_GROUP_ID: uniqueName('detector'),
      DETECTOR_CHECKPOINT_INTERVAL_MS: '300',
      KAFKA_TOPIC_PARTITIONS: '2',
    };
    const bus = createKafkaBus({ brokers: kafkaBrokers(), clientId: 'regwatch-crash-test', logger: silentLogger() });
    const pub = bus.publisher();
    const t0 = Date.parse('2026-03-10T17:00:00Z');
    let next = 0;
    const publish = async (n: number): Promise<void> => {
      const msgs = Array.from({ length: n }, (_, k) => {
        const i = next + k;
        return { key: `k${i % 5}`, value: JSON.stringify(deleteEvent(i, t0 + i * 1000, 'crash-')) };
      });
      next += n;
      for (let k = 0; k < msgs.length; k += 500) await pub.publish(events, msgs.slice(k, k + 500));
    };
    const start = (): { child: ChildProcess; exited: Promise<number | null> } => {
      const child = spawnDetectorMain(prefix, dir, 'warn', env);
      children.add(child);
      child.stdout!.resume();
      child.stderr!.resume();
      return { child, exited: new Promise((r) => child.once('exit', (code) => r(code))) };
    };
    try {
      await bus.ensureTopics([events, `${prefix}${TOPICS.findings}`], 2);
      await publish(3000);
      let run = start();
      // Kill it once a checkpoint covers part of the stream, with the rest still being processed.
      await until(() => covered(savedState(stateFile)) > 0, 'a first checkpoint');
      await publish(2000);
      run.child.kill('SIGKILL');
      await run.exited;
      const atCrash = covered(savedState(stateFile));
      assert.ok(atCrash < 5000, `killed before the last checkpoint (covered ${atCrash} of 5000)`);

      run = start();
      await publish(1000);
      await until(() => covered(savedState(stateFile)) === 6000, 'a checkpoint of all 6000 messages');
      run.child.kill('SIGTERM');
      assert.equal(await run.exited, 0);
      const snap = savedState(stateFile)!;
      const held = ((snap.meta.heldEvents ?? []) as unknown[]).length;
      assert.equal(snap.stats.events + held, 6000, 'every event counted once (or still held for its partner)');
      assert.equal(snap.stats.duplicates, 0, 'nothing counted twice');
    } finally {
      await pub.close();
      await bus.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
