/**
 * Source `harbor-audit-syslog`: Harbor audit records forwarded to syslog
 * (`audit_log_forward_endpoint`), one line each, optionally behind a syslog header.
 *
 * Format (FORMATS.md §1c.6, Harbor `src/pkg/audit/forward.go`, `src/pkg/auditext/manager.go`,
 * `src/lib/log/textformatter.go`; sample 34):
 * ```
 * [<syslog header>] <RFC3339> [INFO] [<caller>][operator="…" resourceType="…" time="<Go time> m=+<s>"]:
 *   action:<op>, resource:<res>[, operation_description:<text>]
 * ```
 * `resourceType` exists since v2.6, `operation_description` since v2.13. The `time` field is Go's
 * default `time.Time` print with the monotonic suffix (` m=+104056.788453493`, stripped here,
 * FORMAT-EDGE-CASES #23). Lines carry no record id, so `event.id` = `<harborHost>/` + stableId(time,
 * operator, action, resource). `event.dataset: harbor.audit`, `oci_registry.source_format:
 * harbor-syslog`.
 */
import type { TextSource } from '../sources/types.ts';
import type { NormalizeContext, NormalizeResult } from '../types.ts';
import { auditEvent } from './audit.ts';
import { stableId } from '../common/hash.ts';
import { reject, timeToUtc } from './build.ts';

const LINE_RE =
  /^(?:<\d{1,3}>\d?\s?)?(?:(?:[A-Z][a-z]{2}\s+\d{1,2} \d\d:\d\d:\d\d|\d{4}-\d\d-\d\dT\S+) (\S+) \S+?(?:\[\d+\])?: )?(\d{4}-\d\d-\d\dT\S+) \[([A-Z]+)\] \[([^\]]*)\]\[(.*?)\]:\s?action:([^,\s]+), resource:(.*?)(?:, operation_description:(.*))?$/;
const FIELD_RE = /(\w+)="((?:[^"\\]|\\.)*)"/g;

function normalize(line: string, ctx: NormalizeContext): NormalizeResult[] {
  const m = LINE_RE.exec(line.trimEnd());
  if (!m)
    return [reject('schema_mismatch', 'harbor audit syslog: line does not match the forwarded audit format', line)];
  const [, syslogHost, logTime, , , fieldText, action, resource, description] = m;
  const fields: Record<string, string> = {};
  for (const f of (fieldText ?? '').matchAll(FIELD_RE)) {
    if (f[1]) fields[f[1]] = (f[2] ?? '').replace(/\\(.)/g, '$1');
  }
  const timeRaw = fields.time?.replace(/\s+m=[+-][\d.]+$/, '');
  const timestamp = (timeRaw ? timeToUtc(timeRaw) : undefined) ?? timeToUtc(logTime ?? '');
  if (!timestamp) return [reject('invalid_timestamp', 'harbor audit syslog: no parseable time', line)];
  const operator = fields.operator ?? '';
  const host = ctx.harborHost ?? 'harbor';
  return [
    auditEvent(
      {
        username: operator,
        operation: action ?? '',
        ...(fields.resourceType ? { resourceType: fields.resourceType } : {}),
        resource: (resource ?? '').trim(),
        ...(description ? { description: description.trim() } : {}),
        timestamp,
        ...(timeRaw && timeRaw !== timestamp ? { originalTimestamp: timeRaw } : {}),
        sourceFormat: 'harbor-syslog',
        eventId: `${host}/${stableId(timeRaw ?? logTime, operator, action, resource)}`,
        forwarded: true,
      },
      line,
      syslogHost && !ctx.harborHost ? { ...ctx, harborHost: syslogHost } : ctx,
    ),
  ];
}

/** Forwarded Harbor audit syslog line source (`event.dataset: harbor.audit`). */
export const harborAuditSyslogSource: TextSource = {
  id: 'harbor-audit-syslog',
  matches: (line) => line.includes('action:') && line.includes(', resource:') && line.includes(']['),
  normalize,
};
