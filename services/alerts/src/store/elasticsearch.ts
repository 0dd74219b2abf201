import type { Client } from '@elastic/elasticsearch';
import { errors } from '@elastic/elasticsearch';
import { toEsAppError } from '../../../../shared/src/es/client.ts';
import { ALERT_STATE_INDEX } from '../../../../shared/src/es/names.ts';
import type { GroupState } from '../group.ts';
import type { InhibitSource } from '../inhibit.ts';
import type { Silence } from '../silences.ts';
import type { ThrottleState } from '../throttle.ts';
import { firingOf, type AlertStore } from './types.ts';

/**
 * AlertStore on Elasticsearch (full mode), one document per key in `ALERT_STATE_INDEX`
 * (mapping `ALERT_STATE_MAPPINGS`): `kind` (`group` | `throttle` | `silence`), `key`, `due_at`
 * (ms since epoch), `owner`, `expires_at`, and the state as a JSON string (`state_json`, kept
 * in `_source`, not mapped field by field: label names are user data).
 *
 * Concurrency: creates use `op_type=create` (409 → someone else created it first) and updates
 * use optimistic concurrency control (`if_seq_no` + `if_primary_term`, Elasticsearch docs
 * "Optimistic concurrency control"): a 409 means another alerts instance changed the group, so
 * exactly one instance wins each claim of a notification. Reads by id are real-time; searches
 * (`dueGroups`, `firingAlerts`, `listSilences`) see writes after the index refresh (~1 s).
 *
 * No query depends on the template's mapping: an index `regwatch setup elasticsearch` did not
 * create (a custom `ES_ALERT_STATE_INDEX`) is mapped dynamically and works the same (the due
 * sort uses `unmapped_type`; `kind` terms match the dynamic text field's single lowercase token).
 */
export interface EsStoreOptions {
  readonly client: Client;
  readonly index?: string;
  /** Refresh after silence writes so a following list sees them. Default true. */
  readonly refreshSilences?: boolean;
}

const is409 = (err: unknown): boolean => err instanceof errors.ResponseError && err.statusCode === 409;
const is404 = (err: unknown): boolean => err instanceof errors.ResponseError && err.statusCode === 404;

export function createEsStore(opts: EsStoreOptions): AlertStore {
  const { client } = opts;
  const index = opts.index ?? ALERT_STATE_INDEX;
  const groupId = (key: string): string => `group:${key}`;

  const wrap = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      throw toEsAppError(err, `alert state: ${what}`);
    }
  };

  const search = async (
    kind: string,
    extra: Record<string, unknown>[],
    size: number,
    source: string[] | false,
    sort?: Record<string, { order: 'asc' | 'desc'; unmapped_type: 'long' }>[],
  ) =>
    wrap(`search ${kind}`, async () => {
      try {
        return await client.search<Record<string, unknown>>({
          index,
          size,
          _source: source,
          query: { bool: { filter: [{ term: { kind } }, ...extra] } },
          ...(sort ? { sort } : {}),
        });
      } catch (err) {
        if (is404(err)) return undefined; // index not created yet
        throw err;
      }
    });

  return {
    getGroup: (key) =>
      wrap('get group', async () => {
        try {
          const r = await client.get<{ state_json: string }>({ index, id: groupId(key) });
          if (!r.found || !r._source) return undefined;
          return { value: JSON.parse(r._source.state_json) as GroupState, version: `${r._seq_no}:${r._primary_term}` };
        } catch (err) {
          if (is404(err)) return undefined;
          throw err;
        }
      }),
    putGroup: (group, dueAt, version) =>
      wrap('put group', async () => {
        const document = {
          '@timestamp': new Date().toISOString(),
          kind: 'group',
          key: group.key,
          receiver: group.receiver,
          due_at: dueAt,
          owner: group.pending?.owner,
          state_json: JSON.stringify(group),
          firing_json: JSON.stringify(firingOf(group)),
        };
        try {
          let r;
          if (version === undefined)
            r = await client.index({ index, id: groupId(group.key), document, op_type: 'create' });
          else {
            const [seq, term] = version.split(':').map(Number);
            r = await client.index({ index, id: groupId(group.key), document, if_seq_no: seq, if_primary_term: term });
          }
          return `${r._seq_no}:${r._primary_term}`;
        } catch (err) {
          if (is409(err)) return undefined;
          throw err;
        }
      }),
    deleteGroup: (key, version) =>
      wrap('delete group', async () => {
        const [seq, term] = version.split(':').map(Number);
        try {
          await client.delete({ index, id: groupId(key), if_seq_no: seq, if_primary_term: term });
          return true;
        } catch (err) {
          if (is409(err) || is404(err)) return false;
          throw err;
        }
      }),
    async dueGroups(now, limit) {
      // `unmapped_type`: an index not created from the template (custom ES_ALERT_STATE_INDEX) may not
      // map `due_at` yet (dynamic mapping from a first silence/throttle document); sorting then
      // treats it as long instead of failing with "No mapping found for [due_at] in order to sort on".
      const r = await search(
        'group',
        [{ range: { due_at: { lte: now } } }],
        limit,
        ['key'],
        [{ due_at: { order: 'asc', unmapped_type: 'long' } }],
      );
      return (r?.hits.hits ?? []).map((h) => String((h._source as { key: string }).key));
    },
    async firingAlerts() {
      const r = await search('group', [], 10_000, ['firing_json']);
      const out: InhibitSource[] = [];
      for (const h of r?.hits.hits ?? [])
        out.push(
          ...(JSON.parse(String((h._source as { firing_json?: string }).firing_json ?? '[]')) as InhibitSource[]),
        );
      return out;
    },
    getThrottle: (key) =>
      wrap('get throttle', async () => {
        try {
          const r = await client.get<{ state_json: string }>({ index, id: `throttle:${key}` });
          return r.found && r._source ? (JSON.parse(r._source.state_json) as ThrottleState) : undefined;
        } catch (err) {
          if (is404(err)) return undefined;
          throw err;
        }
      }),
    putThrottle: (key, state) =>
      wrap('put throttle', async () => {
        await client.index({
          index,
          id: `throttle:${key}`,
          document: {
            '@timestamp': new Date().toISOString(),
            kind: 'throttle',
            key,
            next_allowed_at: new Date(state.until).toISOString(),
            state_json: JSON.stringify(state),
          },
        });
      }),
    putSilence: (s) =>
      wrap('put silence', async () => {
        await client.index({
          index,
          id: `silence:${s.id}`,
          document: {
            '@timestamp': new Date(s.createdAt).toISOString(),
            kind: 'silence',
            key: s.id,
            expires_at: new Date(s.endsAt).toISOString(),
            state_json: JSON.stringify(s),
          },
          refresh: opts.refreshSilences === false ? false : 'wait_for',
        });
      }),
    getSilence: (id) =>
      wrap('get silence', async () => {
        try {
          const r = await client.get<{ state_json: string }>({ index, id: `silence:${id}` });
          return r.found && r._source ? (JSON.parse(r._source.state_json) as Silence) : undefined;
        } catch (err) {
          if (is404(err)) return undefined;
          throw err;
        }
      }),
    async listSilences() {
      const r = await search('silence', [], 10_000, ['state_json']);
      return (r?.hits.hits ?? []).map(
        (h) => JSON.parse(String((h._source as { state_json: string }).state_json)) as Silence,
      );
    },
    async close() {},
  };
}
