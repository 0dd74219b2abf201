import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { failed, ok, retryable, type Outcome } from '../../../../shared/src/outcome.ts';
import { classifyHttp, type HttpResponse } from '../http.ts';
import { notificationParts, notificationTitle } from '../render.ts';
import { escapeHtml, truncateChars } from '../text.ts';
import type { Attachment, Notification, RenderSettings } from '../model.ts';
import type { AlertChannel, ChannelContext } from './types.ts';
import { destinationId, jsonBody, postJson } from './common.ts';

/**
 * Telegram Bot API `sendMessage` (core.telegram.org/bots/api#sendmessage): `POST
 * /bot<token>/sendMessage` with `chat_id`, `text` (1–4096 characters after entity parsing),
 * `parse_mode: HTML`. Answers `{ok:true,…}` or `{ok:false, error_code, description,
 * parameters:{retry_after}}` — 429 carries the wait in `parameters.retry_after` (seconds).
 * The message is built from whole HTML fragments so truncation never cuts inside a tag or a character.
 */
const configSchema = z
  .object({
    type: z.literal('telegram'),
    bot_token: z.string().regex(/^\d+:[A-Za-z0-9_-]{20,}$/, 'a bot token such as 123456:ABC-DEF…'),
    chat_id: z.union([z.string().min(1), z.number().int()]),
    api_url: z.url().default('https://api.telegram.org'),
  })
  .strict();
type TelegramConfig = z.infer<typeof configSchema>;

export const TELEGRAM_MAX_CHARS = 4096;

/** HTML text of the message, ≤ 4096 characters, made of whole fragments. */
export function telegramText(n: Notification, s: RenderSettings): string {
  const head = `<b>${escapeHtml(truncateChars(notificationTitle(n), 300))}</b>`;
  if (n.kind !== 'alert')
    return truncateChars(
      `${head}\n\n${escapeHtml(n.text ?? '')}${n.link ? `\n\n${escapeHtml(n.link)}` : ''}`,
      TELEGRAM_MAX_CHARS,
    );
  const frags: string[] = [];
  for (const p of notificationParts(n, s)) {
    const lines = [
      `${p.status === 'firing' ? '🔥' : '✅'} <b>[${p.severity.toUpperCase()}] ${escapeHtml(p.rule)}</b> — <code>${escapeHtml(p.entity)}</code>`,
      escapeHtml(truncateChars(p.headline, 600)),
      escapeHtml(p.measure),
      `window: ${escapeHtml(p.window)}`,
      ...p.evidence.map((e) => escapeHtml(truncateChars(e, 300))),
      ...(p.kibana ? [`<a href="${escapeHtml(p.kibana)}">Open in Kibana</a>`] : []),
      ...(p.status === 'firing' ? [`silence: <code>${escapeHtml(p.silence)}</code>`] : []),
    ];
    frags.push(lines.join('\n'));
  }
  let text = head;
  let used = 0;
  for (const f of frags) {
    const tail = `\n\n…and ${frags.length - used - 1} more`;
    if (text.length + 2 + f.length + tail.length > TELEGRAM_MAX_CHARS) {
      text += `\n\n…and ${frags.length - used} more`;
      return text;
    }
    text += `\n\n${f}`;
    used++;
  }
  return text;
}

export const telegramChannel: AlertChannel<TelegramConfig> = {
  id: 'telegram',
  description: 'Telegram bot sendMessage (HTML).',
  configSchema,
  example: { type: 'telegram', bot_token: '123456789:AAEXAMPLEexampleEXAMPLEexample', chat_id: '-1001234567890' },
  destination: (c) => destinationId('telegram', `${c.bot_token}/${c.chat_id}`),
  render: (n, c, s) => ({
    channel: 'telegram',
    target: `${c.api_url}/bot***/sendMessage`,
    body: { chat_id: c.chat_id, text: telegramText(n, s), parse_mode: 'HTML' },
  }),
  async send(n, c, ctx) {
    const image = n.attachments?.find((a) => a.contentType.startsWith('image/'));
    if (image) return sendPhoto(n, c, ctx, image);
    const res = await postJson(ctx, `${c.api_url}/bot${c.bot_token}/sendMessage`, {
      chat_id: c.chat_id,
      text: telegramText(n, ctx.render),
      parse_mode: 'HTML',
      link_preview_options: { is_disabled: true },
    });
    return classifyTelegram(res, ctx.now());
  },
};

/** Maps a Bot API answer to an Outcome (429 `parameters.retry_after`, 401/404 bad token, 403 chat forbidden). */
function classifyTelegram(res: HttpResponse, now: number): Outcome {
  {
    const body = jsonBody(res);
    const desc = String(body?.['description'] ?? '').slice(0, 200);
    if (res.status === 429 || body?.['error_code'] === 429) {
      const params = body?.['parameters'] as { retry_after?: unknown } | undefined;
      const s = Number(params?.retry_after);
      return retryable(`telegram rate limited: ${desc}`, Number.isFinite(s) ? s * 1000 : undefined, 'rate_limited');
    }
    if (res.status === 401 || res.status === 404)
      return failed(`telegram rejected the bot token: ${desc}`, 'auth_rejected');
    if (res.status === 403) return failed(`telegram: ${desc}`, 'chat_forbidden');
    const out = classifyHttp(res, now);
    if (out.kind !== 'ok') return res.status === 400 ? failed(`telegram: ${desc}`, 'bad_request') : out;
    return body?.['ok'] === true ? ok() : failed(`telegram answered ok=false: ${desc}`, 'bad_response');
  }
}

/** Telegram caption limit (sendPhoto `caption`, 0–1024 characters). */
export const TELEGRAM_MAX_CAPTION = 1024;

/** `sendPhoto` as multipart/form-data (RFC 7578): chat_id, caption, photo (the chart). */
async function sendPhoto(n: Notification, c: TelegramConfig, ctx: ChannelContext, image: Attachment): Promise<Outcome> {
  const boundary = `regwatch${randomBytes(12).toString('hex')}`;
  const caption = truncateChars(`${notificationTitle(n)}${n.link ? `\n${n.link}` : ''}`, TELEGRAM_MAX_CAPTION);
  const field = (name: string, value: string): string =>
    `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
  const body = Buffer.concat([
    Buffer.from(field('chat_id', String(c.chat_id)) + field('caption', caption)),
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="photo"; filename="${image.filename.replace(/["\r\n]/g, '_')}"\r\nContent-Type: ${image.contentType}\r\n\r\n`,
    ),
    image.content,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  const res = await ctx.http.post(
    `${c.api_url}/bot${c.bot_token}/sendPhoto`,
    body,
    { 'content-type': `multipart/form-data; boundary=${boundary}` },
    ctx.signal,
  );
  return classifyTelegram(res, ctx.now());
}
