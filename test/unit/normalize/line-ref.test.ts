/**
 * NormalizeContext.lineRef (where the collector had the line, e.g. body hash + line index of a
 * POST /v1/logs) replaces the Kafka/byte offset in the dedupe ids of sources whose id is a hash
 * of the raw line (FORMATS.md "Dedupe and correlation keys": raw line + collector offset), so a
 * line delivered again (a collector's retry, at a new Kafka offset) keeps its id.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { normalizeLine } from '../../../shared/src/normalize/index.ts';

const sample = (name: string, i: number): string =>
  readFileSync(new URL(`../../fixtures/registry-samples/${name}`, import.meta.url), 'utf8')
    .split('\n')
    .filter((l) => l.trim().length > 0)[i]!;

const idOf = (line: string, ctx: { offset?: number; lineRef?: string }): string => {
  const [r] = normalizeLine(line, ctx);
  assert.equal(r?.kind, 'event', JSON.stringify(r));
  return r.kind === 'event' ? r.event.event.id : '';
};

for (const [name, line] of [
  ['combined access line', sample('21-dist-accesslog-combined.log', 0)],
  [
    'logrus JSON line without a request id',
    '{"level":"info","msg":"response completed","time":"2026-11-30T08:00:00Z","http.request.method":"GET","http.request.uri":"/v2/","http.response.status":200,"http.request.remoteaddr":"192.0.2.1:5000"}',
  ],
  ['Nexus request line', sample('41-nexus-request.log', 0)],
] as const) {
  test(`${name}: the same lineRef at another offset keeps the id; another lineRef or no lineRef changes it`, () => {
    const a = idOf(line, { offset: 10, lineRef: '0123456789abcdef:3' });
    assert.equal(idOf(line, { offset: 99, lineRef: '0123456789abcdef:3' }), a);
    assert.notEqual(idOf(line, { offset: 10, lineRef: '0123456789abcdef:4' }), a);
    // Without lineRef the offset is used, as before.
    assert.notEqual(idOf(line, { offset: 10 }), idOf(line, { offset: 11 }));
  });
}
