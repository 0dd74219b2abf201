/**
 * Test access to the real engines started by infra/up.sh (Kafka 4.1.1 KRaft, Elasticsearch
 * 9.2.4, and on demand a second Elasticsearch with security enabled).
 *
 * Endpoints come from the environment (`KAFKA_BROKERS`, `ELASTICSEARCH_URL`) or the infra
 * defaults (127.0.0.1:9092, http://127.0.0.1:9200). Fault tests stop and restart the shared
 * default instances through the same scripts (`bash infra/down.sh kafka`, `bash infra/up.sh kafka`);
 * such tests must restart what they stopped (use `t.after`/`finally`), since other tests share them.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';

/** Repository root (this file lives in test/helpers/). */
export const REPO_ROOT = join(import.meta.dirname, '..', '..');

/** Kafka bootstrap brokers, `host:port` strings: `KAFKA_BROKERS` (comma-separated) or 127.0.0.1:9092. */
export function kafkaBrokers(): string[] {
  const raw = process.env['KAFKA_BROKERS'] ?? `127.0.0.1:${process.env['REGWATCH_KAFKA_PORT'] ?? '9092'}`;
  return raw
    .split(',')
    .map((b) => b.trim())
    .filter((b) => b.length > 0);
}

/** Base URL of the default (security disabled) Elasticsearch: `ELASTICSEARCH_URL` or http://127.0.0.1:9200. */
export function elasticsearchUrl(): string {
  return process.env['ELASTICSEARCH_URL'] ?? `http://127.0.0.1:${process.env['REGWATCH_ES_PORT'] ?? '9200'}`;
}

/**
 * A name unique to this process and call, lower case, made of `[a-z0-9_]` only, so it is valid as
 * a Kafka topic, consumer group, Elasticsearch index, and data stream namespace
 * (`<prefix>_<pid>_<8 hex>`). Characters of `prefix` outside `[a-z0-9_.]` become `_`.
 */
export function uniqueName(prefix: string): string {
  const clean = prefix.toLowerCase().replace(/[^a-z0-9_.]/g, '_');
  return `${clean}_${process.pid}_${randomBytes(4).toString('hex')}`;
}

/** Result of running an infra script. */
export interface ScriptResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `bash infra/<script>.sh <engines...>` and resolves with its exit code and output (never
 * rejects on a non-zero exit; check `code`). `timeoutMs` kills the script (default 300 000 ms).
 */
export function runInfraScript(script: 'up' | 'down', engines: string[], timeoutMs = 300_000): Promise<ScriptResult> {
  return new Promise((resolve) => {
    execFile(
      'bash',
      [join(REPO_ROOT, 'infra', `${script}.sh`), ...engines],
      { cwd: REPO_ROOT, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

async function mustRun(script: 'up' | 'down', engines: string[]): Promise<ScriptResult> {
  const res = await runInfraScript(script, engines);
  if (res.code !== 0) {
    throw new Error(
      `bash infra/${script}.sh ${engines.join(' ')} failed (exit ${res.code}):\n${res.stderr.slice(-4000)}`,
    );
  }
  return res;
}

/** Parses the `NAME=value` lines infra/up.sh prints on stdout. */
export function parseEndpoints(stdout: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of stdout.split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (m?.[1] !== undefined && m[2] !== undefined) out[m[1]] = m[2];
  }
  return out;
}

/** Credentials and URL of the security-enabled Elasticsearch (basic auth as the built-in `elastic`). */
export interface SecureElasticsearch {
  url: string;
  username: string;
  password: string;
}

/**
 * Starts (or reuses) the second Elasticsearch with `xpack.security.enabled=true` and plain HTTP
 * (`bash infra/up.sh es-secure`, default http://127.0.0.1:9201). The password is the keystore
 * `bootstrap.password`: env `REGWATCH_ES_SECURE_PASSWORD`, default `changeme-regwatch`.
 * Requests without credentials get 401. Rejects with the script's log tail when it fails to start.
 * `bash infra/down.sh` stops it.
 */
export async function startSecureElasticsearch(): Promise<SecureElasticsearch> {
  const res = await mustRun('up', ['es-secure']);
  const env = parseEndpoints(res.stdout);
  const url = env['ELASTICSEARCH_SECURE_URL'];
  if (!url) throw new Error(`infra/up.sh es-secure printed no ELASTICSEARCH_SECURE_URL:\n${res.stdout}`);
  return {
    url,
    username: env['ELASTICSEARCH_SECURE_USERNAME'] ?? 'elastic',
    password: process.env['REGWATCH_ES_SECURE_PASSWORD'] ?? 'changeme-regwatch',
  };
}

/**
 * Stops the default Kafka broker (SIGTERM, waits for exit). Only works on a broker started by
 * infra/up.sh (pid file). Always pair with {@link startKafka}.
 */
export async function stopKafka(): Promise<void> {
  await mustRun('down', ['kafka']);
}

/** Starts (or reuses) the default Kafka broker and resolves once it answers a metadata request. */
export async function startKafka(): Promise<void> {
  await mustRun('up', ['kafka']);
}

/**
 * Stops the default Elasticsearch (SIGTERM, waits for exit). Only works on a node started by
 * infra/up.sh. Always pair with {@link startElasticsearch}.
 */
export async function stopElasticsearch(): Promise<void> {
  await mustRun('down', ['es']);
}

/** Starts (or reuses) the default Elasticsearch and resolves once cluster health is yellow or green. */
export async function startElasticsearch(): Promise<void> {
  await mustRun('up', ['es']);
}
