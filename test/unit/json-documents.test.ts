import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createDocumentGrouper, type StreamUnit } from '../../shared/src/io/json-documents.ts';

const grouper = (max = 1 << 20) => createDocumentGrouper((l: string) => Buffer.from(l, 'latin1'), max);

/** Feeds `lines`, then flushes; returns the units. */
function run(lines: readonly string[], max?: number): StreamUnit<string>[] {
  const g = grouper(max);
  return [...lines.flatMap((l) => g.push(l)), ...g.flush()];
}
const shape = (units: StreamUnit<string>[]) =>
  units.map((u) => (u.kind === 'line' ? `line:${u.line}` : `doc:${u.lines.length}`));

const envelope = JSON.stringify({ events: [{ id: 'a', action: 'pull', target: { tag: 'v1' } }] }, null, 2).split('\n');

describe('createDocumentGrouper', () => {
  test('a pretty-printed document between log lines comes back whole, the lines around it as they were', () => {
    const units = run(['{"msg":"before"}', ...envelope, 'time="x" level=info msg="after"']);
    assert.deepEqual(shape(units), [
      'line:{"msg":"before"}',
      `doc:${envelope.length}`,
      'line:time="x" level=info msg="after"',
    ]);
    const doc = units[1];
    assert.ok(doc?.kind === 'document');
    assert.deepEqual(JSON.parse(doc.bytes.toString()), JSON.parse(envelope.join('\n')));
  });

  test('two documents back to back, CRLF line ends, a pretty array', () => {
    const arr = JSON.stringify([{ id: 1 }, { id: 2 }], null, 4).split('\n');
    const crlf = envelope.map((l) => `${l}\r`);
    assert.deepEqual(shape(run([...envelope, ...crlf, ...arr])), [
      `doc:${envelope.length}`,
      `doc:${crlf.length}`,
      `doc:${arr.length}`,
    ]);
  });

  test('a compact JSON array on one line is a document; a text line starting with [ is a line', () => {
    assert.deepEqual(shape(run(['[{"id":1},{"id":2}]', '[GIN] 2024/01/01 - 10:00:00 | 200 | GET /api'])), [
      'doc:1',
      'line:[GIN] 2024/01/01 - 10:00:00 | 200 | GET /api',
    ]);
  });

  test('a broken run gives every held line back in order, and the breaking line is judged on its own', () => {
    // The envelope is cut short by a new log line at column 0.
    const cut = envelope.slice(0, 4);
    assert.deepEqual(shape(run([...cut, '{"msg":"next"}'])), [...cut.map((l) => `line:${l}`), 'line:{"msg":"next"}']);
    // A closer after which the text does not parse: all lines back, nothing dropped.
    assert.deepEqual(shape(run(['{', '  "a": ', '}'])), ['line:{', 'line:  "a": ', 'line:}']);
    // The line that breaks a run may open a document itself.
    assert.deepEqual(shape(run(['{', '  "a": 1,', ...envelope])), [
      'line:{',
      'line:  "a": 1,',
      `doc:${envelope.length}`,
    ]);
    // End of input inside a document.
    assert.deepEqual(
      shape(run(envelope.slice(0, 3))),
      envelope.slice(0, 3).map((l) => `line:${l}`),
    );
  });

  test('a document over maxBytes is given back as lines', () => {
    assert.deepEqual(
      shape(run(envelope, 20)),
      envelope.map((l) => `line:${l}`),
    );
  });

  test('property: every input line comes out exactly once, in order', () => {
    const line = fc.oneof(
      fc.constantFrom('{', '[', '}', ']', '  "a": 1', '\t"b": [', '{"x":1}', '[1,2]', '', 'text line'),
      fc.string({ maxLength: 12 }),
    );
    fc.assert(
      fc.property(fc.array(line, { maxLength: 40 }), (lines) => {
        const out = run(lines).flatMap((u) => (u.kind === 'line' ? [u.line] : u.lines));
        assert.deepEqual(out, lines);
      }),
      { numRuns: 2000 },
    );
  });
});
