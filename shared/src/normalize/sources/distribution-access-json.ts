import type { JsonSource } from './types.ts';
import { FieldReader } from '../common/fields.ts';
import { reject } from '../common/event.ts';
import { normalizeAccess } from './distribution-combined.ts';

/**
 * JSON access-log lines as proposed for Distribution (distribution PR #4221; CASES C12 line 3):
 * `{"timestamp":"27/Dec/2023:10:43:27 +0100","method":"GET","path":"/v2/_catalog","status":200,
 * "size":24,"referer":"","user_agent":"curl/8.1.2"}` — the Apache-style time is kept inside JSON.
 * Optional `remote_addr`/`host`, `proto`. Same mapping as the combined line (dataset `oci_registry.access`).
 */
export const distributionAccessJsonSource: JsonSource = {
  id: 'distribution-access-json',
  matches(obj) {
    return (
      typeof obj.method === 'string' &&
      (typeof obj.path === 'string' || typeof obj.uri === 'string') &&
      obj.status !== undefined &&
      (obj.timestamp !== undefined || obj.time !== undefined) &&
      obj.msg === undefined
    );
  },
  normalize(obj, raw, ctx) {
    const r = new FieldReader(obj);
    const status = r.int('status');
    const time = obj.timestamp ?? obj.time;
    const bytes = r.int('size') ?? r.int('bytes');
    const rec = {
      host: r.str('remote_addr') ?? r.str('remoteaddr') ?? r.str('host') ?? '',
      time: typeof time === 'number' ? time : (r.str(obj.timestamp !== undefined ? 'timestamp' : 'time') ?? ''),
      method: r.str('method') ?? '',
      uri: r.str('path') ?? r.str('uri') ?? '',
      status: status ?? 0,
      ...(bytes === undefined ? {} : { bytes }),
      referer: r.str('referer'),
      ua: r.str('user_agent') ?? r.str('useragent'),
    };
    const proto = r.str('proto');
    if (r.problem !== undefined || status === undefined)
      return [reject('schema_mismatch', raw, r.problem ?? 'status: missing')];
    return normalizeAccess(proto === undefined ? rec : { ...rec, proto }, raw, ctx, 'access-json');
  },
};
