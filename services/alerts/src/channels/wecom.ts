import { z } from 'zod';
import { maskUrl } from '../http.ts';
import { markdown } from '../render.ts';
import { truncateBytes } from '../text.ts';
import type { Notification, RenderSettings } from '../model.ts';
import type { AlertChannel } from './types.ts';
import { classifyBodyCode, destinationId, postJson } from './common.ts';

/**
 * WeCom (企业微信) group robot (developer.work.weixin.qq.com "群机器人配置说明"): `POST
 * https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…` with `{msgtype:"markdown",
 * markdown:{content}}`; content ≤ 4096 bytes of UTF-8. Errors come back as HTTP 200 with
 * `errcode` ≠ 0 (93000 invalid webhook URL, 45009 over the 20-per-minute limit, 40058 too long).
 */
const configSchema = z
  .object({
    type: z.literal('wecom'),
    /** Robot URL including `key`. */
    url: z.url(),
  })
  .strict();
type WeComConfig = z.infer<typeof configSchema>;

export const WECOM_MAX_BYTES = 4096;

function body(n: Notification, s: RenderSettings): Record<string, unknown> {
  return { msgtype: 'markdown', markdown: { content: truncateBytes(markdown(n, s), WECOM_MAX_BYTES) } };
}

export const wecomChannel: AlertChannel<WeComConfig> = {
  id: 'wecom',
  description: 'WeCom group robot, markdown (≤ 4096 bytes).',
  configSchema,
  example: { type: 'wecom', url: 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=xxxx' },
  destination: (c) => destinationId('wecom', c.url),
  render: (n, c, s) => ({ channel: 'wecom', target: maskUrl(c.url), body: body(n, s) }),
  async send(n, c, ctx) {
    const res = await postJson(ctx, c.url, body(n, ctx.render));
    return classifyBodyCode(
      res,
      ctx.now(),
      'errcode',
      'errmsg',
      new Set([45009]),
      new Set([93000, 40001, 40014]),
      60_000,
    );
  },
};
