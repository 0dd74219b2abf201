import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../../shared/src/logger.ts';
import { forecastStorage } from '../../../services/detector/src/forecast/model.ts';
import { buildCapacityReport } from '../../../services/detector/src/forecast/report.ts';
import { channels } from '../../../services/alerts/src/channels/index.ts';
import { systemClock } from '../../../services/alerts/src/clock.ts';
import { parseAlertsConfig } from '../../../services/alerts/src/config.ts';
import { createMemoryDeliveriesSink } from '../../../services/alerts/src/deliveries.ts';
import { createDeliverer } from '../../../services/alerts/src/delivery.ts';
import { createHttpClient } from '../../../services/alerts/src/http.ts';
import { deliverCapacityReport, REPORT_CHART_CID } from '../../../services/alerts/src/report.ts';
import { parseMultipart, startChatServer } from '../../helpers/chat-servers.ts';
import { startInbox } from './support.ts';

describe('weekly capacity report delivery (chart by e-mail and to image-capable chat, a link elsewhere)', () => {
  test('e-mail gets HTML + inline PNG chart, Telegram gets the chart as a photo, Slack gets the text and the link', async () => {
    const day = 86_400_000;
    const t0 = Date.parse('2026-10-01T00:00:00Z');
    const samples = Array.from({ length: 60 }, (_, i) => ({
      timestamp: new Date(t0 + i * day).toISOString(),
      used_bytes: 400e9 + i * 4e9,
      capacity_bytes: 1000e9,
    }));
    const report = buildCapacityReport({
      generatedAt: new Date(t0 + 60 * day),
      scopes: [
        {
          scope: 'fs:/var/lib/registry',
          history: samples.map((s) => ({ t: Date.parse(s.timestamp), v: s.used_bytes })),
          result: forecastStorage(samples),
        },
      ],
    });
    assert.equal(report.png.subarray(1, 4).toString(), 'PNG');
    const inbox = await startInbox();
    const tgToken = '123456:AAEXAMPLEexampleEXAMPLEexample';
    const tg = await startChatServer('telegram', { token: tgToken });
    const slack = await startChatServer('slack');
    try {
      const config = parseAlertsConfig(`
route: { receiver: platform }
receivers:
  - name: platform
    channels:
      - { type: email, to: [platform@example.test], from: regwatch@example.test, host: 127.0.0.1, port: ${inbox.port}, require_tls: false }
      - { type: telegram, bot_token: "${tgToken}", chat_id: "-100777", api_url: "${tg.base}" }
      - { type: slack, url: "${slack.url}" }
`);
      const d = createDeliverer({
        config,
        channels,
        http: createHttpClient(),
        clock: systemClock,
        logger: silentLogger(),
        sink: createMemoryDeliveriesSink(),
        render: {},
        instanceId: 'r',
      });
      const results = await deliverCapacityReport(
        d,
        report,
        'platform',
        Date.now(),
        'https://reports.example.test/capacity/2026-11-30.html',
      );
      assert.deepEqual(
        results.map((r) => r.outcome.kind),
        ['ok', 'ok', 'ok'],
      );

      const mail = inbox.mails[0]!;
      assert.equal(mail.subject, `[regwatch] ${report.title}`);
      const chart = mail.attachments.find((a) => a.contentType === 'image/png');
      assert.ok(chart, 'chart attached');
      assert.equal(chart.cid, REPORT_CHART_CID);
      assert.ok(chart.content.equals(report.png), 'the exact PNG');
      assert.match(String(mail.html), new RegExp(`src="cid:${REPORT_CHART_CID}"`));

      const photoReq = tg.accepted.find((r) => r.path.endsWith('/sendPhoto'))!;
      const parts = parseMultipart(photoReq.raw, String(photoReq.headers['content-type']));
      assert.equal(parts.get('chat_id')?.data.toString(), '-100777');
      assert.ok(parts.get('photo')?.data.equals(report.png));
      assert.match(parts.get('caption')?.data.toString() ?? '', /capacity/i);

      const slackBody = slack.accepted[0]!.body;
      assert.match(slackBody, /https:\/\/reports\.example\.test\/capacity\/2026-11-30\.html/);
      assert.ok(!slackBody.includes('iVBOR'), 'no image bytes pushed into chat that cannot carry them');
    } finally {
      await Promise.all([inbox.close(), tg.close(), slack.close()]);
    }
  });
});
