import { createHash } from 'node:crypto';

/**
 * One delivery attempt as stored in Elasticsearch (`DELIVERIES_INDEX`, mapping
 * `DELIVERY_MAPPINGS` in shared/src/es/mappings.ts). ECS: `@timestamp`, `event.action`
 * (`notify` | `resolve`), `event.outcome` (`success` | `failure` | `unknown` while retrying),
 * `event.duration` (ns), `error.code`/`error.message`. Never holds a URL, token or secret:
 * destinations are hashed ids (`slack:3f2a…`).
 */
export interface DeliveryRecord {
  readonly '@timestamp': string;
  readonly event: {
    readonly id: string;
    readonly action: 'notify' | 'resolve';
    readonly outcome: 'success' | 'failure' | 'unknown';
    readonly duration: number;
  };
  readonly oci_registry: {
    readonly alert: {
      readonly finding_id: readonly string[];
      readonly rule: readonly string[];
      readonly severity?: string;
      readonly status: 'firing' | 'resolved';
      readonly receiver: string;
      readonly channel: string;
      readonly destination: string;
      readonly group_key: string;
      readonly notification_key: string;
      readonly kind: 'alert' | 'report' | 'health';
      readonly attempt: number;
      /** ok | retryable | failed | skipped (destination marked broken). */
      readonly result: string;
      /** True on the last record of a delivery (ok, failed or given up). */
      readonly final: boolean;
      readonly retry_after_s?: number;
      readonly instance: string;
    };
  };
  readonly error?: { readonly code: string; readonly message: string };
}

/** Where delivery records go (ES in full mode, memory or a file in embedded mode). */
export interface DeliveriesSink {
  /** Stores records; rejects when the backend is unavailable (the caller logs, never drops the alert). */
  record(records: readonly DeliveryRecord[]): Promise<void>;
}

/** Deterministic `_id` of a record: notification key + channel index + attempt. */
export function deliveryRecordId(r: DeliveryRecord): string {
  return createHash('sha256')
    .update(
      `${r.oci_registry.alert.notification_key}|${r.oci_registry.alert.destination}|${r.oci_registry.alert.attempt}|${r.event.id}`,
    )
    .digest('hex')
    .slice(0, 32);
}

/** Keeps records in an array (tests, embedded mode without ES). */
export function createMemoryDeliveriesSink(): DeliveriesSink & { readonly records: DeliveryRecord[] } {
  const records: DeliveryRecord[] = [];
  return {
    records,
    async record(rs) {
      records.push(...rs);
    },
  };
}

/**
 * Wraps a sink and remembers how many records it stored and the first error (the deliverer only
 * logs sink errors; a one-shot command such as `regwatch alerts send-report` reports them).
 */
export function observedDeliveriesSink(inner: DeliveriesSink): DeliveriesSink & {
  /** Records stored so far. */
  readonly stored: () => number;
  /** First `{ code, message }` a `record` call rejected with, if any. */
  readonly firstError: () => { code: string; message: string } | undefined;
} {
  let stored = 0;
  let firstError: { code: string; message: string } | undefined;
  return {
    async record(records) {
      try {
        await inner.record(records);
        stored += records.length;
      } catch (err) {
        firstError ??= { code: (err as { code?: string }).code ?? 'UNKNOWN', message: (err as Error).message };
        throw err;
      }
    },
    stored: () => stored,
    firstError: () => firstError,
  };
}
