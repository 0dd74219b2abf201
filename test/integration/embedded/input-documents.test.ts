/**
 * `regwatch run --input` (startEmbedded with a persisted bus) cuts recorded input into messages
 * as `regwatch normalize` and `POST /v1/logs` do: case C16 (an HTTP request whose body is a
 * pretty-printed notification envelope) gives its 2 events instead of 61 `unknown_format` and
 * 1 `not_json` dead letters, and a mixed file gives the events `normalize` gives. Every message
 * of a regular file carries a `regwatch.line_ref` (`file:<dev>:<ino>:<byte offset>`).
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../../shared/src/logger.ts';
import { loadEmbeddedConfig } from '../../../services/embedded/src/config.ts';
import { startEmbedded } from '../../../services/embedded/src/pipeline.ts';
import { mixedDocumentsInput, normalizedEvents } from '../../fixtures/cases/mixed-documents.ts';

const C16 = join(import.meta.dirname, '..', '..', 'fixtures', 'cases', 'inputs', 'C16.http');

interface Stored {
  v: string;
  h: Record<string, string>;
}

/** Every message of `topic` in the persisted bus under `busDir`. */
function messages(busDir: string, topic: string): Stored[] {
  const tdir = join(busDir, 'topics', topic);
  if (!existsSync(tdir)) return [];
  const out: Stored[] = [];
  for (const f of readdirSync(tdir))
    if (f.endsWith('.ndjson'))
      for (const l of readFileSync(join(tdir, f), 'utf8').split('\n')) if (l) out.push(JSON.parse(l) as Stored);
  return out;
}
const text = (m: Stored): string => Buffer.from(m.v, 'base64').toString('utf8');

/** Runs the embedded pipeline over `file` until everything published was normalized. */
async function runInput(dir: string, file: string): Promise<{ busDir: string }> {
  const config = loadEmbeddedConfig(
    { receiver: 'off', alertsApi: 'off', input: [file], dataDir: join(dir, 'data'), findings: join(dir, 'f') },
    {},
  );
  const e = await startEmbedded(config, { logger: silentLogger() });
  const busDir = join(dir, 'data', 'bus');
  const raw = (): number =>
    ['registry.notifications', 'registry.logs', 'harbor.webhooks'].reduce((n, t) => n + messages(busDir, t).length, 0);
  const end = Date.now() + 30_000;
  while (e.normalize.totals.consumed < raw() && Date.now() < end) await sleep(50);
  await e.stop();
  return { busDir };
}

async function normalizedActions(file: string): Promise<string[]> {
  return (await normalizedEvents(file)).map((e) => e.action).sort();
}

describe('regwatch run --input reads what regwatch normalize reads', () => {
  test(
    'C16: the pretty-printed envelope is one notification message with its 2 events',
    { timeout: 120_000 },
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'rw-input-docs-'));
      try {
        const { busDir } = await runInput(dir, C16);
        const notifications = messages(busDir, 'registry.notifications');
        assert.equal(notifications.length, 1, 'the envelope went whole to registry.notifications');
        const events = messages(busDir, 'regwatch.events').map(
          (m) => JSON.parse(text(m)) as { event: { action: string } },
        );
        assert.deepEqual(events.map((e) => e.event.action).sort(), ['blob-mount', 'manifest-push']);
        assert.deepEqual(events.map((e) => e.event.action).sort(), await normalizedActions(C16));
        const reasons = messages(busDir, 'regwatch.dlq').map((m) => m.h['regwatch.dlq.reason']);
        assert.ok(!reasons.includes('not_json'), reasons.join(','));
        // Only the request line, the headers and the comment line (not 61 lines of the envelope).
        assert.ok(reasons.length <= 8, `dead letters: ${reasons.length}`);
        // Each message's line ref is the byte offset of its first line in this file.
        const st = statSync(C16);
        const body = readFileSync(C16, 'utf8');
        const envelopeAt = Buffer.byteLength(body.slice(0, body.indexOf('\n{\n') + 1));
        assert.equal(notifications[0]!.h['regwatch.line_ref'], `file:${st.dev}:${st.ino}:${envelopeAt}`);
        for (const m of messages(busDir, 'registry.logs')) {
          const ref = m.h['regwatch.line_ref'] ?? '';
          const offset = Number(ref.split(':').pop());
          assert.ok(ref.startsWith(`file:${st.dev}:${st.ino}:`), ref);
          assert.ok(Buffer.from(body).subarray(offset).toString('utf8').startsWith(text(m)), ref);
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  test(
    'a mixed file (log lines, envelope and Harbor webhook pretty-printed in the middle)',
    { timeout: 120_000 },
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'rw-input-docs-'));
      try {
        const file = join(dir, 'mixed.log');
        writeFileSync(file, mixedDocumentsInput());
        const { busDir } = await runInput(dir, file);
        assert.equal(messages(busDir, 'registry.notifications').length, 1);
        assert.equal(messages(busDir, 'harbor.webhooks').length, 1);
        const reasons = messages(busDir, 'regwatch.dlq').map((m) => m.h['regwatch.dlq.reason']);
        assert.deepEqual(reasons, [], 'nothing dead-lettered');
        const actions = messages(busDir, 'regwatch.events')
          .map((m) => (JSON.parse(text(m)) as { event: { action: string } }).event.action)
          .sort();
        const norm = await normalizedActions(file);
        assert.ok(norm.length >= 20, `normalize: ${norm.length} events`);
        assert.deepEqual(actions, norm);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
