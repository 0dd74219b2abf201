import { appendFile } from 'node:fs/promises';
import { AppError } from '../../../shared/src/errors.ts';
import { deliveryRecordId, type DeliveriesSink, type DeliveryRecord } from '../../alerts/src/deliveries.ts';

/**
 * Delivery records of the embedded mode: one JSON line per attempt appended to `path` (the same
 * DeliveryRecord documents the full mode indexes into Elasticsearch, with their deterministic
 * `_id` as `id`). Records never contain secrets (the deliverer hashes destinations).
 * @throws AppError OUTPUT_UNWRITABLE (retriable) from `record` when the file cannot be appended;
 *   the alerts deliverer logs it and never drops the alert itself.
 */
export function createFileDeliveriesSink(path: string, onRecord?: (r: DeliveryRecord) => void): DeliveriesSink {
  return {
    async record(records: readonly DeliveryRecord[]): Promise<void> {
      if (records.length === 0) return;
      const text = records.map((r) => `${JSON.stringify({ id: deliveryRecordId(r), ...r })}\n`).join('');
      try {
        await appendFile(path, text);
      } catch (err) {
        throw new AppError(
          'OUTPUT_UNWRITABLE',
          `cannot append delivery records to ${path}: ${(err as Error).message}`,
          { retriable: true, cause: err },
        );
      }
      if (onRecord) for (const r of records) onRecord(r);
    },
  };
}
