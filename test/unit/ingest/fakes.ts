/**
 * In-memory doubles for unit tests of the indexer's logic (the integration tests use the real
 * Kafka, Elasticsearch and the shared normalizer).
 */
import { errors } from '@elastic/elasticsearch';
import type { RegistryEvent } from '../../../shared/src/model/registry-event.ts';
import type { NormalizeContext, NormalizeResult } from '../../../shared/src/normalize/types.ts';
import type { BulkResponseItem } from '../../../services/ingest/src/bulk.ts';
import type { IngestNormalizer } from '../../../services/ingest/src/indexer.ts';

export function event(
  id: string,
  over: Partial<RegistryEvent> = {},
  dataset: RegistryEvent['event']['dataset'] = 'oci_registry.notification',
): RegistryEvent {
  return {
    '@timestamp': '2026-01-01T00:00:00.000000000Z',
    event: {
      kind: 'event',
      category: ['web'],
      type: ['access'],
      action: 'manifest-push',
      outcome: 'success',
      id,
      dataset,
    },
    oci_registry: { image_pull: false, actor: { kind: 'user', anonymous: false }, source_format: 'test' },
    ...over,
  };
}

/** A tiny normalizer: envelopes `{events:[{id, user?, request_id?, bytes?}]}`, log lines `{id, request_id?}`. */
export const fakeNormalizer: IngestNormalizer = {
  payload(_kind, bytes: Uint8Array, _ctx: NormalizeContext): NormalizeResult[] {
    const text = Buffer.from(bytes).toString('utf8');
    let body: { events?: { id?: string; user?: string; request_id?: string; bytes?: unknown }[] };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      return [{ kind: 'rejected', reason: 'not_json', detail: 'truncated', original: '' }];
    }
    return (body.events ?? []).map((e): NormalizeResult => {
      if (!e.id) return { kind: 'rejected', reason: 'schema_mismatch', detail: 'no id', original: JSON.stringify(e) };
      return {
        kind: 'event',
        event: event(e.id, {
          ...(e.user ? { user: { name: e.user } } : {}),
          http: {
            ...(e.request_id ? { request: { id: e.request_id } } : {}),
            ...(e.bytes !== undefined ? { response: { body: { bytes: e.bytes as number } } } : {}),
          },
          source: { ip: '192.0.2.1' },
        }),
      };
    });
  },
  logLines(lines) {
    return lines.map(({ bytes }, index) => {
      const text = Buffer.from(bytes).toString('utf8');
      try {
        const l = JSON.parse(text) as { id: string; request_id?: string };
        return {
          index,
          result: {
            kind: 'event' as const,
            event: event(
              l.id,
              { http: l.request_id ? { request: { id: l.request_id } } : {}, source: { ip: '192.0.2.9' } },
              'oci_registry.log',
            ),
          },
        };
      } catch {
        return { index, result: { kind: 'ignored' as const, reason: 'not a registry line' } };
      }
    });
  },
};

/**
 * An Elasticsearch double with `_bulk` create/index semantics (201 / 409 on create of an existing
 * id) plus scripted faults: whole-request outages and per-id item statuses.
 */
export class FakeEs {
  readonly stored = new Map<string, Map<string, object>>();
  readonly requests: { action: string; id: string }[][] = [];
  /** Number of upcoming requests that fail with a connection error. */
  down = 0;
  /** Per id: statuses returned for the next attempts (e.g. [429, 429]). */
  readonly itemFaults = new Map<string, number[]>();

  count(): number {
    let n = 0;
    for (const m of this.stored.values()) n += m.size;
    return n;
  }

  readonly bulk = async (operations: readonly (object | string)[]): Promise<{ items: BulkResponseItem[] }> => {
    if (this.down > 0) {
      this.down--;
      throw new errors.ConnectionError('connect ECONNREFUSED 127.0.0.1:9200');
    }
    const items: BulkResponseItem[] = [];
    const req: { action: string; id: string }[] = [];
    for (let i = 0; i < operations.length; i += 2) {
      const head = operations[i] as Record<string, { _index: string; _id: string }>;
      const action = Object.keys(head)[0]!;
      const { _index, _id } = head[action]!;
      // The indexer sends events pre-serialized (a JSON line), findings/storage as objects.
      const line = operations[i + 1]!;
      const doc = (typeof line === 'string' ? JSON.parse(line) : line) as {
        http?: { response?: { body?: { bytes?: unknown } } };
      };
      req.push({ action, id: _id });
      const fault = this.itemFaults.get(_id)?.shift();
      if (fault !== undefined) {
        items.push({
          [action]: {
            _index,
            _id,
            status: fault,
            error: {
              type: fault === 429 ? 'es_rejected_execution_exception' : 'unavailable_shards_exception',
              reason: 'busy',
            },
          },
        });
        continue;
      }
      const bytes = doc.http?.response?.body?.bytes;
      if (bytes !== undefined && typeof bytes !== 'number') {
        items.push({
          [action]: {
            _index,
            _id,
            status: 400,
            error: {
              type: 'document_parsing_exception',
              reason: `failed to parse field [http.response.body.bytes] of type [long]`,
            },
          },
        });
        continue;
      }
      const idx = this.stored.get(_index) ?? new Map<string, object>();
      this.stored.set(_index, idx);
      if (action === 'create' && idx.has(_id)) {
        items.push({
          [action]: {
            _index,
            _id,
            status: 409,
            error: { type: 'version_conflict_engine_exception', reason: 'document already exists' },
          },
        });
        continue;
      }
      idx.set(_id, doc);
      items.push({ [action]: { _index, _id, status: 201, result: 'created' } });
    }
    this.requests.push(req);
    return { items };
  };
}
