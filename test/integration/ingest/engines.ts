/**
 * Endpoints and controls of the real engines for the ingest integration tests (one import place
 * over test/helpers/infra.ts).
 */
export {
  elasticsearchUrl,
  kafkaBrokers,
  startElasticsearch,
  startKafka,
  startSecureElasticsearch,
  stopElasticsearch,
  stopKafka,
  uniqueName,
} from '../../helpers/infra.ts';
