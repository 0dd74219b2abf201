import type { Client } from '@elastic/elasticsearch';
import { AppError } from '../../../shared/src/errors.ts';
import { toEsAppError } from '../../../shared/src/es/client.ts';
import { DELIVERIES_INDEX } from '../../../shared/src/es/names.ts';
import { deliveryRecordId, type DeliveriesSink } from './deliveries.ts';

/**
 * Delivery records to Elasticsearch (`DELIVERIES_INDEX`): one bulk request per call, `_id`
 * deterministic (so a retried write overwrites instead of duplicating).
 * @throws AppError ES_UNAVAILABLE (retriable) when ES is down; ES_BULK_ITEM_FAILED when an item is rejected.
 */
export function createEsDeliveriesSink(opts: { client: Client; index?: string; refresh?: boolean }): DeliveriesSink {
  const index = opts.index ?? DELIVERIES_INDEX;
  return {
    async record(records) {
      if (records.length === 0) return;
      const operations = records.flatMap((r) => [{ index: { _index: index, _id: deliveryRecordId(r) } }, r]);
      let res;
      try {
        res = await opts.client.bulk({ operations, refresh: opts.refresh ?? false });
      } catch (err) {
        throw toEsAppError(err, 'delivery records');
      }
      if (res.errors) {
        const bad = res.items.find((i) => i.index?.error)?.index;
        throw new AppError(
          'ES_BULK_ITEM_FAILED',
          `delivery record rejected: ${bad?.error?.type ?? '?'}: ${bad?.error?.reason ?? ''}`,
          {
            retriable: bad?.status === 429,
          },
        );
      }
    },
  };
}
