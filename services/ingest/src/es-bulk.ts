import type { Client } from '@elastic/elasticsearch';
import type { BulkResponseItem } from './bulk.ts';
import type { BulkFn } from './indexer.ts';

/**
 * What the indexer reads of a `_bulk` response (Elasticsearch `filter_path` syntax): `errors` and each item's
 * action key with its `status` and `error`. The rest (`_index`, `_id`, `_version`, `_shards`,
 * `_seq_no`, `result`, …) is neither built and sent by Elasticsearch nor parsed here.
 */
export const BULK_RESPONSE_FILTER = 'errors,items.*.status,items.*.error';

/**
 * The `_bulk` request body (NDJSON, Bulk API docs: one JSON object per line, each line ending with
 * `\n`) for action/document pairs. A string element is taken as an already serialized JSON line;
 * anything else is `JSON.stringify`-ed. Returns one flat string (a joined array, not a chain of
 * `+=`, so the client's `Buffer.byteLength` and the socket write do not first flatten a rope).
 */
export function ndjsonBody(operations: readonly (object | string)[]): string {
  const lines = new Array<string>(operations.length + 1);
  for (let i = 0; i < operations.length; i++) {
    const op = operations[i]!;
    lines[i] = typeof op === 'string' ? op : JSON.stringify(op);
  }
  lines[operations.length] = '';
  return lines.join('\n');
}

/**
 * The indexer's `_bulk` over an Elasticsearch client: sends the operations as one pre-built NDJSON
 * body (the client sends a string body as is) with `refresh: false` and the response filtered to
 * what triage needs (BULK_RESPONSE_FILTER). Throws the client's error when the request failed
 * (connection, 401/403, 429/5xx at HTTP level), as BulkFn documents.
 */
export function esBulk(client: Client): BulkFn {
  return async (operations) => {
    const res = await client.bulk({
      operations: ndjsonBody(operations) as never,
      refresh: false,
      filter_path: BULK_RESPONSE_FILTER,
    });
    return { items: (res.items ?? []) as unknown as BulkResponseItem[] };
  };
}
