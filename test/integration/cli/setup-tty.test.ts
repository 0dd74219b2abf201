/**
 * `regwatch setup elasticsearch` against the real Elasticsearch node: on a terminal only the
 * human table (stderr) is shown — the JSON report goes to stdout when stdout is not a terminal
 * (pipes, files: scripts keep working) or with --json. The terminal is a real pseudo-terminal
 * from util-linux `script`; stderr is redirected to a file so the pty carries stdout alone.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, elasticsearchUrl } from '../../helpers/infra.ts';
import { regwatch } from '../../unit/cli/cli-run.ts';

/** Runs `sh bin/regwatch <args>` with stdout on a pseudo-terminal; resolves with what the terminal showed and stderr. */
function onTerminal(args: string[]): Promise<{ code: number; terminal: string; stderr: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'regwatch-tty-'));
  const errFile = join(dir, 'stderr');
  const cmd = `sh bin/regwatch ${args.map((a) => `'${a}'`).join(' ')} 2>'${errFile}'`;
  return new Promise((resolve) => {
    execFile('script', ['-qec', cmd, '/dev/null'], { cwd: REPO_ROOT, timeout: 120_000 }, (err, stdout) => {
      const stderr = readFileSync(errFile, 'utf8');
      rmSync(dir, { recursive: true, force: true });
      resolve({ code: err ? Number(err.code ?? 1) : 0, terminal: stdout, stderr });
    });
  });
}

describe('regwatch setup elasticsearch: stdout on a terminal', { timeout: 240_000 }, () => {
  const url = elasticsearchUrl();

  test('a terminal shows the table only; --json adds the JSON report', async () => {
    const plain = await onTerminal(['setup', 'elasticsearch', '--url', url]);
    assert.equal(plain.code, 0, plain.stderr);
    assert.match(plain.stderr, /\d+ created, \d+ updated, \d+ unchanged, \d+ skipped/);
    assert.doesNotMatch(plain.terminal, /"changes"/, 'no JSON report on the terminal');

    const json = await onTerminal(['setup', 'elasticsearch', '--json', '--url', url]);
    assert.equal(json.code, 0, json.stderr);
    const report = JSON.parse(json.terminal.trim()) as { changes: { action: string }[] };
    assert.ok(report.changes.length > 0);
    assert.ok(
      report.changes.every((c) => c.action !== 'created' && c.action !== 'updated'),
      'second run changes nothing',
    );
  });

  test('stdout piped (not a terminal): the JSON report, as before', async () => {
    const r = await regwatch(['setup', 'elasticsearch', '--url', url]);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as { capabilities: unknown; changes: unknown[] };
    assert.ok(report.capabilities && report.changes.length > 0);
  });
});
