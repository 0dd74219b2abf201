/**
 * Source `harbor-default`: Harbor webhook, Default payload format (`Content-Type: application/json`).
 *
 * Shape (FORMATS.md §1c.2, Harbor `src/pkg/notifier/model/event.go`, `formats/default.go`):
 * `{type, occur_at (Unix seconds), operator ("" = anonymous), event_data{resources[], repository, …}}`.
 * The Default format has no event id, so `event.id` = stableId(type, occur_at, operator,
 * repo_full_name, digest, tag) (FORMATS.md "Dedupe and correlation keys"), which is also unique per
 * resource because digest/tag are part of it. One event per resource (see ./webhook.ts).
 */
import { z } from 'zod';
import type { JsonSource } from '../sources/types.ts';
import type { NormalizeContext, NormalizeResult } from '../types.ts';
import { stableId } from '../common/hash.ts';
import { reject, unixSecondsToIso } from './build.ts';
import { HARBOR_WEBHOOK_TYPES, HarborEventDataSchema, isHarborEventData, webhookEvents } from './webhook.ts';
import { isObj } from '../common/shape.ts';

export const DefaultPayloadSchema = z.looseObject({
  type: z.string(),
  occur_at: z.number(),
  operator: z.string().nullish(),
  event_data: HarborEventDataSchema,
});

type DefaultPayload = z.infer<typeof DefaultPayloadSchema>;

/** Hot-path stand-in for {@link DefaultPayloadSchema} (accepts a subset of what the schema accepts). */
export function isDefaultPayload(v: unknown): v is DefaultPayload {
  return (
    isObj(v) &&
    typeof v.type === 'string' &&
    typeof v.occur_at === 'number' &&
    Number.isFinite(v.occur_at) &&
    (v.operator === undefined || v.operator === null || typeof v.operator === 'string') &&
    isHarborEventData(v.event_data)
  );
}

function normalize(obj: Record<string, unknown>, raw: string, ctx: NormalizeContext): NormalizeResult[] {
  const parsed = isDefaultPayload(obj) ? { success: true as const, data: obj } : DefaultPayloadSchema.safeParse(obj);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return [
      reject(
        'schema_mismatch',
        `harbor webhook: ${issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid payload'}`,
        raw,
      ),
    ];
  }
  const p = parsed.data;
  if (!HARBOR_WEBHOOK_TYPES[p.type]) {
    return [reject('unsupported_event', `harbor webhook: unknown event type "${p.type.slice(0, 64)}"`, raw)];
  }
  const timestamp = unixSecondsToIso(p.occur_at);
  if (!timestamp) {
    return [reject('invalid_timestamp', `harbor webhook: occur_at ${p.occur_at} is not plausible Unix seconds`, raw)];
  }
  const operator = p.operator ?? '';
  const repoFullName = p.event_data.repository?.repo_full_name ?? undefined;
  return webhookEvents(
    {
      harborType: p.type,
      timestamp,
      operator,
      sourceFormat: 'harbor-default',
      idFor: (resource) =>
        stableId(p.type, p.occur_at, operator, repoFullName, resource?.digest ?? undefined, resource?.tag ?? undefined),
    },
    p.event_data,
    raw,
    ctx,
  );
}

/** Harbor Default-format webhook source (`event.dataset: harbor.webhook`). */
export const harborDefaultSource: JsonSource = {
  id: 'harbor-default',
  matches: (obj) => 'occur_at' in obj && 'event_data' in obj && 'type' in obj,
  normalize,
};
