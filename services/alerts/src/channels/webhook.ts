import { createHmac } from 'node:crypto';
import { z } from 'zod';
import { classifyHttp, maskUrl } from '../http.ts';
import { notificationTitle, plainText } from '../render.ts';
import { utf8Bytes } from '../text.ts';
import type { Notification, RenderSettings } from '../model.ts';
import type { AlertChannel } from './types.ts';
import { destinationId } from './common.ts';

/**
 * Generic JSON webhook signed per the Standard Webhooks spec (standardwebhooks.com,
 * github.com/standard-webhooks/standard-webhooks spec/standard-webhooks.md): headers
 * `webhook-id` (the notification key: identical on every retry, so receivers deduplicate),
 * `webhook-timestamp` (Unix seconds) and `webhook-signature: v1,<base64 HMAC-SHA256(key,
 * "<id>.<timestamp>.<body>")>`. A `whsec_…` secret is base64-decoded to get the key; any other
 * secret is used as UTF-8 bytes. The body is kept ≤ `max_bytes` by dropping alert details.
 */
const configSchema = z
  .object({
    type: z.literal('webhook'),
    url: z.url(),
    secret: z.string().min(16, 'use a secret of at least 16 characters'),
    /** Extra headers (e.g. an API key); treated as secrets: never logged or rendered. */
    headers: z.record(z.string(), z.string()).default({}),
    max_bytes: z
      .number()
      .int()
      .min(1024)
      .default(256 * 1024),
  })
  .strict();
type WebhookConfig = z.infer<typeof configSchema>;

/** Signing key bytes from a secret (`whsec_<base64>` or plain text). */
export function webhookKey(secret: string): Buffer {
  return secret.startsWith('whsec_') ? Buffer.from(secret.slice(6), 'base64') : Buffer.from(secret, 'utf8');
}

/** `v1,<base64 signature>` of `id.timestamp.body`. */
export function signWebhook(secret: string, id: string, timestampS: number, body: string): string {
  return `v1,${createHmac('sha256', webhookKey(secret)).update(`${id}.${timestampS}.${body}`).digest('base64')}`;
}

/** The JSON body (version 1). */
export function webhookBody(n: Notification, s: RenderSettings, maxBytes: number): string {
  const alert = (detail: boolean) => (a: Notification['firing'][number]) => ({
    key: a.key,
    status: a.status,
    labels: a.labels,
    starts_at: new Date(a.startsAt).toISOString(),
    ...(a.endsAt !== undefined ? { ends_at: new Date(a.endsAt).toISOString() } : {}),
    ...(a.mutedWhileFiring ? { muted_while_firing: true } : {}),
    ...(a.endedBeforeNotification ? { ended_before_notification: true } : {}),
    ...(a.escalatedFrom ? { escalated_from: a.escalatedFrom } : {}),
    ...(detail ? { finding: a.finding } : { message: a.finding.message }),
  });
  const build = (detail: boolean, limit: number): string => {
    const all = [...n.firing, ...n.resolved];
    return JSON.stringify({
      version: '1',
      kind: n.kind,
      notification_key: n.key,
      group_key: n.groupKey,
      receiver: n.receiver,
      status: n.status,
      title: notificationTitle(n),
      group_labels: n.groupLabels,
      alerts: all.slice(0, limit).map(alert(detail)),
      truncated_alerts: Math.max(0, all.length - limit),
      throttled: n.throttled,
      text: n.kind === 'alert' ? plainText(n, s) : (n.text ?? ''),
      ...(n.link ? { link: n.link } : {}),
      created_at: new Date(n.createdAt).toISOString(),
    });
  };
  let limit = n.firing.length + n.resolved.length;
  let body = build(true, limit);
  if (utf8Bytes(body) <= maxBytes) return body;
  body = build(false, limit);
  while (utf8Bytes(body) > maxBytes && limit > 0) {
    limit = Math.floor(limit / 2);
    body = build(false, limit);
  }
  return body;
}

export const webhookChannel: AlertChannel<WebhookConfig> = {
  id: 'webhook',
  description: 'Generic JSON webhook signed with HMAC-SHA256 (Standard Webhooks headers).',
  configSchema,
  example: {
    type: 'webhook',
    url: 'https://hooks.example.com/regwatch',
    secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  },
  destination: (c) => destinationId('webhook', c.url),
  render: (n, c, s, now) => ({
    channel: 'webhook',
    target: maskUrl(c.url),
    body: {
      headers: { 'webhook-id': n.key, 'webhook-timestamp': Math.floor(now / 1000), 'webhook-signature': 'v1,<hmac>' },
      json: JSON.parse(webhookBody(n, s, c.max_bytes)) as unknown,
    },
  }),
  async send(n, c, ctx) {
    const body = webhookBody(n, ctx.render, c.max_bytes);
    const ts = Math.floor(ctx.now() / 1000);
    const res = await ctx.http.post(
      c.url,
      body,
      {
        ...c.headers,
        'content-type': 'application/json',
        'webhook-id': n.key,
        'webhook-timestamp': String(ts),
        'webhook-signature': signWebhook(c.secret, n.key, ts, body),
      },
      ctx.signal,
    );
    return classifyHttp(res, ctx.now());
  },
};
