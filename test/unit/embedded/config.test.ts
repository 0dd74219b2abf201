import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '../../../shared/src/errors.ts';
import { EMBEDDED_ENV, embeddedConfigSchema, loadEmbeddedConfig } from '../../../services/embedded/src/config.ts';

describe('embedded config (regwatch run settings)', () => {
  test('defaults: loopback receiver on 8080, .data, stdout findings, 3 partitions', () => {
    const c = loadEmbeddedConfig({}, {});
    assert.equal(c.host, '127.0.0.1');
    assert.equal(c.port, 8080);
    assert.equal(c.dataDir, '.data');
    assert.equal(c.receiver, 'on');
    assert.deepEqual(c.tokens, []);
    assert.equal(c.findings, undefined);
    assert.equal(c.partitions, 3);
    assert.ok(Object.isFrozen(c));
  });

  test('environment REGWATCH_* fills settings, flags win, lists split on commas', () => {
    const c = loadEmbeddedConfig(
      { port: '9999', follow: ['/var/log/a.log'] },
      {
        REGWATCH_PORT: '7000',
        REGWATCH_DATA_DIR: '/srv/regwatch',
        REGWATCH_TOKENS: 'one, two',
        REGWATCH_FOLLOW: '/x.log',
        REGWATCH_LOG_LEVEL: 'debug',
      },
    );
    assert.equal(c.port, 9999);
    assert.equal(c.dataDir, '/srv/regwatch');
    assert.deepEqual(c.tokens, ['one', 'two']);
    assert.deepEqual(c.follow, ['/var/log/a.log']);
    assert.equal(c.logLevel, 'debug');
  });

  test('Kibana URL (Discover links) and shutdown timeout: flag or REGWATCH_KIBANA_URL / REGWATCH_SHUTDOWN_TIMEOUT_MS', () => {
    assert.equal(loadEmbeddedConfig({}, {}).kibanaUrl, undefined);
    const c = loadEmbeddedConfig(
      { shutdownTimeoutMs: '5000' },
      { REGWATCH_KIBANA_URL: 'http://kibana.example.test:5601', REGWATCH_SHUTDOWN_TIMEOUT_MS: '9000' },
    );
    assert.equal(c.kibanaUrl, 'http://kibana.example.test:5601');
    assert.equal(c.shutdownTimeoutMs, 5000);
    assert.throws(
      () => loadEmbeddedConfig({ kibanaUrl: 'kibana:5601' }, {}),
      (err: unknown) => err instanceof AppError && err.code === 'CONFIG_INVALID' && /kibanaUrl/.test(err.message),
    );
  });

  test('every problem is listed at once with its setting name', () => {
    assert.throws(
      () => loadEmbeddedConfig({ host: '0.0.0.0', port: '70000', partitions: '0' }, { REGWATCH_LOG_LEVEL: 'loud' }),
      (err: unknown) => {
        assert.ok(err instanceof AppError);
        assert.equal(err.code, 'CONFIG_INVALID');
        assert.equal(err.retriable, false);
        for (const name of ['port', 'partitions', 'logLevel']) assert.match(err.message, new RegExp(`- ${name}:`));
        return true;
      },
    );
  });

  test('silences API: on 127.0.0.1:9095 by default, REGWATCH_ALERTS_* / flags, tokens of 16+ chars', () => {
    const d = loadEmbeddedConfig({}, {});
    assert.equal(d.alertsApi, 'on');
    assert.equal(d.alertsHost, '127.0.0.1');
    assert.equal(d.alertsPort, 9095);
    assert.deepEqual(d.alertsToken, []);
    assert.equal(d.storageCron, '20 */6 * * *');
    const c = loadEmbeddedConfig(
      { alertsPort: '0' },
      {
        REGWATCH_ALERTS_PORT: '9100',
        REGWATCH_ALERTS_HOST: '::1',
        REGWATCH_ALERTS_TOKEN: 'aaaaaaaaaaaaaaaa1, bbbbbbbbbbbbbbbb2',
        REGWATCH_ALERTS_API: 'off',
        REGWATCH_STORAGE_CRON: '*/5 * * * *',
      },
    );
    assert.equal(c.alertsPort, 0);
    assert.equal(c.alertsHost, '::1');
    assert.deepEqual(c.alertsToken, ['aaaaaaaaaaaaaaaa1', 'bbbbbbbbbbbbbbbb2']);
    assert.equal(c.alertsApi, 'off');
    assert.equal(c.storageCron, '*/5 * * * *');
    assert.throws(
      () => loadEmbeddedConfig({ alertsToken: ['short'], storageCron: 'every hour', alertsPort: '-1' }, {}),
      (err: unknown) => {
        assert.ok(err instanceof AppError);
        assert.match(err.message, /alertsToken\.0: alerts API tokens need 16\+ characters/);
        assert.match(err.message, /storageCron: not a valid cron expression/);
        assert.match(err.message, /alertsPort:/);
        return true;
      },
    );
  });

  test('a non-loopback receiver needs a token; receiver off needs an input', () => {
    assert.throws(() => loadEmbeddedConfig({ host: '0.0.0.0' }, {}), /tokens: a bearer token is required/);
    assert.doesNotThrow(() => loadEmbeddedConfig({ host: '0.0.0.0', tokens: ['s3cret-token'] }, {}));
    assert.throws(() => loadEmbeddedConfig({ receiver: 'off' }, {}), /receiver: with the receiver off/);
    assert.doesNotThrow(() => loadEmbeddedConfig({ receiver: 'off', input: ['/tmp/x.log'] }, {}));
  });

  test('unknown settings are rejected, and every setting has an env name and a description', () => {
    assert.throws(() => loadEmbeddedConfig({ prot: '1' }, {}), /prot/);
    const keys = Object.keys(embeddedConfigSchema.shape);
    assert.deepEqual(Object.keys(EMBEDDED_ENV).sort(), [...keys].sort());
    for (const k of keys)
      assert.ok(
        embeddedConfigSchema.shape[k as keyof typeof embeddedConfigSchema.shape].description,
        `${k} is described`,
      );
  });
});
