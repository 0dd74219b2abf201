/** The printed form of DLQ messages (cli/commands/dlq.ts toDlqRecord, formatDlqSummary). */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { KafkaMessage } from 'kafkajs';
import { formatDlqSummary, toDlqRecord } from '../../../cli/commands/dlq.ts';

const message = (m: Partial<KafkaMessage>): KafkaMessage =>
  ({
    key: null,
    value: null,
    timestamp: '1773129600000',
    offset: '5',
    attributes: 0,
    headers: {},
    ...m,
  }) as KafkaMessage;

describe('toDlqRecord', () => {
  test('a message without regwatch headers (not written by ingest) still prints, with nulls', () => {
    const r = toDlqRecord('p.regwatch.dlq', 1, message({ value: Buffer.from('héllo') }));
    assert.deepEqual(r, {
      timestamp: '2026-03-10T08:00:00.000Z',
      reason: null,
      detail: null,
      payload: null,
      source: { topic: null, partition: null, offset: null },
      key: null,
      value: 'héllo',
      encoding: 'utf8',
      size: 6,
      dlq: { topic: 'p.regwatch.dlq', partition: 1, offset: '5' },
    });
  });

  test('truncated UTF-8 is base64; an empty value is an empty UTF-8 string; a bad partition header is null', () => {
    const cut = Buffer.from('é').subarray(0, 1);
    const r = toDlqRecord(
      't',
      0,
      message({
        value: cut,
        headers: { 'regwatch.source.partition': Buffer.from('x1'), 'regwatch.dlq.reason': 'empty' },
      }),
    );
    assert.equal(r.encoding, 'base64');
    assert.deepEqual(Buffer.from(r.value, 'base64'), cut);
    assert.equal(r.size, 1);
    assert.equal(r.source.partition, null);
    assert.equal(r.reason, 'empty');
    const e = toDlqRecord('t', 0, message({ value: null }));
    assert.equal(e.value, '');
    assert.equal(e.encoding, 'utf8');
    assert.equal(e.size, 0);
  });
});

describe('formatDlqSummary', () => {
  test('most frequent reason first, aligned; the --reason note only when filtering', () => {
    const s = {
      topic: 'regwatch.dlq',
      read: 5,
      printed: 4,
      byReason: new Map([
        ['not_json', 1],
        ['es_rejected', 3],
      ]),
    };
    assert.equal(
      formatDlqSummary(s, false),
      'regwatch dlq: 4 message(s) from regwatch.dlq\n  es_rejected  3\n  not_json     1\n',
    );
    assert.match(
      formatDlqSummary(s, true),
      /^regwatch dlq: 4 message\(s\) from regwatch\.dlq \(5 read, 4 matched --reason\)\n/,
    );
  });
});
