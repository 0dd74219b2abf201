/**
 * Fluent Bit records (`{"date": <epoch s>, "log": "<registry line>"}`, its tail input with the
 * HTTP, Kafka or stdout output in JSON) are unwrapped like Docker json-file and fluentd records:
 * NDJSON lines, and arrays (the HTTP output's `format json` body) through payload `auto`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createIngestNormalizer } from '../../../services/ingest/src/normalizer.ts';
import { normalizeLine, normalizePayload } from '../../../shared/src/normalize/index.ts';
import type { NormalizeResult } from '../../../shared/src/normalize/types.ts';

const lines = (name: string): string[] =>
  readFileSync(new URL(`../../fixtures/registry-samples/${name}`, import.meta.url), 'utf8')
    .split('\n')
    .filter((l) => l.trim().length > 0);
const ACCESS = lines('21-dist-accesslog-combined.log').slice(0, 4);
const APP = lines('16-dist-applog-v3-json-pull-and-push.ndjson');
const DATE = 1755680043.5;
const record = (log: string) => JSON.stringify({ date: DATE, log });
const summary = (rs: NormalizeResult[]) =>
  rs.map((r) => (r.kind === 'event' ? `${r.event.event.action} ${r.event.event.id}` : r.kind));

test('Fluent Bit NDJSON records give the events of their lines (same ids), event.created from date', () => {
  for (const line of [...ACCESS, ...APP]) {
    const wrapped = normalizeLine(record(line), { offset: 7 });
    assert.deepEqual(summary(wrapped), summary(normalizeLine(line, { offset: 7 })), line);
    for (const r of wrapped)
      if (r.kind === 'event') assert.equal(r.event.event.created, new Date(DATE * 1000).toISOString());
  }
});

test('a Fluent Bit HTTP output array body (format json) is one event per record', () => {
  const body = JSON.stringify(ACCESS.map((log) => ({ date: DATE, log })));
  const got = normalizePayload(body, 'auto');
  assert.equal(got.filter((r) => r.kind === 'event').length, ACCESS.length, JSON.stringify(summary(got)));
  // The ingest indexer's path for an application/json body kept whole on registry.logs.
  const ingest = createIngestNormalizer().logLines([{ bytes: Buffer.from(body), ctx: {} }]);
  assert.equal(ingest.filter((o) => o.result.kind === 'event').length, ACCESS.length);
});

test('a record whose log is not a registry line is rejected with the whole record kept', () => {
  const raw = record('hello from some other container');
  const [r] = normalizeLine(raw);
  assert.equal(r?.kind, 'rejected');
  assert.equal(r?.kind === 'rejected' ? r.original : '', raw);
  // An object with neither a registry shape nor a log line stays unknown_format.
  const [u] = normalizeLine('{"date":1,"foo":"bar"}');
  assert.equal(u?.kind === 'rejected' ? u.reason : '', 'unknown_format');
});
