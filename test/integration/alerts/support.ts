/** Shared pieces of the alerts integration tests (real Kafka, Elasticsearch, SMTP, HTTP). */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { Client } from '@elastic/elasticsearch';
import { SMTPServer } from 'smtp-server';
import { simpleParser, type ParsedMail } from 'mailparser';
import { createKafkaBus } from '../../../shared/src/bus/kafka.ts';
import type { MessageBus } from '../../../shared/src/bus/types.ts';
import { silentLogger } from '../../../shared/src/logger.ts';
import type { Finding } from '../../../shared/src/model/finding.ts';
import { elasticsearchUrl, kafkaBrokers, REPO_ROOT, uniqueName } from '../../helpers/infra.ts';

export { elasticsearchUrl, kafkaBrokers, uniqueName, REPO_ROOT };

/** Polls `fn` until it returns a truthy value or `timeoutMs` passes. @throws Error naming `what`. */
export async function waitFor<T>(
  what: string,
  fn: () => T | Promise<T>,
  timeoutMs = 30_000,
  everyMs = 100,
): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export const esClient = (): Client => new Client({ node: elasticsearchUrl() });
export const kafkaBus = (clientId: string): MessageBus =>
  createKafkaBus({
    brokers: kafkaBrokers(),
    clientId,
    logger: silentLogger(),
    sessionTimeoutMs: 10_000,
    heartbeatIntervalMs: 1000,
  });

let n = 0;
/** A valid finding for rule/user, detected now. */
export function mkFinding(rule: string, user: string, status: 'firing' | 'resolved' = 'firing', id?: string): Finding {
  const now = Date.now();
  return {
    id: id ?? `${rule}:${user}:${++n}:${now}`,
    rule,
    severity: 'high',
    score: 77,
    status,
    entity: { type: 'user', id: user },
    window: { start: new Date(now - 900_000).toISOString(), end: new Date(now).toISOString() },
    observed: { value: 500, unit: 'count' },
    expected: { value: 20, unit: 'count', lower: 5, upper: 40 },
    evidence: {
      repositories: [{ name: 'team/app', count: 400 }],
      source_ips: [{ ip: '198.51.100.4', count: 500 }],
      user_agents: [],
      sample_event_ids: [],
    },
    message: `${user} pulled 500 images in 15 min, typical 20`,
    links: { discover: `http://kibana.test/app/discover#/?user=${user}` },
    labels: {},
    detected_at: new Date(now).toISOString(),
  };
}

/** Publishes findings keyed by entity (as the detector does). */
export async function publishFindings(bus: MessageBus, topic: string, findings: readonly Finding[]): Promise<void> {
  const pub = bus.publisher();
  await pub.publish(
    topic,
    findings.map((f) => ({ key: `${f.entity.type}:${f.entity.id}`, value: JSON.stringify(f) })),
  );
  await pub.close();
}

export interface Inbox {
  readonly port: number;
  readonly mails: ParsedMail[];
  close(): Promise<void>;
}

/** A real SMTP server in-process (smtp-server + mailparser), plaintext allowed. */
export async function startInbox(): Promise<Inbox> {
  const mails: ParsedMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disableReverseLookup: true,
    hideSTARTTLS: true,
    logger: false,
    onData(stream, _s, cb) {
      simpleParser(stream, { keepCidLinks: true })
        .then((m) => (mails.push(m), cb()))
        .catch(cb);
    },
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.server.address() as AddressInfo).port,
    mails,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** Writes text to a fresh temp file; returns its path. */
export function tempFile(name: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'regwatch-alerts-'));
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

export interface Child {
  readonly proc: ChildProcess;
  readonly output: string[];
  exited(): Promise<number | null>;
}

/** Starts the alerts service (services/alerts/src/main.ts) as a child process with `env`. */
export function startAlertsProcess(env: Record<string, string>): Child {
  const proc = spawn('sh', [join(REPO_ROOT, 'scripts/node.sh'), join(REPO_ROOT, 'services/alerts/src/main.ts')], {
    cwd: REPO_ROOT,
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  proc.stdout?.on('data', (b: Buffer) => output.push(b.toString()));
  proc.stderr?.on('data', (b: Buffer) => output.push(b.toString()));
  const done = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
  return { proc, output, exited: () => done };
}
