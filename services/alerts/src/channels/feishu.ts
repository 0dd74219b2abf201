import { createHmac } from 'node:crypto';
import { z } from 'zod';
import { maskUrl } from '../http.ts';
import { markdown, notificationTitle } from '../render.ts';
import { truncateBytes, truncateChars } from '../text.ts';
import type { Notification, RenderSettings } from '../model.ts';
import type { AlertChannel } from './types.ts';
import { classifyBodyCode, destinationId, postJson } from './common.ts';

/**
 * Feishu / Lark custom bot (open.feishu.cn "自定义机器人使用指南"): `POST
 * /open-apis/bot/v2/hook/<token>`; with signature verification the body carries `timestamp`
 * (seconds, string) and `sign` = base64(HMAC-SHA256(key = timestamp+"\n"+secret, message = ""))
 * (note: the key, not the message, holds the text). Errors come back as HTTP 200 with `code` ≠ 0
 * (19021 bad signature or stale timestamp, 19024 IP not allowed, 9499/11232 rate limited).
 * The request body must stay under 20 KB; an interactive card with a markdown element is sent.
 */
const configSchema = z
  .object({
    type: z.literal('feishu'),
    url: z.url(),
    secret: z.string().min(1).optional(),
  })
  .strict();
type FeishuConfig = z.infer<typeof configSchema>;

export const FEISHU_MAX_MARKDOWN_BYTES = 18_000;

/** `sign` for timestamp `tsS` (seconds). */
export function feishuSign(secret: string, tsS: number): string {
  return createHmac('sha256', `${tsS}\n${secret}`).update('').digest('base64');
}

function card(n: Notification, s: RenderSettings): Record<string, unknown> {
  return {
    msg_type: 'interactive',
    card: {
      header: {
        title: { tag: 'plain_text', content: truncateChars(notificationTitle(n), 200) },
        template: n.status === 'firing' ? 'red' : 'green',
      },
      elements: [{ tag: 'markdown', content: truncateBytes(markdown(n, s), FEISHU_MAX_MARKDOWN_BYTES) }],
    },
  };
}

export const feishuChannel: AlertChannel<FeishuConfig> = {
  id: 'feishu',
  description: 'Feishu/Lark custom bot (signed), interactive card.',
  configSchema,
  example: { type: 'feishu', url: 'https://open.feishu.cn/open-apis/bot/v2/hook/xxxx', secret: 'xxxx' },
  destination: (c) => destinationId('feishu', c.url),
  render: (n, c, s) => ({ channel: 'feishu', target: maskUrl(c.url), body: card(n, s) }),
  async send(n, c, ctx) {
    const ts = Math.floor(ctx.now() / 1000);
    const payload = c.secret
      ? { timestamp: String(ts), sign: feishuSign(c.secret, ts), ...card(n, ctx.render) }
      : card(n, ctx.render);
    const res = await postJson(ctx, c.url, payload);
    return classifyBodyCode(
      res,
      ctx.now(),
      'code',
      'msg',
      new Set([9499, 11232]),
      new Set([19021, 19024, 19001]),
      60_000,
    );
  },
};
