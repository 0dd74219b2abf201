import { z } from 'zod';
import { failed } from '../../../../shared/src/outcome.ts';
import { classifyHttp, maskUrl } from '../http.ts';
import { notificationParts, notificationTitle } from '../render.ts';
import { escapeSlack, truncateChars } from '../text.ts';
import type { Notification, RenderSettings } from '../model.ts';
import type { AlertChannel } from './types.ts';
import { destinationId, postJson } from './common.ts';

/**
 * Slack incoming webhook with Block Kit (api.slack.com/messaging/webhooks; block limits from
 * api.slack.com/reference/block-kit/blocks: ≤ 50 blocks, header text ≤ 150 chars, section text
 * ≤ 3000 chars, context ≤ 10 elements). Responses: 200 `ok`; 400 `invalid_payload`,
 * 403 `invalid_token`, 404 `no_service`, 410 `channel_is_archived`; 429 + Retry-After.
 */
const configSchema = z
  .object({
    type: z.literal('slack'),
    url: z.url(),
    /** Text prepended to the fallback text, e.g. `<!here>` or `<@U123>`. */
    mention: z.string().optional(),
  })
  .strict();
type SlackConfig = z.infer<typeof configSchema>;

export const SLACK_LIMITS = { blocks: 50, header: 150, section: 3000, text: 3000 } as const;

/** Builds the Block Kit payload. */
export function slackPayload(n: Notification, c: SlackConfig, settings: RenderSettings): Record<string, unknown> {
  const title = notificationTitle(n);
  const blocks: Record<string, unknown>[] = [
    { type: 'header', text: { type: 'plain_text', text: truncateChars(title, SLACK_LIMITS.header), emoji: true } },
  ];
  if (n.kind !== 'alert') {
    const body = escapeSlack(n.text ?? '') + (n.link ? `\n<${n.link}|Open the report>` : '');
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: truncateChars(body || ' ', SLACK_LIMITS.section) } });
  } else {
    const parts = notificationParts(n, settings);
    const maxAlerts = Math.floor((SLACK_LIMITS.blocks - 3) / 3);
    for (const p of parts.slice(0, maxAlerts)) {
      const lines = [
        `${p.status === 'firing' ? ':fire:' : ':white_check_mark:'} *[${p.severity.toUpperCase()}] ${escapeSlack(p.rule)}* — \`${escapeSlack(p.entity)}\``,
        escapeSlack(p.headline),
        escapeSlack(p.measure),
        `window: ${escapeSlack(p.window)}`,
        ...p.evidence.map((e) => `• ${escapeSlack(e)}`),
        ...(p.kibana ? [`<${p.kibana}|Open in Kibana>`] : []),
        ...(p.note ? [`_${escapeSlack(p.note)}_`] : []),
      ];
      blocks.push({
        type: 'section',
        text: { type: 'mrkdwn', text: truncateChars(lines.join('\n'), SLACK_LIMITS.section) },
      });
      if (p.status === 'firing')
        blocks.push({
          type: 'context',
          elements: [
            { type: 'mrkdwn', text: truncateChars(`silence: \`${escapeSlack(p.silence)}\``, SLACK_LIMITS.section) },
          ],
        });
      blocks.push({ type: 'divider' });
    }
    const more = parts.length - Math.min(parts.length, maxAlerts);
    const notes = [
      more > 0 ? `…and ${more} more alert(s)` : '',
      n.throttled > 0 ? `${n.throttled} similar alert(s) held back by throttle` : '',
    ]
      .filter(Boolean)
      .join(' · ');
    if (notes) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: notes }] });
  }
  const text = truncateChars(`${c.mention ? `${c.mention} ` : ''}${title}`, SLACK_LIMITS.text);
  return { text, blocks: blocks.slice(0, SLACK_LIMITS.blocks) };
}

export const slackChannel: AlertChannel<SlackConfig> = {
  id: 'slack',
  description: 'Slack incoming webhook, Block Kit message.',
  configSchema,
  example: { type: 'slack', url: 'https://hooks.slack.com/services/T000/B000/XXXX' },
  destination: (c) => destinationId('slack', c.url),
  render: (n, c, s) => ({ channel: 'slack', target: maskUrl(c.url), body: slackPayload(n, c, s) }),
  async send(n, c, ctx) {
    const res = await postJson(ctx, c.url, slackPayload(n, c, ctx.render));
    const out = classifyHttp(res, ctx.now());
    if (out.kind === 'failed') {
      const token = res.body.trim();
      const code = /^[a-z_]{3,64}$/.test(token) ? token : out.code;
      if (res.status === 403 || res.status === 404 || res.status === 410)
        return failed(`slack rejected the webhook: ${token.slice(0, 80)}`, 'auth_rejected');
      return failed(`slack http ${res.status}: ${token.slice(0, 120)}`, code);
    }
    return out;
  },
};
