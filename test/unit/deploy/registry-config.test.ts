/**
 * deploy/registry/config.yml: the notification endpoint's bearer token is one the compose ingest
 * service accepts, and every environment variable its comments name is one the ingest service
 * reads (an operator following the comment must find the variable in the README table).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { ingestEnvObject } from '../../../services/ingest/src/config.ts';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const text = readFileSync(`${root}deploy/registry/config.yml`, 'utf8');

test('registry config: variables named in comments are ingest variables; the token matches RECEIVER_TOKENS', () => {
  const comments = text
    .split('\n')
    .filter((l) => l.includes('#'))
    .map((l) => l.slice(l.indexOf('#') + 1))
    .join('\n');
  const named = [...comments.matchAll(/\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b/g)].map((m) => m[0]);
  assert.ok(named.includes('RECEIVER_TOKENS'), `comments name: ${named.join(', ')}`);
  for (const name of named) assert.ok(name in ingestEnvObject.shape, `${name} is not an ingest variable`);

  const cfg = parse(text) as { notifications: { endpoints: { headers: { Authorization: string[] } }[] } };
  const token = /^Bearer (\S+)$/.exec(cfg.notifications.endpoints[0]?.headers.Authorization[0] ?? '')?.[1];
  const compose = parse(readFileSync(`${root}docker-compose.yml`, 'utf8'), { merge: true }) as {
    services: Record<string, { environment?: Record<string, string> }>;
  };
  const tokens = (compose.services['regwatch-ingest']?.environment?.['RECEIVER_TOKENS'] ?? '').split(',');
  assert.ok(token !== undefined && tokens.includes(token), `token ${token} not in RECEIVER_TOKENS ${tokens.join(',')}`);
});
