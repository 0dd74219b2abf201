/**
 * Source `quay-api`: Quay logs API (`GET /api/v1/{user|organization/<o>|repository/<r>}/logs`).
 *
 * Shape (FORMATS.md §1d "Quay", Red Hat Quay 3.15 docs "Viewing detailed logs"; sample 37): a page
 * `{start_time, end_time, logs: [entry…], next_page?}` or a single entry
 * `{kind, metadata{…}, ip, datetime ("Tue, 18 Jun 2024 18:59:13 -0000"), performer{kind, name, is_robot}}`.
 * A page gives one result per entry. API entries carry no id, so `event.id` =
 * stableId(kind, datetime, ip, performer, metadata JSON). `event.dataset: quay.audit`.
 */
import { z } from 'zod';
import { stableId } from '../common/hash.ts';
import type { JsonSource } from '../sources/types.ts';
import type { NormalizeContext, NormalizeResult } from '../types.ts';
import { reject, timeToUtc } from '../harbor/build.ts';
import { quayEvent } from './quay.ts';
import { isObj, nullishBool, nullishRecord, nullishStr } from '../common/shape.ts';

export const EntrySchema = z.looseObject({
  kind: z.string().min(1),
  metadata: z.record(z.string(), z.unknown()).nullish(),
  ip: z.string().nullish(),
  datetime: z.string(),
  performer: z
    .looseObject({ kind: z.string().nullish(), name: z.string().nullish(), is_robot: z.boolean().nullish() })
    .nullish(),
});

function issueText(err: z.ZodError): string {
  const i = err.issues[0];
  return i ? `${i.path.join('.') || '(root)'}: ${i.message}` : 'invalid entry';
}

type Entry = z.infer<typeof EntrySchema>;

/** Hot-path stand-in for {@link EntrySchema} (accepts a subset of what the schema accepts). */
export function isQuayApiEntry(v: unknown): v is Entry {
  if (!isObj(v) || typeof v.kind !== 'string' || v.kind.length === 0) return false;
  if (!nullishRecord(v.metadata) || !nullishStr(v.ip) || typeof v.datetime !== 'string') return false;
  const p = v.performer;
  return (
    p === undefined || p === null || (isObj(p) && nullishStr(p.kind) && nullishStr(p.name) && nullishBool(p.is_robot))
  );
}

function normalizeEntry(obj: unknown, raw: string, ctx: NormalizeContext): NormalizeResult {
  const parsed = isQuayApiEntry(obj) ? { success: true as const, data: obj } : EntrySchema.safeParse(obj);
  if (!parsed.success) return reject('schema_mismatch', `quay log entry: ${issueText(parsed.error)}`, raw);
  const e = parsed.data;
  const timestamp = timeToUtc(e.datetime);
  if (!timestamp) return reject('invalid_timestamp', `quay log entry: datetime "${e.datetime.slice(0, 64)}"`, raw);
  const metadata = e.metadata ?? {};
  const performerName = e.performer?.name ?? undefined;
  return quayEvent(
    {
      kind: e.kind,
      metadata,
      ...(e.ip ? { ip: e.ip } : {}),
      timestamp,
      originalTimestamp: e.datetime,
      ...(performerName ? { performerName } : {}),
      ...(typeof e.performer?.is_robot === 'boolean' ? { performerIsRobot: e.performer.is_robot } : {}),
      eventId: stableId(e.kind, e.datetime, e.ip ?? undefined, performerName, JSON.stringify(metadata)),
      sourceFormat: 'quay-api',
    },
    raw,
    ctx,
  );
}

function normalize(obj: Record<string, unknown>, raw: string, ctx: NormalizeContext): NormalizeResult[] {
  if ('logs' in obj) {
    if (!Array.isArray(obj.logs)) return [reject('schema_mismatch', 'quay logs page: "logs" is not an array', raw)];
    return obj.logs.map((entry) => normalizeEntry(entry, JSON.stringify(entry), ctx));
  }
  return [normalizeEntry(obj, raw, ctx)];
}

/** Quay logs API source (pages or single entries; `event.dataset: quay.audit`). */
export const quayApiSource: JsonSource = {
  id: 'quay-api',
  matches: (obj) =>
    ('logs' in obj && 'start_time' in obj) ||
    ('kind' in obj && 'datetime' in obj && ('performer' in obj || 'metadata' in obj)),
  normalize,
};
