import { z } from 'zod';
import { failed, retryable } from '../../../../shared/src/outcome.ts';
import { classifyHttp, maskUrl } from '../http.ts';
import { notificationParts, notificationTitle } from '../render.ts';
import { truncateChars, utf8Bytes } from '../text.ts';
import type { Notification, RenderSettings } from '../model.ts';
import type { AlertChannel } from './types.ts';
import { destinationId, postJson } from './common.ts';

/**
 * Microsoft Teams Workflows webhook (Power Automate "When a Teams webhook request is received"):
 * `{"type":"message","attachments":[{"contentType":"application/vnd.microsoft.card.adaptive",
 * "content":{AdaptiveCard 1.4}}]}` (learn.microsoft.com, "Create incoming webhooks with
 * Workflows"). Teams messages are limited to ~28 KB, so the payload is kept ≤ `max_bytes`
 * (default 28 000) by dropping alerts from the end. The HTTP call can succeed while delivery
 * failed: a 2xx whose body reports an error (e.g. "Microsoft Teams endpoint returned HTTP error
 * 429") is read and classified instead of counted as sent.
 */
const configSchema = z
  .object({
    type: z.literal('teams'),
    url: z.url(),
    max_bytes: z.number().int().min(2000).max(28_000).default(28_000),
  })
  .strict();
type TeamsConfig = z.infer<typeof configSchema>;

const color = (sev: string): string =>
  sev === 'critical' || sev === 'high' ? 'Attention' : sev === 'medium' ? 'Warning' : 'Default';

function card(n: Notification, s: RenderSettings, maxAlerts: number): Record<string, unknown> {
  const body: Record<string, unknown>[] = [
    { type: 'TextBlock', text: truncateChars(notificationTitle(n), 300), weight: 'Bolder', size: 'Medium', wrap: true },
  ];
  const actions: Record<string, unknown>[] = [];
  if (n.kind !== 'alert') {
    body.push({ type: 'TextBlock', text: truncateChars(n.text ?? '', 4000), wrap: true });
    if (n.link) actions.push({ type: 'Action.OpenUrl', title: 'Open the report', url: n.link });
  } else {
    const parts = notificationParts(n, s);
    for (const p of parts.slice(0, maxAlerts)) {
      body.push({
        type: 'Container',
        separator: true,
        items: [
          {
            type: 'TextBlock',
            text: truncateChars(
              `${p.status === 'firing' ? '🔥' : '✅'} [${p.severity.toUpperCase()}] ${p.rule} — ${p.entity}`,
              300,
            ),
            weight: 'Bolder',
            color: color(p.severity),
            wrap: true,
          },
          { type: 'TextBlock', text: truncateChars(p.headline, 1000), wrap: true },
          {
            type: 'FactSet',
            facts: [
              { title: 'Actual vs typical', value: p.measure },
              { title: 'Window', value: p.window },
              ...p.evidence.map((e) => ({
                title: e.slice(0, e.indexOf(':')),
                value: truncateChars(e.slice(e.indexOf(':') + 1).trim(), 500),
              })),
            ],
          },
          ...(p.kibana ? [{ type: 'TextBlock', text: `[Open in Kibana](${p.kibana})`, wrap: true }] : []),
          ...(p.status === 'firing'
            ? [
                {
                  type: 'TextBlock',
                  text: truncateChars(`Silence: ${p.silence}`, 600),
                  isSubtle: true,
                  size: 'Small',
                  wrap: true,
                },
              ]
            : []),
          ...(p.note ? [{ type: 'TextBlock', text: p.note, isSubtle: true, wrap: true }] : []),
        ],
      });
    }
    const more = parts.length - Math.min(parts.length, maxAlerts);
    if (more > 0) body.push({ type: 'TextBlock', text: `…and ${more} more alert(s)`, isSubtle: true, wrap: true });
    if (n.throttled > 0)
      body.push({
        type: 'TextBlock',
        text: `${n.throttled} similar alert(s) held back by throttle`,
        isSubtle: true,
        wrap: true,
      });
  }
  return {
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          msteams: { width: 'Full' },
          body,
          actions,
        },
      },
    ],
  };
}

/** The Teams payload, at most `maxBytes` of UTF-8 JSON (alerts dropped from the end, "…and N more" added). */
export function teamsPayload(n: Notification, s: RenderSettings, maxBytes: number): Record<string, unknown> {
  let count = n.firing.length + n.resolved.length;
  let p = card(n, s, count);
  while (count > 0 && utf8Bytes(JSON.stringify(p)) > maxBytes) {
    count = count > 8 ? Math.floor(count * 0.75) : count - 1;
    p = card(n, s, count);
  }
  return p;
}

export const teamsChannel: AlertChannel<TeamsConfig> = {
  id: 'teams',
  description: 'Microsoft Teams Workflows webhook, Adaptive Card (≤ 28 KB).',
  configSchema,
  example: {
    type: 'teams',
    url: 'https://prod-00.westeurope.logic.azure.com/workflows/xxx/triggers/manual/paths/invoke?sig=xxx',
  },
  destination: (c) => destinationId('teams', c.url),
  render: (n, c, s) => ({ channel: 'teams', target: maskUrl(c.url), body: teamsPayload(n, s, c.max_bytes) }),
  async send(n, c, ctx) {
    const res = await postJson(ctx, c.url, teamsPayload(n, ctx.render, c.max_bytes));
    const out = classifyHttp(res, ctx.now());
    if (out.kind !== 'ok') {
      if (res.status === 413) return failed('teams: payload too large', 'payload_too_large');
      return out;
    }
    // Errors inside a 2xx (the connector/flow reports the downstream failure in the body).
    const m = /(?:error|failed)[^\n]*?(?:HTTP error|status(?: code)?)\s*(\d{3})/i.exec(res.body);
    if (m) {
      const inner = Number(m[1]);
      const msg = `teams accepted the request but reported: ${res.body.slice(0, 160).replace(/\s+/g, ' ')}`;
      if (inner === 429 || inner >= 500)
        return retryable(msg, undefined, inner === 429 ? 'rate_limited' : `inner_http_${inner}`);
      if (inner === 413) return failed(msg, 'payload_too_large');
      return failed(msg, `inner_http_${inner}`);
    }
    if (/\b(error|failed)\b/i.test(res.body) && !/^\s*1\s*$/.test(res.body))
      return failed(`teams reported: ${res.body.slice(0, 160)}`, 'body_error');
    return out;
  },
};
