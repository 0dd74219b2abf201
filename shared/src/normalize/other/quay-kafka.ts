/**
 * Source `quay-kafka`: Quay's own audit-log stream to Kafka (`LOGS_MODEL: elasticsearch` with the
 * Kafka producer); the record value is the JSON of the `LogEntry` document.
 *
 * Shape (FORMATS.md §1d "Quay", `quay/quay` `data/logs_model/elastic_logs.py`,
 * `logs_producer/kafka_logs_producer.py`, `logs_producer/util.py`; FORMAT-EDGE-CASES #20, #24, #53;
 * sample 38): `random_id` (UUID, the dedupe key → `event.id`), `kind_id` (integer id of the
 * installation's `logentrykind` table), `account_id`, `performer_id` (null = anonymous),
 * `repository_id`, `ip`, `metadata_json` (**a JSON string**, parsed a second time), `datetime`
 * (naive `isoformat()`, no zone, microseconds omitted when zero).
 *
 * `kind_id` numbers differ per installation (rows are inserted by migrations), so the id → name
 * table is configuration: `createQuayKafkaSource({ kinds })`. The registered default instance has
 * no table and maps every entry to `event.action: other` with the kind id in `message`; naive
 * times are read as UTC unless `naiveZone` is given. `event.dataset: quay.audit`.
 */
import { z } from 'zod';
import type { JsonSource } from '../sources/types.ts';
import type { NormalizeContext, NormalizeResult } from '../types.ts';
import { reject, timeToUtc } from '../harbor/build.ts';
import { quayEvent } from './quay.ts';
import { isObj, nullishInt, nullishStr } from '../common/shape.ts';

export const LogEntrySchema = z.looseObject({
  random_id: z.string().min(1),
  kind_id: z.number().int(),
  account_id: z.number().int().nullish(),
  performer_id: z.number().int().nullish(),
  repository_id: z.number().int().nullish(),
  ip: z.string().nullish(),
  metadata_json: z.string().nullish(),
  datetime: z.string(),
});

type LogEntry = z.infer<typeof LogEntrySchema>;

/** Hot-path stand-in for {@link LogEntrySchema} (accepts a subset of what the schema accepts). */
export function isQuayLogEntry(v: unknown): v is LogEntry {
  return (
    isObj(v) &&
    typeof v.random_id === 'string' &&
    v.random_id.length > 0 &&
    typeof v.kind_id === 'number' &&
    Number.isSafeInteger(v.kind_id) &&
    nullishInt(v.account_id) &&
    nullishInt(v.performer_id) &&
    nullishInt(v.repository_id) &&
    nullishStr(v.ip) &&
    nullishStr(v.metadata_json) &&
    typeof v.datetime === 'string'
  );
}

export interface QuayKafkaOptions {
  /** The installation's `logentrykind` table: id → kind name (`SELECT id, name FROM logentrykind`). */
  kinds?: Readonly<Record<number, string>>;
  /** IANA zone of the Quay server clock for naive `datetime` values. Default `UTC`. */
  naiveZone?: string;
}

/** Creates a Quay Kafka source with an installation's kind table and clock zone. */
export function createQuayKafkaSource(opts: QuayKafkaOptions = {}): JsonSource {
  function normalize(obj: Record<string, unknown>, raw: string, ctx: NormalizeContext): NormalizeResult[] {
    const parsed = isQuayLogEntry(obj) ? { success: true as const, data: obj } : LogEntrySchema.safeParse(obj);
    if (!parsed.success) {
      const i = parsed.error.issues[0];
      return [
        reject(
          'schema_mismatch',
          `quay kafka log entry: ${i ? `${i.path.join('.') || '(root)'}: ${i.message}` : ''}`,
          raw,
        ),
      ];
    }
    const e = parsed.data;
    let metadata: Record<string, unknown> = {};
    if (e.metadata_json) {
      let md: unknown;
      try {
        md = JSON.parse(e.metadata_json);
      } catch {
        return [reject('schema_mismatch', 'quay kafka log entry: metadata_json is not valid JSON', raw)];
      }
      if (md === null || typeof md !== 'object' || Array.isArray(md)) {
        return [reject('schema_mismatch', 'quay kafka log entry: metadata_json is not a JSON object', raw)];
      }
      metadata = md as Record<string, unknown>;
    }
    const timestamp = timeToUtc(e.datetime, opts.naiveZone);
    if (!timestamp)
      return [reject('invalid_timestamp', `quay kafka log entry: datetime "${e.datetime.slice(0, 64)}"`, raw)];
    const kind = opts.kinds?.[e.kind_id];
    return [
      quayEvent(
        {
          ...(kind ? { kind } : {}),
          kindId: e.kind_id,
          metadata,
          ...(e.ip ? { ip: e.ip } : {}),
          timestamp,
          originalTimestamp: e.datetime,
          performerKnown: e.performer_id !== null && e.performer_id !== undefined,
          eventId: e.random_id,
          sourceFormat: 'quay-kafka',
        },
        raw,
        ctx,
      ),
    ];
  }
  return {
    id: 'quay-kafka',
    matches: (obj) => 'random_id' in obj && 'kind_id' in obj,
    normalize,
  };
}

/** Registered Quay Kafka source: no kind table (actions `other`), naive times as UTC. */
export const quayKafkaSource: JsonSource = createQuayKafkaSource();
