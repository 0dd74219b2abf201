/**
 * Day-one configuration errors: every service validates its environment once at boot and lists
 * every problem in one pass (host:port lists, port ranges, partitions ≥ 1, LOG_LEVEL enum, ES
 * credentials), and a bad LOG_LEVEL never crashes the logger created before the config is read.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { env, hostPortProblem, loadConfig, LOG_LEVELS } from '../../../shared/src/config.ts';
import { AppError } from '../../../shared/src/errors.ts';
import { createLogger } from '../../../shared/src/logger.ts';
import { ingestEnvSchema } from '../../../services/ingest/src/config.ts';
import { detectorEnvSchema } from '../../../services/detector/src/env-config.ts';
import { alertsEnvSchema } from '../../../services/alerts/src/env-config.ts';
import { loadEmbeddedConfig } from '../../../services/embedded/src/config.ts';
import { z } from 'zod';

const root = join(import.meta.dirname, '..', '..', '..');
const TOKEN = 'a-token-of-16-chars-or-more';

/** The `path: message` problem lines of the CONFIG_INVALID thrown by `fn` (count checked). */
function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof AppError && e.code === 'CONFIG_INVALID', String(e));
    assert.equal(e.retriable, false);
    const lines = e.message.split('\n');
    assert.match(lines[0] ?? '', new RegExp(`\\(${lines.length - 1} problem\\(s\\)\\)`), 'the count matches the list');
    return lines.slice(1).map((l) => l.replace(/^ {2}- /, ''));
  }
  return assert.fail('should throw CONFIG_INVALID');
}

/** The variable names (paths) of the problem lines. */
const names = (lines: string[]): string[] => lines.map((l) => l.slice(0, l.indexOf(':'))).sort();

describe('shared env helpers', () => {
  test('hostPortProblem accepts host:port and IPv4:port; rejects a missing or bad port and IPv6 literals', () => {
    for (const ok of ['kafka:9092', '127.0.0.1:9092', 'my_kafka:9092', 'broker-1.example.com:19092'])
      assert.equal(hostPortProblem(ok), null, ok);
    assert.equal(hostPortProblem('kafka'), '"kafka" is not host:port (e.g. kafka:9092)');
    assert.match(hostPortProblem('kafka:70000') ?? '', /port 70000 is outside 1–65535/);
    assert.match(hostPortProblem('kafka:0') ?? '', /outside 1–65535/);
    assert.match(hostPortProblem('http://kafka:9092') ?? '', /not host:port/);
    assert.match(hostPortProblem(':9092') ?? '', /not host:port/);
    assert.match(hostPortProblem('[::1]:9092') ?? '', /IPv6 literals are not supported/);
  });

  test('env.hostPorts lists every bad entry and needs at least one', () => {
    const s = z.object({ B: env.hostPorts('127.0.0.1:9092') });
    assert.deepEqual(s.parse({}).B, ['127.0.0.1:9092']);
    assert.deepEqual(s.parse({ B: ' a:1 , b:2 ' }).B, ['a:1', 'b:2']);
    const r = s.safeParse({ B: 'kafka,ok:1,x:99999' });
    assert.equal(r.success, false);
    assert.deepEqual(
      r.error?.issues.map((i) => i.message),
      ['"kafka" is not host:port (e.g. kafka:9092)', '"x:99999": port 99999 is outside 1–65535'],
    );
    assert.equal(s.safeParse({ B: ' , ' }).success, false);
  });

  test('env.port is 0–65535, env.urls needs http(s) URLs, env.int bounds, env.logLevel is the pino enum', () => {
    const s = z.object({
      P: env.port(8080),
      U: env.urls('http://127.0.0.1:9200'),
      N: env.int(3, { min: 1 }),
      L: env.logLevel(),
    });
    assert.deepEqual(s.parse({}), { P: 8080, U: ['http://127.0.0.1:9200'], N: 3, L: 'info' });
    assert.equal(s.parse({ P: '0', N: '1', L: 'silent' }).P, 0);
    const r = s.safeParse({ P: '70000', U: 'not-a-url,kafka:9092', N: '0', L: 'loud' });
    assert.deepEqual(r.error?.issues.map((i) => i.path.join('.')).sort(), ['L', 'N', 'P', 'U', 'U']);
    assert.deepEqual([...LOG_LEVELS], ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']);
  });
});

describe('ingest environment', () => {
  test('the tester’s 8 wrong variables are all listed in one pass', () => {
    const lines = problems(() =>
      loadConfig(
        ingestEnvSchema,
        {
          LOG_LEVEL: 'loud',
          KAFKA_TOPIC_PARTITIONS: '0',
          RECEIVER_PORT: '70000',
          ES_REQUEST_TIMEOUT_MS: 'soon',
          INGEST_ROLES: 'receiver,indexr',
          ES_URLS: 'not-a-url',
          KAFKA_BROKERS: 'kafka',
          RECEIVER_TOKENS: '',
        },
        'ingest environment',
      ),
    );
    assert.deepEqual(names(lines), [
      'ES_REQUEST_TIMEOUT_MS',
      'ES_URLS',
      'INGEST_ROLES',
      'KAFKA_BROKERS',
      'KAFKA_TOPIC_PARTITIONS',
      'LOG_LEVEL',
      'RECEIVER_PORT',
      'RECEIVER_TOKENS',
    ]);
    assert.ok(lines.includes('INGEST_ROLES: unknown value "indexr" (expected receiver, indexer)'), lines.join('\n'));
    assert.ok(lines.includes('KAFKA_BROKERS: "kafka" is not host:port (e.g. kafka:9092)'));
    assert.ok(lines.includes('RECEIVER_PORT: a port is 0–65535'));
    assert.ok(lines.includes('RECEIVER_TOKENS: at least one token is required when RECEIVER_AUTH=bearer'));
  });

  test('ES credential problems name the variable, together with field problems', () => {
    const lines = problems(() =>
      loadConfig(ingestEnvSchema, { RECEIVER_TOKENS: 't', ES_USERNAME: 'elastic', RECEIVER_PORT: '-1' }),
    );
    assert.deepEqual(lines, [
      'RECEIVER_PORT: a port is 0–65535',
      'ES_PASSWORD: username and password must be given together',
    ]);
  });

  test('valid values still parse; partitions and port pass through', () => {
    const c = loadConfig(ingestEnvSchema, {
      RECEIVER_TOKENS: 't',
      KAFKA_BROKERS: 'kafka:9092,10.0.0.2:9093',
      KAFKA_TOPIC_PARTITIONS: '6',
      RECEIVER_PORT: '0',
      INGEST_ROLES: 'indexer',
    });
    assert.deepEqual(c.kafka.brokers, ['kafka:9092', '10.0.0.2:9093']);
    assert.equal(c.kafka.partitions, 6);
    assert.equal(c.receiver.port, 0);
    assert.deepEqual(c.roles, { receiver: false, indexer: true });
  });
});

describe('detector environment', () => {
  test('KAFKA_TOPIC_PARTITIONS: same name and default as ingest and alerts', () => {
    assert.equal(loadConfig(detectorEnvSchema, {}).KAFKA_TOPIC_PARTITIONS, 3);
    assert.equal(loadConfig(ingestEnvSchema, { RECEIVER_TOKENS: 't' }).kafka.partitions, 3);
    assert.equal(loadConfig(alertsEnvSchema, { REGWATCH_ALERTS_TOKEN: TOKEN }).KAFKA_TOPIC_PARTITIONS, 3);
    assert.equal(loadConfig(detectorEnvSchema, { KAFKA_TOPIC_PARTITIONS: '12' }).KAFKA_TOPIC_PARTITIONS, 12);
    for (const s of [detectorEnvSchema.shape, alertsEnvSchema.shape])
      assert.match(s.KAFKA_TOPIC_PARTITIONS.description ?? '', /^Partitions for topics created at start-up/);
  });

  test('LOG_LEVEL, brokers, port, partitions, ES and DETECTOR_STATE problems in one pass', () => {
    const lines = problems(() =>
      loadConfig(detectorEnvSchema, {
        LOG_LEVEL: 'loud',
        KAFKA_BROKERS: 'kafka',
        KAFKA_TOPIC_PARTITIONS: '0',
        DETECTOR_HTTP_PORT: '70000',
        DETECTOR_STATE: 'elasticsearch',
      }),
    );
    assert.deepEqual(names(lines), [
      'DETECTOR_HTTP_PORT',
      'ES_URLS',
      'KAFKA_BROKERS',
      'KAFKA_TOPIC_PARTITIONS',
      'LOG_LEVEL',
    ]);
    assert.ok(lines.includes('ES_URLS: DETECTOR_STATE=elasticsearch needs ES_URLS'), lines.join('\n'));
  });

  test('ES credentials are checked at boot; empty credential variables count as unset', () => {
    const lines = problems(() =>
      loadConfig(detectorEnvSchema, { ES_URLS: 'http://es:9200', ES_USERNAME: 'elastic', ES_API_KEY: 'k' }),
    );
    assert.deepEqual(names(lines), ['ES_API_KEY', 'ES_PASSWORD']);
    const c = loadConfig(detectorEnvSchema, { ES_URLS: 'http://es:9200', ES_USERNAME: '', ES_PASSWORD: '' });
    assert.equal(c.ES_USERNAME, undefined);
    assert.deepEqual(names(problems(() => loadConfig(detectorEnvSchema, { ES_URLS: 'kafka:9092' }))), ['ES_URLS']);
  });
});

describe('alerts environment', () => {
  test('KAFKA_TOPIC_PARTITIONS=0, bad port, brokers, LOG_LEVEL and missing token in one pass', () => {
    const lines = problems(() =>
      loadConfig(alertsEnvSchema, {
        KAFKA_TOPIC_PARTITIONS: '0',
        REGWATCH_ALERTS_PORT: '70000',
        KAFKA_BROKERS: 'kafka',
        LOG_LEVEL: 'loud',
        ES_USERNAME: 'elastic',
      }),
    );
    assert.deepEqual(names(lines), [
      'ES_PASSWORD',
      'KAFKA_BROKERS',
      'KAFKA_TOPIC_PARTITIONS',
      'LOG_LEVEL',
      'REGWATCH_ALERTS_PORT',
      'REGWATCH_ALERTS_TOKEN',
    ]);
    assert.ok(
      lines.some((l) => /^KAFKA_TOPIC_PARTITIONS: .*>=1/.test(l)),
      lines.join('\n'),
    );
  });
});

describe('embedded settings', () => {
  test('the cross-setting token check is listed with field problems', () => {
    const lines = problems(() =>
      loadEmbeddedConfig({ host: '0.0.0.0', port: '70000' }, { REGWATCH_LOG_LEVEL: 'loud' }),
    );
    assert.deepEqual(names(lines), ['logLevel', 'port', 'tokens']);
  });
});

describe('logger with a bad level', () => {
  test('createLogger does not throw on an unknown level; it logs at info', () => {
    const out: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _enc, cb) {
        out.push(chunk.toString());
        cb();
      },
    });
    const log = createLogger('t', { level: 'loud', destination });
    assert.equal(log.level, 'info');
    log.debug('hidden');
    log.info('shown');
    assert.equal(out.length, 1);
    assert.match(out[0] ?? '', /"msg":"shown"/);
    assert.equal(createLogger('t', { level: 'debug', destination }).level, 'debug');
  });
});

/** Runs a service entry point with `env` and resolves its exit code and output. */
function runMain(
  file: string,
  extra: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const base: Record<string, string> = {};
  for (const k of ['PATH', 'HOME']) if (process.env[k] !== undefined) base[k] = process.env[k];
  return new Promise((resolve) => {
    execFile(
      'sh',
      [join(root, 'scripts', 'node.sh'), join(root, file)],
      { cwd: root, env: { ...base, ...extra }, timeout: 30_000 },
      (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

describe('service entry points: CONFIG_INVALID before any connection', () => {
  const bad = { LOG_LEVEL: 'loud', KAFKA_BROKERS: 'kafka', KAFKA_TOPIC_PARTITIONS: '0' };
  for (const [svc, file, extra] of [
    ['ingest', 'services/ingest/src/main.ts', { RECEIVER_PORT: '70000' }],
    ['detector', 'services/detector/src/main.ts', { DETECTOR_HTTP_PORT: '70000' }],
    ['alerts', 'services/alerts/src/main.ts', { REGWATCH_ALERTS_PORT: '70000' }],
  ] as const) {
    test(`${svc}: one readable stderr line listing every problem, JSON log on stdout, exit 2 (as the CLI: *_INVALID)`, async () => {
      const r = await runMain(file, { ...bad, ...extra });
      assert.equal(r.code, 2, r.stderr);
      assert.match(
        r.stderr,
        new RegExp(`^regwatch ${svc}: CONFIG_INVALID: invalid ${svc} environment \\(\\d+ problem\\(s\\)\\)`),
      );
      for (const name of ['LOG_LEVEL', 'KAFKA_BROKERS', 'KAFKA_TOPIC_PARTITIONS', Object.keys(extra)[0] ?? ''])
        assert.match(r.stderr, new RegExp(`- ${name}: `), `${name} listed:\n${r.stderr}`);
      assert.doesNotMatch(r.stderr, /KAFKA_UNAVAILABLE|at .*\.ts:\d+|Error: /, 'no retries and no stack trace');
      const fatal = r.stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { level: number; code?: string })
        .find((l) => l.level === 60);
      assert.equal(fatal?.code, 'CONFIG_INVALID', r.stdout);
    });
  }
});
