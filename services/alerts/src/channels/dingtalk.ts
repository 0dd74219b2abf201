import { createHmac } from 'node:crypto';
import { z } from 'zod';
import { maskUrl } from '../http.ts';
import { markdown, notificationTitle } from '../render.ts';
import { truncateBytes, truncateChars } from '../text.ts';
import type { Notification, RenderSettings } from '../model.ts';
import type { AlertChannel } from './types.ts';
import { classifyBodyCode, destinationId, postJson } from './common.ts';

/**
 * DingTalk custom robot (open.dingtalk.com "自定义机器人发送群消息"): `POST
 * https://oapi.dingtalk.com/robot/send?access_token=…&timestamp=<ms>&sign=<urlencoded
 * base64(HMAC-SHA256(key=secret, msg=timestamp+"\n"+secret))>` with a markdown body. Errors
 * come back as HTTP 200 with `errcode` ≠ 0 (310000 sign not match / keyword missing, 300001
 * bad token, 130101 sending too fast — 20 messages a minute). Message text ≤ 20 000 bytes.
 */
const configSchema = z
  .object({
    type: z.literal('dingtalk'),
    /** Robot URL including `access_token`. */
    url: z.url(),
    /** `SEC…` signing secret (security setting "加签"). */
    secret: z.string().min(1).optional(),
  })
  .strict();
type DingTalkConfig = z.infer<typeof configSchema>;

export const DINGTALK_MAX_BYTES = 20_000;

/** `sign` query value for timestamp `tsMs`. */
export function dingtalkSign(secret: string, tsMs: number): string {
  return createHmac('sha256', secret).update(`${tsMs}\n${secret}`).digest('base64');
}

function body(n: Notification, s: RenderSettings): Record<string, unknown> {
  return {
    msgtype: 'markdown',
    markdown: {
      title: truncateChars(notificationTitle(n), 100),
      text: truncateBytes(markdown(n, s), DINGTALK_MAX_BYTES),
    },
  };
}

export const dingtalkChannel: AlertChannel<DingTalkConfig> = {
  id: 'dingtalk',
  description: 'DingTalk custom robot (signed), markdown.',
  configSchema,
  example: { type: 'dingtalk', url: 'https://oapi.dingtalk.com/robot/send?access_token=xxxx', secret: 'SECxxxx' },
  destination: (c) => destinationId('dingtalk', c.url),
  render: (n, c, s) => ({ channel: 'dingtalk', target: maskUrl(c.url), body: body(n, s) }),
  async send(n, c, ctx) {
    const url = new URL(c.url);
    if (c.secret) {
      const ts = ctx.now();
      url.searchParams.set('timestamp', String(ts));
      url.searchParams.set('sign', dingtalkSign(c.secret, ts));
    }
    const res = await postJson(ctx, url.toString(), body(n, ctx.render));
    return classifyBodyCode(
      res,
      ctx.now(),
      'errcode',
      'errmsg',
      new Set([130101]),
      new Set([310000, 300001, 400101]),
      60_000,
    );
  },
};
