/**
 * Endpoints of the real engines for the ingest integration tests. Thin layer over
 * test/helpers/infra.ts so every ingest test imports from one place.
 */
import { randomBytes } from 'node:crypto';

export const kafkaBrokers = (): string[] => (process.env['KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(',');
export const elasticsearchUrl = (): string => process.env['ES_URL'] ?? 'http://127.0.0.1:9200';
/** A lower-case name unique to this run (valid as topic, group, index and data stream namespace part). */
export const uniqueName = (prefix: string): string => `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`.toLowerCase();
