import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createMemoryBus } from '../../../shared/src/bus/memory.ts';
import type { BusMessage } from '../../../shared/src/bus/types.ts';
import { AppError } from '../../../shared/src/errors.ts';
import { TOPICS } from '../../../shared/src/topics.ts';
import { classifyRaw, readInputFile, recordedMessages, resumePosition } from '../../../services/embedded/src/inputs.ts';

const SAMPLES = join(import.meta.dirname, '..', '..', 'fixtures', 'registry-samples');
const sample = (f: string): string => readFileSync(join(SAMPLES, f), 'utf8');

describe('embedded inputs: which raw topic a recorded input goes to', () => {
  test('notification envelopes, Harbor webhooks (default and CloudEvents) and log lines', () => {
    assert.equal(
      classifyRaw(JSON.stringify(JSON.parse(sample('01-dist-notif-v2x-pull-manifest-by-tag.json')))),
      'notifications',
    );
    assert.equal(
      classifyRaw(JSON.stringify(JSON.parse(sample('26-harbor-webhook-push-artifact-user.json')))),
      'harborWebhooks',
    );
    assert.equal(
      classifyRaw(JSON.stringify(JSON.parse(sample('29-harbor-webhook-pull-artifact-cloudevents.json')))),
      'harborWebhooks',
    );
    const jsonLog = sample('16-dist-applog-v3-json-pull-and-push.ndjson').split('\n')[0]!;
    assert.equal(classifyRaw(jsonLog), 'logs');
    assert.equal(classifyRaw(sample('13-dist-applog-v2x-text-401-then-200.log').split('\n')[0]!), 'logs');
    assert.equal(classifyRaw('{not json'), 'logs');
    assert.equal(classifyRaw('[1,2]'), 'logs');
  });

  test('a pretty-printed document is one message; a line file is one message per non-blank line, keyed by its stream', () => {
    const at = new Date('2026-01-01T00:00:00Z');
    const doc = recordedMessages(sample('01-dist-notif-v2x-pull-manifest-by-tag.json'), 'input', at, 'file:01');
    assert.equal(doc.length, 1);
    assert.equal(doc[0]!.kind, 'notifications');
    assert.equal(doc[0]!.message.key, 'file:01');
    assert.equal(doc[0]!.message.headers?.['content-type'], 'application/vnd.docker.distribution.events.v1+json');
    assert.equal(doc[0]!.message.headers?.['regwatch.received_at'], at.toISOString());
    const lines = recordedMessages('a line\r\n\n  \nsecond line\n', 'follow', at);
    assert.deepEqual(
      lines.map((l) => [l.kind, String(l.message.value), l.message.key]),
      [
        ['logs', 'a line', null],
        ['logs', 'second line', null],
      ],
    );
  });

  test('readInputFile sends every line to its topic in order; a missing file is INPUT_UNREADABLE', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rw-inputs-'));
    try {
      const file = join(dir, 'mixed.log');
      const env = JSON.stringify(JSON.parse(sample('01-dist-notif-v2x-pull-manifest-by-tag.json')));
      const logLines = sample('16-dist-applog-v3-json-pull-and-push.ndjson').split('\n').filter(Boolean);
      writeFileSync(file, [logLines[0], env, ...logLines.slice(1)].join('\n') + '\n');
      const bus = createMemoryBus();
      await bus.ensureTopics(Object.values(TOPICS), 2);
      const counts = (await readInputFile(file, bus.publisher(), TOPICS, { batchSize: 2 })).counts;
      assert.deepEqual(counts, { notifications: 1, logs: logLines.length, harborWebhooks: 0 });
      const got: BusMessage[] = [];
      const sub = await bus.subscribe({ groupId: 't', topics: [TOPICS.logs, TOPICS.notifications] }, async (b) => {
        got.push(...b);
      });
      while (got.length < logLines.length + 1) await new Promise((r) => setTimeout(r, 10));
      await sub.close();
      await bus.close();
      const logs = got.filter((m) => m.topic === TOPICS.logs);
      // One key for the whole file: one partition, file order kept.
      assert.equal(new Set(logs.map((m) => m.partition)).size, 1);
      assert.deepEqual(
        logs.map((m) => m.value.toString()),
        logLines,
      );
      await assert.rejects(
        readInputFile(join(dir, 'missing.log'), bus.publisher(), TOPICS),
        (e: unknown) => e instanceof AppError && e.code === 'INPUT_UNREADABLE',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('resumePosition: same inode and long enough → saved position; rotated or truncated → 0', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rw-resume-'));
    try {
      const f = join(dir, 'r.log');
      writeFileSync(f, 'line one\nline two\n');
      const ino = statSync(f).ino;
      assert.equal(resumePosition(f, null), 0);
      assert.equal(resumePosition(f, { ino, pos: 9 }), 9);
      assert.equal(resumePosition(f, { ino: ino + 1, pos: 9 }), 0);
      assert.equal(resumePosition(f, { ino, pos: 1000 }), 0);
      assert.equal(resumePosition(join(dir, 'gone.log'), { ino, pos: 9 }), 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
