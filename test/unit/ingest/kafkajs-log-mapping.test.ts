/**
 * kafkajs log entries in pino (shared/src/bus/kafka.ts `pinoLogCreator`): the FindCoordinator
 * answer "The group coordinator is not available" that kafkajs logs at error level and retries on
 * every start against a fresh broker is debug; other errors stay errors.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import kafkajs from 'kafkajs';
import { pinoLogCreator } from '../../../shared/src/bus/kafka.ts';
import { createLogger } from '../../../shared/src/logger.ts';

const { logLevel } = kafkajs;

function capture(): {
  lines: Record<string, unknown>[];
  log: (level: number, namespace: string, entry: object) => void;
} {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger('test', {
    level: 'trace',
    destination: new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        cb();
      },
    }) as never,
  });
  const toPino = pinoLogCreator(logger)!(logLevel.WARN);
  return {
    lines,
    log: (level, namespace, entry) =>
      toPino({
        namespace,
        level,
        label: 'ERROR',
        log: { timestamp: new Date().toISOString(), logger: 'kafkajs', message: '', ...entry } as never,
      }),
  };
}

describe('kafkajs → pino log mapping', () => {
  test('a retried "group coordinator is not available" response is debug (pino 20), not error', async () => {
    const c = capture();
    c.log(logLevel.ERROR, 'Connection', {
      message: 'Response GroupCoordinator(key: 10, version: 2)',
      broker: '127.0.0.1:9092',
      clientId: 'regwatch-ingest',
      error: 'The group coordinator is not available',
      correlationId: 3,
      size: 55,
    });
    c.log(logLevel.ERROR, 'Connection', {
      message: 'Response GroupCoordinator(key: 10, version: 2)',
      error: "The coordinator is loading and hence can't process requests for this group",
    });
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(
      c.lines.map((l) => l['level']),
      [20, 20],
    );
    assert.equal(c.lines[0]?.['msg'], 'Response GroupCoordinator(key: 10, version: 2)');
    assert.deepEqual((c.lines[0]?.['kafka'] as { error: string }).error, 'The group coordinator is not available');
  });

  test('other errors, a consumer crash and warnings keep their level', async () => {
    const c = capture();
    c.log(logLevel.ERROR, 'Connection', {
      message: 'Response Produce(key: 0, version: 7)',
      error: 'Broker not available',
    });
    c.log(logLevel.ERROR, 'Consumer', {
      message: 'Crash: KafkaJSNumberOfRetriesExceeded: The group coordinator is not available',
      error: 'The group coordinator is not available',
    });
    c.log(logLevel.WARN, 'Connection', { message: 'something to look at' });
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(
      c.lines.map((l) => l['level']),
      [50, 50, 40],
    );
  });
});
