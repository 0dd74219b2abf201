/**
 * Source `harbor-cloudevents`: Harbor webhook in CloudEvents 1.0 format (Harbor ≥ 2.8,
 * `Content-Type: application/cloudevents+json`).
 *
 * Shape (FORMATS.md §1c.3, Harbor `src/pkg/notifier/formats/cloudevents.go`): attributes
 * `specversion`, `id` (UUID per message), `source` (`/projects/<pid>/webhook/policies/<id>`),
 * `type` (`harbor.artifact.pulled` …), `time` (RFC 3339, seconds), extensions `requestid`,
 * `operator`; `data` = the Default payload's `event_data`.
 *
 * Mapping: `id` → `event.id` and `oci_registry.event_id`; with several resources the n-th (n ≥ 1)
 * event gets `event.id` = `<id>#<n>` so ids stay unique; `requestid` → `http.request.id`;
 * `source` → `oci_registry.webhook_policy`.
 */
import { z } from 'zod';
import type { JsonSource } from '../sources/types.ts';
import type { NormalizeContext, NormalizeResult } from '../types.ts';
import { reject, timeToUtc } from './build.ts';
import { CLOUDEVENTS_TYPES, HarborEventDataSchema, isHarborEventData, webhookEvents } from './webhook.ts';
import { isObj, nullishStr } from '../common/shape.ts';

export const CloudEventSchema = z.looseObject({
  specversion: z.string(),
  id: z.string().min(1),
  source: z.string().nullish(),
  type: z.string(),
  time: z.string(),
  requestid: z.string().nullish(),
  operator: z.string().nullish(),
  data: HarborEventDataSchema,
});

type CloudEvent = z.infer<typeof CloudEventSchema>;

/** Hot-path stand-in for {@link CloudEventSchema} (accepts a subset of what the schema accepts). */
export function isCloudEvent(v: unknown): v is CloudEvent {
  return (
    isObj(v) &&
    typeof v.specversion === 'string' &&
    typeof v.id === 'string' &&
    v.id.length > 0 &&
    nullishStr(v.source) &&
    typeof v.type === 'string' &&
    typeof v.time === 'string' &&
    nullishStr(v.requestid) &&
    nullishStr(v.operator) &&
    isHarborEventData(v.data)
  );
}

function normalize(obj: Record<string, unknown>, raw: string, ctx: NormalizeContext): NormalizeResult[] {
  const parsed = isCloudEvent(obj) ? { success: true as const, data: obj } : CloudEventSchema.safeParse(obj);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return [
      reject(
        'schema_mismatch',
        `harbor cloudevent: ${issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid payload'}`,
        raw,
      ),
    ];
  }
  const ce = parsed.data;
  const harborType = CLOUDEVENTS_TYPES[ce.type];
  if (!harborType) {
    return [reject('unsupported_event', `harbor cloudevent: unknown type "${ce.type.slice(0, 64)}"`, raw)];
  }
  const timestamp = timeToUtc(ce.time);
  if (!timestamp) return [reject('invalid_timestamp', `harbor cloudevent: time "${ce.time.slice(0, 64)}"`, raw)];
  return webhookEvents(
    {
      harborType,
      timestamp,
      operator: ce.operator ?? '',
      sourceFormat: 'harbor-cloudevents',
      idFor: (_r, index) => (index === 0 ? ce.id : `${ce.id}#${index}`),
      eventId: ce.id,
      ...(ce.requestid ? { requestId: ce.requestid } : {}),
      ...(ce.source ? { policy: ce.source } : {}),
    },
    ce.data,
    raw,
    ctx,
  );
}

/** Harbor CloudEvents webhook source (`event.dataset: harbor.webhook`). */
export const harborCloudEventsSource: JsonSource = {
  id: 'harbor-cloudevents',
  matches: (obj) => 'specversion' in obj && (typeof obj.type !== 'string' || obj.type.startsWith('harbor.')),
  normalize,
};
