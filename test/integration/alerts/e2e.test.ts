import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../../shared/src/logger.ts';
import { TOPICS } from '../../../shared/src/topics.ts';
import { systemClock } from '../../../services/alerts/src/clock.ts';
import { parseAlertsConfig } from '../../../services/alerts/src/config.ts';
import { createEsDeliveriesSink } from '../../../services/alerts/src/deliveries-es.ts';
import { createAlerts, type Alerts } from '../../../services/alerts/src/service.ts';
import { createEsStore } from '../../../services/alerts/src/store/elasticsearch.ts';
import { startChatServer, type ChatServer } from '../../helpers/chat-servers.ts';
import {
  esClient,
  kafkaBus,
  mkFinding,
  publishFindings,
  startInbox,
  uniqueName,
  waitFor,
  type Inbox,
} from './support.ts';

describe('end to end: regwatch.findings (real Kafka) → Slack endpoint + SMTP inbox, delivery records in Elasticsearch', () => {
  const es = esClient();
  const topic = `${uniqueName('e2e')}.${TOPICS.findings}`;
  const stateIndex = uniqueName('alert-state-e2e');
  const deliveriesIndex = uniqueName('alert-deliveries-e2e');
  const slackToken = 'T0E2E/B0E2E/E2ESLACKSECRET';
  let slack: ChatServer;
  let inbox: Inbox;
  let alerts: Alerts;
  const bus = kafkaBus('alerts-e2e');

  before(async () => {
    slack = await startChatServer('slack', { token: slackToken });
    inbox = await startInbox();
    await bus.ensureTopics([topic], 3);
    const config = parseAlertsConfig(`
global: { alerts_url: "http://alerts.test:9095" }
route:
  receiver: security
  group_by: [rule]
  group_wait: 1s
  group_interval: 5s
  repeat_interval: 4h
receivers:
  - name: security
    channels:
      - { type: slack, url: "${slack.url}" }
      - { type: email, to: [secops@example.test], from: regwatch@example.test, host: 127.0.0.1, port: ${inbox.port}, require_tls: false }
`);
    alerts = createAlerts({
      bus,
      store: createEsStore({ client: es, index: stateIndex }),
      clock: systemClock,
      config,
      logger: silentLogger(),
      deliveriesSink: createEsDeliveriesSink({ client: es, index: deliveriesIndex }),
      topic,
      groupId: uniqueName('alerts'),
      tickMs: 100,
    });
    await alerts.start();
  });
  after(async () => {
    await alerts.stop();
    await bus.close();
    await slack.close();
    await inbox.close();
    await es.indices.delete({ index: [stateIndex, deliveriesIndex], ignore_unavailable: true });
    await es.close();
  });

  test('two rules × three users → one Slack message and one e-mail per rule, every attempt recorded', async () => {
    const findings = ['pull.volume_spike', 'repo.crawling'].flatMap((rule) =>
      ['alice', 'bob', 'carol'].map((u) => mkFinding(rule, u)),
    );
    await publishFindings(bus, topic, findings);
    await waitFor(
      '2 Slack messages and 2 e-mails',
      () => slack.accepted.length >= 2 && inbox.mails.length >= 2,
      60_000,
    );
    await new Promise((r) => setTimeout(r, 2000)); // would-be duplicates have time to show up
    assert.equal(slack.accepted.length, 2);
    assert.equal(inbox.mails.length, 2);
    const texts = slack.accepted.map((r) => r.body);
    assert.ok(texts.some((t) => t.includes('[FIRING:3] pull.volume_spike')));
    assert.ok(texts.some((t) => t.includes('[FIRING:3] repo.crawling')));
    assert.ok(
      inbox.mails.every(
        (m) => /FIRING:3/.test(m.subject ?? '') && /observed 500 count vs typical 20 count/.test(m.text ?? ''),
      ),
    );

    await es.indices.refresh({ index: deliveriesIndex });
    const res = await es.search<Record<string, unknown>>({ index: deliveriesIndex, size: 100 });
    const docs = res.hits.hits.map(
      (h) =>
        h._source as {
          event: { outcome: string };
          oci_registry: { alert: { channel: string; result: string; finding_id: string[] } };
        },
    );
    const ok = docs.filter((d) => d.event.outcome === 'success');
    assert.deepEqual(ok.map((d) => d.oci_registry.alert.channel).sort(), ['email', 'email', 'slack', 'slack']);
    assert.deepEqual(new Set(ok.flatMap((d) => d.oci_registry.alert.finding_id)), new Set(findings.map((f) => f.id)));
    const raw = JSON.stringify(res.hits.hits);
    assert.ok(
      !raw.includes('E2ESLACKSECRET') && !raw.includes('/services/'),
      'no webhook URL or token in Elasticsearch',
    );
  });

  test('a resolved finding produces one resolved notice', async () => {
    const f = mkFinding('delete.burst', 'dave');
    await publishFindings(bus, topic, [f]);
    await waitFor('firing notice', () => slack.accepted.some((r) => r.body.includes('delete.burst')), 30_000);
    await publishFindings(bus, topic, [{ ...f, status: 'resolved', detected_at: new Date().toISOString() }]);
    // The resolved notice comes one group_interval (5 s) after the firing one.
    const resolved = await waitFor(
      'resolved notice',
      () => slack.accepted.find((r) => r.body.includes('[RESOLVED:1] delete.burst')),
      30_000,
      250,
    );
    assert.ok(resolved);
  });
});
