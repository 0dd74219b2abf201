import { z } from 'zod';
import { failed } from '../../../../shared/src/outcome.ts';
import { classifyHttp } from '../http.ts';
import { notificationParts, notificationTitle } from '../render.ts';
import { truncateChars } from '../text.ts';
import type { Notification, RenderSettings } from '../model.ts';
import type { AlertChannel } from './types.ts';
import { destinationId, jsonBody, postJson } from './common.ts';

/**
 * PagerDuty Events API v2 (developer.pagerduty.com/docs/events-api-v2/trigger-events/):
 * `POST /v2/enqueue` with `routing_key`, `event_action` (`trigger` | `resolve`), `dedup_key`
 * (the group key, so repeats and retries update one incident and the resolve closes it),
 * `payload.{summary ≤ 1024 chars, source, severity critical|error|warning|info, timestamp,
 * component, group, class, custom_details}`. Responses: 202 `{status:"success"}`, 400
 * `{status:"invalid event", errors:[…]}`, 429 (throttled), 5xx.
 */
const configSchema = z
  .object({
    type: z.literal('pagerduty'),
    routing_key: z.string().min(20, 'a PagerDuty integration (routing) key'),
    url: z.url().default('https://events.pagerduty.com/v2/enqueue'),
  })
  .strict();
type PagerDutyConfig = z.infer<typeof configSchema>;

const PD_SEVERITY: Readonly<Record<string, string>> = {
  critical: 'critical',
  high: 'error',
  medium: 'warning',
  low: 'warning',
  info: 'info',
};

/** The event body (routing_key included — callers must not log it). */
export function pagerdutyEvent(n: Notification, c: PagerDutyConfig, s: RenderSettings): Record<string, unknown> {
  if (n.status === 'resolved') return { routing_key: c.routing_key, event_action: 'resolve', dedup_key: n.groupKey };
  const parts = notificationParts(n, s);
  const top = n.firing[0];
  const links = [...new Set(n.firing.map((a) => a.finding.links.discover).filter((l): l is string => !!l))].slice(0, 5);
  return {
    routing_key: c.routing_key,
    event_action: 'trigger',
    dedup_key: n.groupKey,
    client: 'regwatch',
    payload: {
      summary: truncateChars(`${notificationTitle(n)}: ${top?.finding.message ?? ''}`, 1024),
      source: top ? `${top.finding.entity.type}:${top.finding.entity.id}` : 'regwatch',
      severity: PD_SEVERITY[top?.finding.severity ?? 'info'] ?? 'info',
      timestamp: new Date(top ? Date.parse(top.finding.detected_at) : n.createdAt).toISOString(),
      component: top?.finding.rule,
      group: top?.finding.entity.type,
      class: top?.finding.rule,
      custom_details: {
        alerts: parts.slice(0, 20).map((p) => ({
          status: p.status,
          severity: p.severity,
          entity: p.entity,
          what: p.headline,
          measure: p.measure,
          window: p.window,
          evidence: p.evidence,
          silence: p.silence,
        })),
        more_alerts: Math.max(0, parts.length - 20),
      },
    },
    links: links.map((href) => ({ href, text: 'Kibana' })),
  };
}

export const pagerdutyChannel: AlertChannel<PagerDutyConfig> = {
  id: 'pagerduty',
  description: 'PagerDuty Events API v2: trigger / resolve with dedup_key = group key.',
  configSchema,
  example: { type: 'pagerduty', routing_key: 'R0123456789ABCDEF0123456789ABCDE' },
  destination: (c) => destinationId('pagerduty', c.routing_key),
  render: (n, c, s) => ({
    channel: 'pagerduty',
    target: c.url,
    body: { ...pagerdutyEvent(n, c, s), routing_key: '***' },
  }),
  async send(n, c, ctx) {
    const res = await postJson(ctx, c.url, pagerdutyEvent(n, c, ctx.render));
    const out = classifyHttp(res, ctx.now());
    if (out.kind === 'failed' && res.status === 400) {
      const errs = jsonBody(res)?.['errors'];
      const text = Array.isArray(errs) ? errs.join('; ') : res.body.slice(0, 200);
      return failed(
        `pagerduty invalid event: ${text}`,
        /routing|integration key/i.test(text) ? 'auth_rejected' : 'invalid_event',
      );
    }
    return out;
  },
};
