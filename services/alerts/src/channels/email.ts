import { readFileSync } from 'node:fs';
import { createTransport, type Transporter } from 'nodemailer';
import { z } from 'zod';
import { failed, ok, retryable, type Outcome } from '../../../../shared/src/outcome.ts';
import { notificationParts, notificationTitle, plainText } from '../render.ts';
import { escapeHtml } from '../text.ts';
import type { Notification, RenderSettings } from '../model.ts';
import type { AlertChannel } from './types.ts';
import { destinationId } from './common.ts';

/**
 * Email through SMTP with nodemailer (nodemailer.com/smtp): HTML + plain-text parts, inline
 * images for reports (`cid:`). TLS: `secure: true` is implicit TLS (port 465); otherwise
 * `require_tls` (default true) makes STARTTLS mandatory — a server that does not offer it fails
 * the attempt before any message data is sent (permanent `smtp_starttls_unavailable`, C28).
 * Plaintext is used only when `require_tls: false` is set explicitly.
 */
const configSchema = z
  .object({
    type: z.literal('email'),
    to: z.array(z.email()).min(1),
    from: z.email(),
    host: z.string().min(1),
    port: z.number().int().min(1).max(65535).default(587),
    secure: z.boolean().default(false),
    require_tls: z.boolean().default(true),
    auth: z
      .object({ user: z.string().min(1), pass: z.string().min(1) })
      .strict()
      .optional(),
    tls_reject_unauthorized: z.boolean().default(true),
    /** PEM file of the CA that signed the server certificate. */
    ca_file: z.string().optional(),
    subject_prefix: z.string().default('[regwatch] '),
    timeout_ms: z.number().int().positive().default(15_000),
  })
  .strict();
type EmailConfig = z.infer<typeof configSchema>;

const transports = new WeakMap<EmailConfig, Transporter>();

function transportFor(c: EmailConfig): Transporter {
  let t = transports.get(c);
  if (!t) {
    t = createTransport({
      host: c.host,
      port: c.port,
      secure: c.secure,
      requireTLS: !c.secure && c.require_tls,
      ignoreTLS: false,
      ...(c.auth ? { auth: { user: c.auth.user, pass: c.auth.pass } } : {}),
      tls: { rejectUnauthorized: c.tls_reject_unauthorized, ...(c.ca_file ? { ca: readFileSync(c.ca_file) } : {}) },
      connectionTimeout: c.timeout_ms,
      greetingTimeout: c.timeout_ms,
      socketTimeout: c.timeout_ms,
      disableFileAccess: true,
      disableUrlAccess: true,
    });
    transports.set(c, t);
  }
  return t;
}

/** HTML body (every value escaped). */
export function emailHtml(n: Notification, s: RenderSettings): string {
  const title = escapeHtml(notificationTitle(n));
  if (n.kind !== 'alert') {
    const img = (n.attachments ?? []).filter((a) => a.cid && a.contentType.startsWith('image/'));
    return `<!doctype html><html><body style="font-family:sans-serif"><h2>${title}</h2>${n.html ?? `<pre>${escapeHtml(n.text ?? '')}</pre>`}${img
      .map(
        (a) =>
          `<p><img src="cid:${escapeHtml(a.cid ?? '')}" alt="${escapeHtml(a.filename)}" style="max-width:100%"></p>`,
      )
      .join('')}${n.link ? `<p><a href="${escapeHtml(n.link)}">Open the report</a></p>` : ''}</body></html>`;
  }
  const rows = notificationParts(n, s)
    .map((p) => {
      const color =
        p.status === 'resolved'
          ? '#2e7d32'
          : p.severity === 'critical' || p.severity === 'high'
            ? '#c62828'
            : '#ef6c00';
      return `<tr><td style="border-left:4px solid ${color};padding:8px 12px">
<div style="font-weight:bold">${p.status === 'firing' ? 'FIRING' : 'RESOLVED'} · ${escapeHtml(p.severity.toUpperCase())} · ${escapeHtml(p.rule)} · <code>${escapeHtml(p.entity)}</code></div>
<div>${escapeHtml(p.headline)}</div>
<div>${escapeHtml(p.measure)}</div>
<div>Window: ${escapeHtml(p.window)}</div>
${p.evidence.map((e) => `<div style="color:#555">${escapeHtml(e)}</div>`).join('\n')}
${p.kibana ? `<div><a href="${escapeHtml(p.kibana)}">Open in Kibana</a></div>` : ''}
${p.note ? `<div><em>${escapeHtml(p.note)}</em></div>` : ''}
${p.status === 'firing' ? `<div style="color:#777;font-size:small">Silence: <code>${escapeHtml(p.silence)}</code></div>` : ''}
</td></tr>`;
    })
    .join('\n');
  const throttled =
    n.throttled > 0
      ? `<p style="color:#777">${n.throttled} similar alert(s) held back by the per-key throttle.</p>`
      : '';
  return `<!doctype html><html><body style="font-family:sans-serif"><h2>${title}</h2><table style="border-collapse:collapse">${rows}</table>${throttled}</body></html>`;
}

/** Maps a nodemailer error to an Outcome (codes from nodemailer's errors.js). */
export function classifySmtpError(err: unknown, host: string): Outcome {
  const e = err as { code?: string; command?: string; responseCode?: number; message?: string } | null;
  const code = e?.code ?? '';
  const msg = (e?.message ?? 'smtp error').replace(/\s+/g, ' ').slice(0, 200);
  if (code === 'ETLS' && e?.command === 'STARTTLS')
    return failed(
      `${host}: STARTTLS is required but the server does not offer it (${msg})`,
      'smtp_starttls_unavailable',
    );
  if (code === 'ETLS' || /certificate|self.signed|wrong version number|SSL routines/i.test(msg))
    return failed(`${host}: TLS failed (${msg})`, 'smtp_tls_failed');
  if (code === 'EAUTH' || code === 'ENOAUTH') return failed(`${host}: authentication failed`, 'smtp_auth_failed');
  if (typeof e?.responseCode === 'number') {
    if (e.responseCode >= 400 && e.responseCode < 500)
      return retryable(`${host}: ${msg}`, undefined, `smtp_${e.responseCode}`);
    if (e.responseCode >= 500) return failed(`${host}: ${msg}`, `smtp_${e.responseCode}`);
  }
  if (['ECONNECTION', 'ETIMEDOUT', 'ESOCKET', 'EDNS', 'ECONNREFUSED', 'ECONNRESET'].includes(code))
    return retryable(`${host}: ${msg}`, undefined, 'smtp_connection');
  return retryable(`${host}: ${msg}`, undefined, 'smtp_error');
}

function mail(n: Notification, c: EmailConfig, s: RenderSettings): Record<string, unknown> {
  return {
    from: c.from,
    to: c.to,
    subject: `${c.subject_prefix}${notificationTitle(n)}`.replace(/[\r\n]+/g, ' '),
    text: plainText(n, s),
    html: emailHtml(n, s),
    headers: { 'X-Regwatch-Notification': n.key },
    attachments: (n.attachments ?? []).map((a) => ({
      filename: a.filename,
      contentType: a.contentType,
      content: a.content,
      ...(a.cid ? { cid: a.cid } : {}),
    })),
  };
}

export const emailChannel: AlertChannel<EmailConfig> = {
  id: 'email',
  description: 'Email via SMTP (nodemailer): HTML + text, STARTTLS required by default.',
  configSchema,
  example: {
    type: 'email',
    to: ['secops@example.com'],
    from: 'regwatch@example.com',
    host: 'smtp.example.com',
    port: 587,
  },
  destination: (c) => destinationId('email', `${c.host}:${c.port}/${c.to.join(',')}`),
  render: (n, c, s) => {
    const m = mail(n, c, s);
    return {
      channel: 'email',
      target: `smtp://${c.host}:${c.port}`,
      body: { ...m, attachments: (n.attachments ?? []).map((a) => a.filename) },
    };
  },
  async send(n, c, ctx) {
    try {
      await transportFor(c).sendMail(mail(n, c, ctx.render));
      return ok();
    } catch (err) {
      return classifySmtpError(err, `${c.host}:${c.port}`);
    }
  },
};
