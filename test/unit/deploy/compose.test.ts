/**
 * Offline checks of the full-stack deployment (no Docker engine on CI machines):
 * docker-compose.yml against the Compose specification JSON schema, the Dockerfile through
 * dockerfile-utils' linter plus our own rules, and every regwatch service command pointing
 * at an entry point the tests run outside Docker.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { Ajv } from 'ajv';
import { validate as lintDockerfile } from 'dockerfile-utils';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const compose = parse(readFileSync(`${root}docker-compose.yml`, 'utf8'), { merge: true }) as {
  services: Record<
    string,
    { image?: string; build?: unknown; command?: string[]; healthcheck?: unknown; volumes?: string[] }
  >;
};

test('docker-compose.yml validates against the Compose specification schema', () => {
  const schema = JSON.parse(readFileSync(`${root}test/fixtures/compose-spec.json`, 'utf8')) as Record<string, unknown>;
  delete schema.$schema;
  const validateCompose = new Ajv({ allErrors: true, strict: false, validateSchema: false }).compile(schema);
  const valid = validateCompose(compose);
  assert.equal(valid, true, JSON.stringify(validateCompose.errors, null, 2));
});

test('the stack has every component the design asks for', () => {
  const names = Object.keys(compose.services);
  for (const required of [
    'kafka',
    'elasticsearch',
    'kibana',
    'registry',
    'fluent-bit',
    'mailpit',
    'regwatch-setup',
    'regwatch-ingest',
    'regwatch-detector',
    'regwatch-alerts',
  ]) {
    assert.ok(names.includes(required), `missing service ${required}`);
  }
  const es = compose.services.elasticsearch?.image ?? '';
  const kibana = compose.services.kibana?.image ?? '';
  assert.equal(es.split(':')[1], kibana.split(':')[1], 'Elasticsearch and Kibana versions must match');
});

test('every regwatch service command is an entry point that exists in the repository', () => {
  for (const [name, svc] of Object.entries(compose.services)) {
    if (!name.startsWith('regwatch-')) continue;
    const cmd = svc.command ?? [];
    const files = cmd.join(' ').match(/[\w/.-]+\.ts|bin\/regwatch/g) ?? [];
    assert.ok(files.length > 0, `${name}: command names no entry point`);
    for (const f of files) assert.ok(existsSync(`${root}${f}`), `${name}: ${f} does not exist`);
  }
});

test('long-running services have healthchecks', () => {
  for (const name of ['kafka', 'elasticsearch', 'kibana', 'regwatch-ingest']) {
    assert.ok(compose.services[name]?.healthcheck, `${name} has no healthcheck`);
  }
});

test('Dockerfile lints clean, is multi-stage and runs as a non-root user', () => {
  const text = readFileSync(`${root}Dockerfile`, 'utf8');
  const problems = lintDockerfile(text, {});
  assert.deepEqual(
    problems.map((p) => `${p.range.start.line + 1}: ${p.message}`),
    [],
  );
  assert.ok((text.match(/^FROM /gm) ?? []).length >= 2, 'expected a multi-stage build');
  const users = text.match(/^USER\s+(\S+)/gm) ?? [];
  assert.ok(users.length > 0 && !/USER\s+(root|0)\b/.test(users.at(-1) ?? ''), 'final stage must not run as root');
  for (const dir of ['shared', 'services', 'cli', 'bin'])
    assert.match(text, new RegExp(`COPY ${dir} `), `image lacks ${dir}/`);
});

test('registry config sends notifications with a bearer token and logs JSON', () => {
  const cfg = parse(readFileSync(`${root}deploy/registry/config.yml`, 'utf8')) as {
    log: { formatter: string };
    notifications: { endpoints: { url: string; headers: { Authorization: string[] } }[] };
  };
  assert.equal(cfg.log.formatter, 'json');
  const ep = cfg.notifications.endpoints[0];
  assert.ok(ep);
  assert.match(ep.url, /\/v1\/notifications$/);
  assert.match(ep.headers.Authorization[0] ?? '', /^Bearer \S+/);
});

test('every environment variable given to a regwatch service is one its config schema reads', async () => {
  const { ingestEnvObject } = await import('../../../services/ingest/src/config.ts');
  const { detectorEnvSchema } = await import('../../../services/detector/src/env-config.ts');
  const { alertsEnvSchema } = await import('../../../services/alerts/src/env-config.ts');
  const schemas: Record<string, { shape: Record<string, unknown> }> = {
    'regwatch-ingest': ingestEnvObject,
    'regwatch-detector': detectorEnvSchema,
    'regwatch-alerts': alertsEnvSchema,
  };
  for (const [name, schema] of Object.entries(schemas)) {
    const envs = (compose.services[name] as { environment?: Record<string, unknown> }).environment ?? {};
    assert.ok(Object.keys(envs).length > 0, `${name} has no environment`);
    for (const key of Object.keys(envs)) assert.ok(key in schema.shape, `${name}: ${key} is not read by its config`);
  }
});
