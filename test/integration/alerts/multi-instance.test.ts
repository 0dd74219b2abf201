import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../../shared/src/logger.ts';
import { TOPICS } from '../../../shared/src/topics.ts';
import { systemClock } from '../../../services/alerts/src/clock.ts';
import { parseAlertsConfig } from '../../../services/alerts/src/config.ts';
import { createEsDeliveriesSink } from '../../../services/alerts/src/deliveries-es.ts';
import { createAlerts } from '../../../services/alerts/src/service.ts';
import { createEsStore } from '../../../services/alerts/src/store/elasticsearch.ts';
import { startChatServer } from '../../helpers/chat-servers.ts';
import {
  esClient,
  kafkaBus,
  mkFinding,
  publishFindings,
  startAlertsProcess,
  tempFile,
  uniqueName,
  waitFor,
} from './support.ts';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const es = esClient();
after(() => es.close());

/** Distinct notification keys (webhook-id) → how many requests carried each. */
function byId(requests: readonly { headers: Readonly<Record<string, unknown>> }[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of requests) {
    const id = String(r.headers['webhook-id']);
    m.set(id, (m.get(id) ?? 0) + 1);
  }
  return m;
}

describe('two alerts instances on one consumer group and one Elasticsearch state index', () => {
  test('both consume; every group is notified once, with the alerts of both instances merged', async () => {
    const topic = `${uniqueName('two')}.${TOPICS.findings}`;
    const stateIndex = uniqueName('alert-state-two');
    const deliveriesIndex = uniqueName('alert-deliveries-two');
    const groupId = uniqueName('alerts');
    const hook = await startChatServer('webhook', { secret: SECRET });
    const config = parseAlertsConfig(`
route: { receiver: hook, group_by: [rule], group_wait: 4s, group_interval: 10m, repeat_interval: 4h }
receivers: [{ name: hook, channels: [{ type: webhook, url: "${hook.url}", secret: "${SECRET}" }] }]
`);
    const buses = [kafkaBus('alerts-two-a'), kafkaBus('alerts-two-b')];
    await buses[0]!.ensureTopics([topic], 4);
    const instances = buses.map((bus, i) =>
      createAlerts({
        bus,
        store: createEsStore({ client: es, index: stateIndex }),
        clock: systemClock,
        config,
        logger: silentLogger(),
        deliveriesSink: createEsDeliveriesSink({ client: es, index: deliveriesIndex }),
        topic,
        groupId,
        tickMs: 50,
        instanceId: `inst-${i}`,
      }),
    );
    try {
      for (const a of instances) await a.start();
      await new Promise((r) => setTimeout(r, 8000)); // both members joined and got partitions
      const rules = [
        'pull.volume_spike',
        'repo.crawling',
        'catalog.enumeration',
        'auth.failed_login_user',
        'delete.burst',
        'tag.repointed',
      ];
      const users = Array.from({ length: 12 }, (_, i) => `user${i}`);
      const findings = rules.flatMap((r) => users.map((u) => mkFinding(r, u)));
      await publishFindings(buses[0]!, topic, findings);
      await waitFor('6 notifications', () => hook.accepted.length >= 6, 60_000);
      await new Promise((r) => setTimeout(r, 5000));
      const ids = byId(hook.requests);
      assert.equal(ids.size, 6, 'one notification per group');
      assert.ok(
        [...ids.values()].every((c) => c === 1),
        `no notification sent twice: ${JSON.stringify([...ids])}`,
      );
      for (const r of hook.accepted)
        assert.equal(
          (r.json as { alerts: unknown[] }).alerts.length,
          12,
          'each carries all 12 alerts, whichever instance consumed them',
        );
      await es.indices.refresh({ index: deliveriesIndex });
      const recs = await es.search<{ oci_registry: { alert: { instance: string } } }>({
        index: deliveriesIndex,
        size: 100,
        query: { term: { 'event.outcome': 'success' } },
      });
      const perInstance = new Map<string, number>();
      for (const h of recs.hits.hits)
        perInstance.set(
          h._source!.oci_registry.alert.instance,
          (perInstance.get(h._source!.oci_registry.alert.instance) ?? 0) + 1,
        );
      process.stderr.write(
        `two-instance: ${findings.length} findings, ${hook.requests.length} webhook requests, ${ids.size} distinct notifications, sent per instance ${JSON.stringify(Object.fromEntries(perInstance))}\n`,
      );
      assert.equal(recs.hits.hits.length, 6);
    } finally {
      for (const a of instances) await a.stop();
      for (const b of buses) await b.close();
      await hook.close();
      await es.indices.delete({ index: [stateIndex, deliveriesIndex], ignore_unavailable: true });
    }
  });
});

describe('restart: kill -9 in the middle of a delivery', () => {
  test('after restart each group is delivered under its one notification key; no second notification', async () => {
    const prefix = `${uniqueName('rst')}.`;
    const topic = `${prefix}${TOPICS.findings}`;
    const stateIndex = uniqueName('alert-state-rst');
    const deliveriesIndex = uniqueName('alert-deliveries-rst');
    const hook = await startChatServer('webhook', { secret: SECRET });
    // The first request hangs: the process is killed while it is in flight and while the other
    // two groups' notifications are claimed and queued behind it (one destination = one at a time).
    hook.script({ status: 204, delayMs: 60_000 });
    const cfgPath = tempFile(
      'alerts.yaml',
      `
route: { receiver: hook, group_by: [rule], group_wait: 1s, group_interval: 10m, repeat_interval: 4h }
receivers: [{ name: hook, channels: [{ type: webhook, url: "${hook.url}", secret: "\${HOOK_SECRET}" }] }]
delivery: { deadline: 15s, lease: 20s, max_attempts: 3, initial_backoff: 200ms }
`,
    );
    const env = {
      REGWATCH_ALERTS_CONFIG: cfgPath,
      HOOK_SECRET: SECRET,
      REGWATCH_ALERTS_TOKEN: 'restart-test-token-0123456789',
      REGWATCH_ALERTS_PORT: '0',
      REGWATCH_TOPIC_PREFIX: prefix,
      REGWATCH_ALERTS_GROUP_ID: uniqueName('alerts'),
      ES_ALERT_STATE_INDEX: stateIndex,
      ES_DELIVERIES_INDEX: deliveriesIndex,
      REGWATCH_ALERTS_TICK_MS: '100',
    };
    const bus = kafkaBus('alerts-rst-pub');
    let second: ReturnType<typeof startAlertsProcess> | undefined;
    const first = startAlertsProcess(env);
    try {
      await waitFor('first instance listening', () => first.output.join('').includes('alerts API listening'), 60_000);
      const rules = ['pull.volume_spike', 'repo.crawling', 'delete.burst'];
      await publishFindings(
        bus,
        topic,
        rules.flatMap((r) => ['a', 'b', 'c'].map((u) => mkFinding(r, u))),
      );
      await waitFor('a delivery in flight', () => hook.requests.length >= 1, 60_000);
      await new Promise((r) => setTimeout(r, 500)); // the other groups are claimed too
      first.proc.kill('SIGKILL');
      assert.equal(await first.exited(), null);
      second = startAlertsProcess(env);
      await waitFor('3 completed deliveries after restart', () => hook.accepted.length >= 3, 60_000).catch(
        (e: unknown) => {
          process.stderr.write(
            `second instance output:\n${second?.output.join('').slice(-6000)}\nrequests: ${JSON.stringify(hook.requests.map((r) => [r.headers['webhook-id'], r.at]))}\n`,
          );
          throw e;
        },
      );
      await new Promise((r) => setTimeout(r, 4000));
      const inFlightIds = byId(hook.requests.slice(0, 1));
      const completedIds = byId(hook.accepted);
      process.stderr.write(
        `restart: ${hook.requests.length} requests (1 cut off by kill -9), ${completedIds.size} completed notifications: ${JSON.stringify([...completedIds])}\n`,
      );
      assert.equal(completedIds.size, 3, 'one completed notification per group');
      assert.ok(
        [...completedIds.values()].every((c) => c === 1),
        'each completed exactly once',
      );
      const cut = [...inFlightIds.keys()][0]!;
      assert.ok(
        completedIds.has(cut),
        'the cut-off notification is re-sent under the same key (webhook-id), so the receiver can deduplicate',
      );
      assert.equal(hook.requests.length, 4, '1 cut off + 3 completed: nothing else was sent');
      assert.ok(
        [...completedIds.keys()].every((k) => k.endsWith(':1')),
        'no second notification was created',
      );
      assert.equal((hook.accepted[0]!.json as { alerts: unknown[] }).alerts.length, 3);
    } finally {
      first.proc.kill('SIGKILL');
      second?.proc.kill('SIGTERM');
      if (second) await second.exited();
      await bus.close();
      await hook.close();
      await es.indices.delete({ index: [stateIndex, deliveriesIndex], ignore_unavailable: true });
    }
  });
});
