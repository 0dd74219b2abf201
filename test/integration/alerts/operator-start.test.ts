/**
 * Operator-facing start-up behaviour of the alerts entry point (services/alerts/src/main.ts) on the
 * real Kafka broker and Elasticsearch node:
 * - without REGWATCH_ALERTS_GROUP_ID the consumer group is `<REGWATCH_TOPIC_PREFIX>alerts`, so two
 *   prefixed deployments never share (and starve) one group;
 * - an API port already taken fails the start with HTTP_LISTEN_FAILED naming the address (not
 *   INTERNAL), not retriable, exit status 1;
 * - each alert's silence command names the API (`--url`, the bound address by default) and the
 *   token variable, and pasted into a shell it really creates the silence.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { TOPICS } from '../../../shared/src/topics.ts';
import {
  kafkaBrokers,
  kafkaBus,
  mkFinding,
  publishFindings,
  startAlertsProcess,
  tempFile,
  uniqueName,
  waitFor,
} from './support.ts';

const TOKEN = 'operator-start-token-0123456789';

describe('alerts entry point: operator-facing start-up', { timeout: 180_000 }, () => {
  test('default consumer group is <REGWATCH_TOPIC_PREFIX>alerts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'regwatch-alerts-ops-'));
    const prefix = `${uniqueName('alertsops')}.`;
    const child = startAlertsProcess({
      REGWATCH_ALERTS_TOKEN: TOKEN,
      REGWATCH_ALERTS_PORT: '0',
      REGWATCH_ALERTS_STORE: 'sqlite',
      REGWATCH_ALERTS_SQLITE_PATH: join(dir, 'alerts.sqlite'),
      REGWATCH_TOPIC_PREFIX: prefix,
      KAFKA_TOPIC_PARTITIONS: '1',
    });
    const kafka = new kafkajs.Kafka({ brokers: kafkaBrokers(), clientId: 'alerts-ops-test', logLevel: 0 });
    const admin = kafka.admin();
    try {
      await waitFor('alerts API listening', () => child.output.join('').includes('alerts API listening'), 60_000);
      await admin.connect();
      let members = 0;
      await waitFor(
        `a member in group ${prefix}alerts`,
        async () => {
          const d = await admin.describeGroups([`${prefix}alerts`]);
          members = d.groups[0]?.members.length ?? 0;
          return members > 0;
        },
        60_000,
      );
      assert.equal(members, 1);
      child.proc.kill('SIGTERM');
      assert.equal(await child.exited(), 0, child.output.join('').slice(-3000));
    } finally {
      child.proc.kill('SIGKILL');
      await admin.disconnect();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('an API port already in use: HTTP_LISTEN_FAILED with the address, not retriable, exit 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'regwatch-alerts-ops-'));
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    try {
      const child = startAlertsProcess({
        REGWATCH_ALERTS_TOKEN: TOKEN,
        REGWATCH_ALERTS_PORT: String(port),
        REGWATCH_ALERTS_STORE: 'sqlite',
        REGWATCH_ALERTS_SQLITE_PATH: join(dir, 'alerts.sqlite'),
        REGWATCH_TOPIC_PREFIX: `${uniqueName('alertsops')}.`,
        KAFKA_TOPIC_PARTITIONS: '1',
      });
      assert.equal(await child.exited(), 1);
      const out = child.output.join('');
      assert.match(
        out,
        new RegExp(
          `regwatch alerts: HTTP_LISTEN_FAILED: alerts API cannot listen on 127\\.0\\.0\\.1:${port} \\(EADDRINUSE\\)`,
        ),
      );
      const fatal = out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((l) => l['level'] === 60);
      assert.equal(fatal?.['code'], 'HTTP_LISTEN_FAILED');
      assert.equal(fatal?.['retriable'], false);
      assert.doesNotMatch(out, /INTERNAL/);
    } finally {
      await new Promise((r) => blocker.close(r));
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the silence command in an alert carries --url of this API and the token hint, and works as pasted', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'regwatch-alerts-ops-'));
    const prefix = `${uniqueName('alertsops')}.`;
    const cfgPath = tempFile(
      'alerts.yaml',
      `
route: { receiver: out, group_by: [rule, entity], group_wait: 1s, group_interval: 5m, repeat_interval: 4h }
receivers: [{ name: out, channels: [{ type: console, stream: stderr }] }]
`,
    );
    const child = startAlertsProcess({
      REGWATCH_ALERTS_CONFIG: cfgPath,
      REGWATCH_ALERTS_TOKEN: TOKEN,
      REGWATCH_ALERTS_PORT: '0',
      REGWATCH_ALERTS_STORE: 'sqlite',
      REGWATCH_ALERTS_SQLITE_PATH: join(dir, 'alerts.sqlite'),
      REGWATCH_TOPIC_PREFIX: prefix,
      KAFKA_TOPIC_PARTITIONS: '1',
    });
    const bus = kafkaBus('alerts-ops-pub');
    try {
      const listening = await waitFor(
        'alerts API listening',
        () => /"address":"(http:\/\/[^"]+)".*"msg":"alerts API listening"/.exec(child.output.join(''))?.[1],
        60_000,
      );
      await publishFindings(bus, `${prefix}${TOPICS.findings}`, [mkFinding('pull.volume_spike', 'alice')]);
      const line = await waitFor(
        'a silence line in the console notification',
        () =>
          child.output
            .join('')
            .split('\n')
            .find((l) => l.includes('silence: npx regwatch silence add')),
        60_000,
      );
      const cmd = line.slice(line.indexOf('npx regwatch'));
      assert.equal(
        cmd,
        `npx regwatch silence add --url ${listening} --matcher 'rule=pull.volume_spike' --matcher 'entity=user:alice' --duration 2h --comment 'reason'  # with REGWATCH_ALERTS_TOKEN set to a token of the alerts service`,
      );
      // Pasted into a shell with the token variable set (and nothing else), it creates the silence.
      const run = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
        execFile(
          'sh',
          ['-c', cmd.replace(/^npx regwatch /, 'sh bin/regwatch ')],
          {
            cwd: join(import.meta.dirname, '..', '..', '..'),
            env: { PATH: process.env['PATH'] ?? '', HOME: dir, REGWATCH_ALERTS_TOKEN: TOKEN, REGWATCH_DATA_DIR: dir },
          },
          (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
        ),
      );
      assert.equal(run.code, 0, run.stderr);
      const created = JSON.parse(run.stdout) as { id: string; matchers: unknown[] };
      assert.ok(created.id);
      child.proc.kill('SIGTERM');
      assert.equal(await child.exited(), 0);
    } finally {
      child.proc.kill('SIGKILL');
      await bus.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
