/**
 * Elasticsearch with security enabled (infra/up.sh es-secure): the right basic-auth password
 * works; a wrong one makes the ingest service fail at start-up with ES_AUTH_FAILED and exit 1,
 * without printing the password.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createEsClient, waitForElasticsearch } from '../../../shared/src/es/client.ts';
import { startSecureElasticsearch, uniqueName } from './engines.ts';
import { spawnIngest } from './service.ts';
import { kafkaBrokers } from './engines.ts';

describe('ingest against a security-enabled Elasticsearch', () => {
  test('wrong password → start-up fails with ES_AUTH_FAILED (exit 1), password never printed', async () => {
    const secure = await startSecureElasticsearch();
    const good = createEsClient({
      nodes: [secure.url],
      username: secure.username,
      password: secure.password,
      tlsRejectUnauthorized: true,
      requestTimeoutMs: 10_000,
      maxRetries: 0,
    });
    assert.ok(
      ['green', 'yellow'].includes(await waitForElasticsearch(good, { timeoutMs: 30_000 })),
      'the right password works',
    );
    await good.close();

    const wrong = 'definitely-Wrong-pa55word';
    const svc = spawnIngest({
      INGEST_ROLES: 'indexer',
      KAFKA_BROKERS: kafkaBrokers().join(','),
      REGWATCH_TOPIC_PREFIX: `${uniqueName('sec')}.`,
      ES_URLS: secure.url,
      ES_USERNAME: secure.username,
      ES_PASSWORD: wrong,
      ES_STARTUP_TIMEOUT_MS: '20000',
    });
    const exit = await svc.exited;
    const out = JSON.stringify(svc.lines) + svc.stderr.join('');
    assert.equal(exit.code, 1);
    assert.match(svc.stderr.join(''), /ES_AUTH_FAILED/);
    const fatal = svc.lines.find((l) => l['level'] === 60);
    assert.ok(fatal, 'a fatal log line');
    assert.equal(fatal['code'], 'ES_AUTH_FAILED');
    assert.ok(!out.includes(wrong), 'the password is not printed');
  });
});
