/**
 * Source `harbor-audit-api`: one Harbor audit record as returned by the REST API
 * (a list body is a JSON array; `normalizePayload` gives each element to this source).
 *
 * Shapes (FORMATS.md §1c.5, Harbor `api/v2.0/swagger.yaml`):
 *  - `/api/v2.0/auditlog-exts` (v2.13+): `id, username, resource, resource_type, operation,
 *    operation_description, operation_result (bool), op_time`
 *  - `/api/v2.0/audit-logs` (legacy): `id, username, resource, resource_type, operation, op_time`
 *  - Harbor 1.x `logs`: `log_id, username, repo_name, repo_tag, operation, op_time`
 * `event.id` = `<ctx.harborHost ?? "harbor">/<id>`; `event.dataset: harbor.audit`.
 */
import { z } from 'zod';
import type { JsonSource } from '../sources/types.ts';
import type { NormalizeContext, NormalizeResult } from '../types.ts';
import { auditEvent } from './audit.ts';
import { reject, timeToUtc } from './build.ts';
import { isObj, nullishBool, nullishStr } from '../common/shape.ts';

const Id = z.union([z.number().int().nonnegative(), z.string().min(1)]);

export const AuditRecordSchema = z.looseObject({
  id: Id.nullish(),
  log_id: Id.nullish(),
  username: z.string(),
  resource: z.string().nullish(),
  resource_type: z.string().nullish(),
  repo_name: z.string().nullish(),
  repo_tag: z.string().nullish(),
  operation: z.string().min(1),
  operation_description: z.string().nullish(),
  operation_result: z.boolean().nullish(),
  op_time: z.string(),
});

type AuditRecordInput = z.infer<typeof AuditRecordSchema>;

/** `Id.nullish()`: absent, null, a non-negative safe integer or a non-empty string. */
function nullishId(v: unknown): boolean {
  return (
    v === undefined ||
    v === null ||
    (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) ||
    (typeof v === 'string' && v.length > 0)
  );
}

/** Hot-path stand-in for {@link AuditRecordSchema} (accepts a subset of what the schema accepts). */
export function isAuditRecord(v: unknown): v is AuditRecordInput {
  return (
    isObj(v) &&
    nullishId(v.id) &&
    nullishId(v.log_id) &&
    typeof v.username === 'string' &&
    nullishStr(v.resource) &&
    nullishStr(v.resource_type) &&
    nullishStr(v.repo_name) &&
    nullishStr(v.repo_tag) &&
    typeof v.operation === 'string' &&
    v.operation.length > 0 &&
    nullishStr(v.operation_description) &&
    nullishBool(v.operation_result) &&
    typeof v.op_time === 'string'
  );
}

function normalize(obj: Record<string, unknown>, raw: string, ctx: NormalizeContext): NormalizeResult[] {
  const parsed = isAuditRecord(obj) ? { success: true as const, data: obj } : AuditRecordSchema.safeParse(obj);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return [
      reject(
        'schema_mismatch',
        `harbor audit record: ${issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid record'}`,
        raw,
      ),
    ];
  }
  const a = parsed.data;
  const id = a.id ?? a.log_id;
  if (id === undefined || id === null) return [reject('schema_mismatch', 'harbor audit record: no id/log_id', raw)];
  const timestamp = timeToUtc(a.op_time);
  if (!timestamp) return [reject('invalid_timestamp', `harbor audit record: op_time "${a.op_time.slice(0, 64)}"`, raw)];
  const resource =
    a.resource ??
    (a.repo_name ? (a.repo_tag && a.repo_tag !== 'N/A' ? `${a.repo_name}:${a.repo_tag}` : a.repo_name) : '');
  const isExt = 'operation_result' in a || 'operation_description' in a;
  return [
    auditEvent(
      {
        id: String(id),
        username: a.username,
        operation: a.operation,
        ...(a.resource_type ? { resourceType: a.resource_type } : a.repo_name ? { resourceType: 'artifact' } : {}),
        resource,
        ...(a.operation_description ? { description: a.operation_description } : {}),
        ...(typeof a.operation_result === 'boolean' ? { result: a.operation_result } : {}),
        timestamp,
        ...(timestamp !== a.op_time ? { originalTimestamp: a.op_time } : {}),
        sourceFormat: isExt ? 'harbor-auditlog-ext' : 'harbor-audit-log',
        eventId: `${ctx.harborHost ?? 'harbor'}/${String(id)}`,
      },
      raw,
      ctx,
    ),
  ];
}

/** Harbor audit API record source (`event.dataset: harbor.audit`). */
export const harborAuditApiSource: JsonSource = {
  id: 'harbor-audit-api',
  matches: (obj) => 'op_time' in obj && 'operation' in obj && 'username' in obj,
  normalize,
};
