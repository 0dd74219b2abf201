import { z } from 'zod';
import { retryable } from '../../../../shared/src/outcome.ts';
import { classifyHttp, maskUrl } from '../http.ts';
import { markdown } from '../render.ts';
import { truncateChars } from '../text.ts';
import type { Notification, RenderSettings } from '../model.ts';
import type { AlertChannel } from './types.ts';
import { destinationId, postJson } from './common.ts';

/**
 * Mattermost incoming webhook (developers.mattermost.com/integrate/webhooks/incoming): JSON
 * `{text, username?, channel?}`, Markdown text. A post holds at most 16 383 characters (server
 * `MaxPostSize` default). Rate limiting answers 429 with `X-Ratelimit-Reset` (seconds).
 */
const configSchema = z
  .object({
    type: z.literal('mattermost'),
    url: z.url(),
    channel: z.string().optional(),
    username: z.string().default('regwatch'),
  })
  .strict();
type MattermostConfig = z.infer<typeof configSchema>;

export const MATTERMOST_MAX_CHARS = 16_383;

function payload(n: Notification, c: MattermostConfig, s: RenderSettings): Record<string, unknown> {
  return {
    text: truncateChars(markdown(n, s), MATTERMOST_MAX_CHARS),
    username: c.username,
    ...(c.channel ? { channel: c.channel } : {}),
  };
}

export const mattermostChannel: AlertChannel<MattermostConfig> = {
  id: 'mattermost',
  description: 'Mattermost incoming webhook (Markdown).',
  configSchema,
  example: { type: 'mattermost', url: 'https://mattermost.example.com/hooks/xxxxxxxx' },
  destination: (c) => destinationId('mattermost', c.url),
  render: (n, c, s) => ({ channel: 'mattermost', target: maskUrl(c.url), body: payload(n, c, s) }),
  async send(n, c, ctx) {
    const res = await postJson(ctx, c.url, payload(n, c, ctx.render));
    const out = classifyHttp(res, ctx.now());
    if (out.kind === 'retryable' && out.retryAfterMs === undefined && res.headers['x-ratelimit-reset'] !== undefined) {
      const s = Number(res.headers['x-ratelimit-reset']);
      if (Number.isFinite(s)) return retryable(out.error, s * 1000, out.code);
    }
    return out;
  },
};
