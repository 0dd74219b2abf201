/**
 * A follower process for the crash tests: `followInputs` on one file with a state directory,
 * publishing into a file-backed publisher (each message appended as NDJSON `{value, ref}` before
 * the publish resolves, like the persisted embedded bus). Runs until killed.
 * Usage: node follow-child.ts <file> <stateDir> <outFile> <saveIntervalMs> <delayMsPerLine>
 */
import { appendFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Publisher } from '../../../shared/src/bus/types.ts';
import { silentLogger } from '../../../shared/src/logger.ts';
import { TOPICS } from '../../../shared/src/topics.ts';
import { followInputs } from '../../../services/embedded/src/inputs.ts';

const [file, stateDir, outFile, saveMs, delayMs] = process.argv.slice(2);
if (!file || !stateDir || !outFile)
  throw new Error('usage: follow-child.ts <file> <stateDir> <outFile> [saveMs] [delayMs]');
const publisher: Publisher = {
  async publish(_topic, messages) {
    await sleep(Number(delayMs ?? 0));
    for (const m of messages)
      appendFileSync(outFile, `${JSON.stringify({ value: String(m.value), ref: m.headers?.['regwatch.line_ref'] })}\n`);
  },
  async close() {},
};
await followInputs({
  paths: [file],
  publisher,
  topics: TOPICS,
  stateDir,
  logger: silentLogger(),
  pollMs: 30,
  saveIntervalMs: Number(saveMs ?? 1000),
});
process.stdout.write('following\n');
