import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '../../../shared/src/errors.ts';
import {
  didYouMean,
  editDistance,
  parseDetectionConfig,
  parseDetectionConfigText,
} from '../../../services/detector/src/config.ts';

function problems(input: unknown): string[] {
  try {
    parseDetectionConfig(input);
  } catch (err) {
    assert.ok(err instanceof AppError);
    assert.equal(err.code, 'CONFIG_INVALID');
    return err.message
      .split('\n')
      .slice(1)
      .map((l) => l.replace(/^ {2}- /, ''));
  }
  assert.fail('expected CONFIG_INVALID');
}

describe('detection config is strict and lists every problem', () => {
  test('a valid config still parses, defaults filled in', () => {
    const cfg = parseDetectionConfig({
      settings: { defaultZone: 'Europe/Berlin' },
      rules: { disabled: ['delete.burst'], params: { 'repo.crawl': { minRepositories: 20 } } },
    });
    assert.equal(cfg.settings.defaultZone, 'Europe/Berlin');
    assert.deepEqual(cfg.rules.disabled, ['delete.burst']);
    assert.equal((cfg.rules.params as Record<string, { minRepositories: number }>)['repo.crawl']!.minRepositories, 20);
    parseDetectionConfig({});
  });

  test('misspelled param name: rejected with did-you-mean', () => {
    assert.deepEqual(problems({ rules: { params: { 'delete.burst': { treshold: 5 } } } }), [
      'rules.params.delete.burst.treshold: unknown key "treshold" (did you mean "threshold"?)',
    ]);
  });

  test('unknown rule id under rules.params: rejected with did-you-mean', () => {
    const p = problems({ rules: { params: { 'delete.brust': { threshold: 5 } } } });
    assert.deepEqual(p, ['rules.params.delete.brust: unknown rule id "delete.brust" (did you mean "delete.burst"?)']);
  });

  test('misspelled top-level key and settings key are rejected', () => {
    assert.deepEqual(problems({ settigns: { defaultZone: 'UTC' } }), [
      'settigns: unknown key "settigns" (did you mean "settings"?)',
    ]);
    assert.deepEqual(problems({ settings: { defaultzone: 'UTC' } }), [
      'settings.defaultzone: unknown key "defaultzone" (did you mean "defaultZone"?)',
    ]);
  });

  test('negative threshold AND unknown disabled id AND a typo: all three listed', () => {
    const p = problems({
      settigns: {},
      rules: { disabled: ['no.such.rule', 'delete.burst'], params: { 'delete.burst': { threshold: -1 } } },
    });
    assert.equal(p.length, 3, p.join('\n'));
    assert.ok(p.some((l) => l.startsWith('settigns: unknown key')));
    assert.ok(p.some((l) => l.startsWith('rules.disabled.0: unknown rule id "no.such.rule"')));
    assert.ok(p.some((l) => l.startsWith('rules.params.delete.burst.threshold:')));
  });

  test('a key far from every known one lists the known keys instead', () => {
    const [p] = problems({ rules: { params: { 'robot.new_client': { zzzzzz: 1 } } } });
    assert.match(p!, /unknown key "zzzzzz"/);
    assert.doesNotMatch(p!, /did you mean/);
  });

  test('editDistance / didYouMean', () => {
    assert.equal(editDistance('treshold', 'threshold'), 1);
    assert.equal(editDistance('', 'abc'), 3);
    assert.equal(didYouMean('settigns', ['settings', 'rules']), ' (did you mean "settings"?)');
    assert.equal(didYouMean('banana', ['settings', 'rules']), '');
  });
});

describe('detection config text', () => {
  test('a YAML syntax error is CONFIG_INVALID with file:line:column', () => {
    const text = 'rules:\n  params:\n    delete.burst: { threshold: 5\n  disabled: []\n';
    assert.throws(
      () => parseDetectionConfigText(text, 'detect.yaml'),
      (err: unknown) => {
        assert.ok(err instanceof AppError);
        assert.equal(err.code, 'CONFIG_INVALID');
        assert.match(err.message, /^invalid detection config detect\.yaml:\d+:\d+: YAML syntax error: /);
        assert.equal(typeof err.context?.['line'], 'number');
        return true;
      },
    );
  });

  test('valid YAML and JSON text parse; an empty file is the default config', () => {
    assert.deepEqual(parseDetectionConfigText('rules:\n  disabled: [delete.burst]\n', 'a.yaml').rules.disabled, [
      'delete.burst',
    ]);
    assert.deepEqual(parseDetectionConfigText('{"rules":{"disabled":[]}}', 'a.json').rules.disabled, []);
    assert.deepEqual(parseDetectionConfigText('', 'empty.yaml').rules.disabled, []);
  });
});
