/**
 * The indexer's log-line normalizer (services/ingest/src/normalizer.ts) on a JSON array message:
 * the receiver keeps an `application/json` body on POST /v1/logs whole, so a Harbor audit-log API
 * page (a bare JSON array) reaches `registry.logs` as one message. It was dead-lettered as
 * `unknown_format` while `regwatch normalize` turns the same file into events.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createIngestNormalizer } from '../../../services/ingest/src/normalizer.ts';
import { normalizePayload } from '../../../shared/src/normalize/index.ts';

const sample = (name: string): Buffer =>
  readFileSync(new URL(`../../fixtures/registry-samples/${name}`, import.meta.url));

describe('ingest normalizer: JSON array messages on registry.logs', () => {
  for (const name of ['35-harbor-api-auditlog-exts.json', '36-harbor-api-audit-logs-legacy.json']) {
    test(`${name}: one event per record, as regwatch normalize gives`, () => {
      const bytes = sample(name);
      const expected = normalizePayload(bytes, 'auto').filter((r) => r.kind === 'event');
      assert.ok(expected.length > 0);
      const out = createIngestNormalizer().logLines([{ bytes, ctx: {} }]);
      const events = out.filter((o) => o.result.kind === 'event');
      assert.equal(
        out.filter((o) => o.result.kind === 'rejected').length,
        0,
        JSON.stringify(out.map((o) => o.result.kind)),
      );
      assert.deepEqual(
        events.map((o) => (o.result.kind === 'event' ? o.result.event.event.id : '')),
        expected.map((r) => (r.kind === 'event' ? r.event.event.id : '')),
      );
      assert.ok(events.every((o) => o.index === 0));
    });
  }

  test('log lines around an array keep their own results and indexes', () => {
    const line = Buffer.from(
      '{"level":"info","msg":"response completed","time":"2026-03-10T10:00:00Z","http.request.method":"GET","http.request.uri":"/v2/","http.response.status":200,"http.request.remoteaddr":"192.0.2.1:5000"}',
    );
    const out = createIngestNormalizer().logLines([
      { bytes: line, ctx: {} },
      { bytes: sample('35-harbor-api-auditlog-exts.json'), ctx: {} },
      { bytes: line, ctx: {} },
    ]);
    assert.ok(out.some((o) => o.index === 1 && o.result.kind === 'event'));
    assert.ok(out.every((o) => o.result.kind !== 'rejected'));
  });
  test('a pretty-printed envelope kept whole by the receiver is normalized like the same envelope posted to /v1/notifications', () => {
    const bytes = sample('10-dist-notif-multi-event-envelope-test-fixture.json');
    const expected = normalizePayload(bytes, 'notification').filter((r) => r.kind === 'event');
    assert.equal(expected.length, 3);
    const out = createIngestNormalizer().logLines([{ bytes, ctx: {} }]);
    assert.deepEqual(
      out.map((o) => (o.result.kind === 'event' ? o.result.event.event.id : o.result.kind)),
      expected.map((r) => (r.kind === 'event' ? r.event.event.id : '')),
    );
  });
});
