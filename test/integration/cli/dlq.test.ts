/**
 * `regwatch dlq` against the real Kafka broker (KAFKA_BROKERS, default 127.0.0.1:9092): DLQ
 * messages are published the way the ingest service does (services/ingest/src/dlq.ts toDlqMessage
 * on the project's Kafka publisher) to a uniquely prefixed topic, then read back by the CLI.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { createKafkaBus } from '../../../shared/src/bus/kafka.ts';
import type { MessageBus, Publisher } from '../../../shared/src/bus/types.ts';
import { silentLogger } from '../../../shared/src/logger.ts';
import { TOPICS } from '../../../shared/src/topics.ts';
import { toDlqMessage } from '../../../services/ingest/src/dlq.ts';
import type { DlqRecord } from '../../../cli/commands/dlq.ts';
import { kafkaBrokers, uniqueName } from '../../helpers/infra.ts';
import { ROOT, regwatch } from '../../unit/cli/cli-run.ts';

const brokers = kafkaBrokers();
const prefix = `${uniqueName('dlq_cli')}.`;
const topic = `${prefix}${TOPICS.dlq}`;
const kafka = new kafkajs.Kafka({ clientId: 'dlq-cli-test', brokers, logLevel: kafkajs.logLevel.NOTHING });
let bus: MessageBus;
let pub: Publisher;

/** The rejected notification: valid UTF-8 JSON with a bad timestamp. */
const rawText = '{"events":[{"id":"e1","timestamp":"not a time","action":"push"}]}';
/** A rejected document that is not UTF-8 (0xff 0xfe are never valid in UTF-8). */
const rawBinary = Buffer.from([0x7b, 0xff, 0xfe, 0x00, 0x7d]);
const failedAt = new Date('2026-03-10T08:00:00.000Z');

const args = (...extra: string[]): string[] => [
  'dlq',
  '--brokers',
  brokers.join(','),
  '--topic-prefix',
  prefix,
  ...extra,
];
const lines = (stdout: string): DlqRecord[] =>
  stdout
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as DlqRecord);
const byReason = (rs: DlqRecord[]): DlqRecord[] =>
  [...rs].sort((a, b) => (a.reason ?? '').localeCompare(b.reason ?? ''));

async function dlqGroups(): Promise<Set<string>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return new Set(
      (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith('regwatch-dlq-cli-')),
    );
  } finally {
    await admin.disconnect();
  }
}

before(async () => {
  bus = createKafkaBus({ brokers, clientId: 'dlq-cli-test', logger: silentLogger() });
  await bus.ensureTopics([topic], 3);
  pub = bus.publisher();
  await pub.publish(topic, [
    toDlqMessage(
      {
        reason: 'invalid_timestamp',
        detail: 'events[0].timestamp: expected RFC 3339, got "not a time"',
        payload: 'raw',
        value: rawText,
        source: { topic: `${prefix}${TOPICS.notifications}`, partition: 2, offset: '41', key: 'registry-a' },
      },
      failedAt,
    ),
    toDlqMessage(
      {
        reason: 'es_rejected',
        detail: 'failed to parse field [source.ip] of type [ip]',
        payload: 'document',
        value: rawBinary,
        source: { topic: `${prefix}${TOPICS.events}`, partition: 0, offset: '7', key: 'alice' },
        errorType: 'mapper_parsing_exception',
        documentId: 'doc-1',
      },
      failedAt,
    ),
  ]);
});

after(async () => {
  await bus.close();
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
  await admin.disconnect();
});

describe('regwatch dlq', () => {
  test('prints every message as NDJSON (utf8 / base64 value, headers, source) and a summary by reason', async () => {
    const groupsBefore = await dlqGroups();
    const r = await regwatch(args());
    assert.equal(r.code, 0, r.stderr);
    const [es, ts] = byReason(lines(r.stdout));
    assert.equal(lines(r.stdout).length, 2, r.stdout);
    assert.ok(es && ts);
    assert.equal(ts.reason, 'invalid_timestamp');
    assert.equal(ts.detail, 'events[0].timestamp: expected RFC 3339, got "not a time"');
    assert.equal(ts.payload, 'raw');
    assert.deepEqual(ts.source, { topic: `${prefix}${TOPICS.notifications}`, partition: 2, offset: '41' });
    assert.equal(ts.key, 'registry-a');
    assert.equal(ts.value, rawText);
    assert.equal(ts.encoding, 'utf8');
    assert.equal(ts.size, Buffer.byteLength(rawText));
    assert.equal(ts.dlq.topic, topic);
    assert.ok(!Number.isNaN(Date.parse(ts.timestamp)), ts.timestamp);
    assert.equal(ts.error_type, undefined);

    assert.equal(es.reason, 'es_rejected');
    assert.equal(es.encoding, 'base64');
    assert.deepEqual(Buffer.from(es.value, 'base64'), rawBinary);
    assert.equal(es.size, rawBinary.length);
    assert.equal(es.error_type, 'mapper_parsing_exception');
    assert.equal(es.document_id, 'doc-1');
    assert.deepEqual(es.source, { topic: `${prefix}${TOPICS.events}`, partition: 0, offset: '7' });

    assert.match(r.stderr, new RegExp(`^regwatch dlq: 2 message\\(s\\) from ${topic.replace(/\./g, '\\.')}$`, 'm'));
    assert.match(r.stderr, /^ {2}es_rejected +1$/m);
    assert.match(r.stderr, /^ {2}invalid_timestamp {2}1$/m);
    // No consumer group was left behind (the random group never commits and is deleted on exit).
    const left = [...(await dlqGroups())].filter((g) => !groupsBefore.has(g));
    assert.deepEqual(left, []);
  });

  test('--reason keeps only that reason; the summary says how many were read', async () => {
    const r = await regwatch(args('--reason', 'es_rejected'));
    assert.equal(r.code, 0, r.stderr);
    const got = lines(r.stdout);
    assert.equal(got.length, 1);
    assert.equal(got[0]!.reason, 'es_rejected');
    assert.match(r.stderr, /^regwatch dlq: 1 message\(s\) from .* \(2 read, 1 matched --reason\)$/m);
    assert.match(r.stderr, /^ {2}es_rejected {2}1$/m);
    assert.doesNotMatch(r.stderr, /invalid_timestamp/);

    const none = await regwatch(args('--reason', 'too_large,empty'));
    assert.equal(none.code, 0, none.stderr);
    assert.equal(none.stdout, '');
    assert.match(none.stderr, /0 message\(s\) from .* \(2 read, 0 matched --reason\)/);
  });

  test('--limit and --since bound what is read', async () => {
    const one = await regwatch(args('--limit', '1'));
    assert.equal(one.code, 0, one.stderr);
    assert.equal(lines(one.stdout).length, 1);
    const future = await regwatch(args('--since', '2999-01-01T00:00:00Z'));
    assert.equal(future.code, 0, future.stderr);
    assert.equal(future.stdout, '');
    assert.match(future.stderr, /^regwatch dlq: 0 message\(s\)/m);
    const past = await regwatch(args('--since', '2020-01-01'));
    assert.equal(lines(past.stdout).length, 2, past.stderr);
  });

  test('--follow prints messages published while it runs, and the summary on SIGINT', async () => {
    const child = spawn('sh', [join(ROOT, 'bin/regwatch'), ...args('--follow', '--from-beginning')], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    // One listener for the whole run: a line printed while the test awaits the publish (the
    // consumer can see the message before the producer's acknowledgement arrives) is kept.
    let onLine: (() => void) | null = null;
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString('utf8');
      onLine?.();
    });
    child.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
    const waitLines = (n: number): Promise<void> =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${n} lines:\n${out}\n${err}`)), 60_000);
        const check = (): void => {
          if (out.split('\n').filter((l) => l.length > 0).length >= n) {
            clearTimeout(timer);
            onLine = null;
            resolve();
          }
        };
        onLine = check;
        check();
      });
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    try {
      await waitLines(2);
      await pub.publish(topic, [
        toDlqMessage(
          {
            reason: 'not_json',
            detail: 'Unexpected token',
            payload: 'raw',
            value: '{oops',
            source: { topic: `${prefix}${TOPICS.logs}`, partition: 1, offset: '3', key: null },
          },
          new Date(),
        ),
      ]);
      await waitLines(3);
    } finally {
      child.kill('SIGINT');
    }
    assert.equal(await exited, 0, err);
    const got = lines(out);
    assert.equal(got.length, 3);
    assert.equal(got[2]!.reason, 'not_json');
    assert.equal(got[2]!.value, '{oops');
    assert.match(err, /^regwatch dlq: following /m);
    assert.match(err, /^regwatch dlq: 3 message\(s\) from /m);
    assert.match(err, /^ {2}not_json +1$/m);
  });

  test('unreachable brokers: KAFKA_UNAVAILABLE naming them, exit 1', async () => {
    const r = await regwatch(['dlq', '--brokers', '127.0.0.1:1']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^regwatch: KAFKA_UNAVAILABLE: .*\(brokers 127\.0\.0\.1:1\)/m);
    assert.equal(r.stdout, '');
  });

  test('a topic that does not exist (wrong prefix): CONFIG_INVALID naming it, exit 2', async () => {
    const r = await regwatch(['dlq', '--brokers', brokers.join(','), '--topic-prefix', 'no_such_prefix_zz.']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /CONFIG_INVALID: topic "no_such_prefix_zz\.regwatch\.dlq" does not exist/);
  });
});
