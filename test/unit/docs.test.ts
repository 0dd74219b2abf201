import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { renderReadme } from '../../scripts/docs.ts';
import { ERROR_CODES } from '../../shared/src/errors.ts';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

test('README reference sections match the code (run `npm run docs` after changing config, CLI or error codes)', () => {
  assert.equal(renderReadme(readme), readme);
});

test('the error-code table lists exactly the codes in ERROR_CODES', () => {
  const section = readme.slice(
    readme.indexOf('<!-- BEGIN GENERATED: errors -->'),
    readme.indexOf('<!-- END GENERATED: errors -->'),
  );
  const documented = [...section.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]);
  assert.deepEqual(documented.sort(), Object.keys(ERROR_CODES).sort());
});

test('README gives the two set-up commands and the test command', () => {
  assert.match(readme, /npm ci && npm start/);
  assert.match(readme, /^npm test\b/m);
});
