import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluate, type EvalResult } from '../../../bench/eval-detect.ts';
import { findingSchema } from '../../../shared/src/model/finding.ts';
import { generateScenario } from '../../fixtures/scenarios/generate.ts';

// The labelled scenario: six weeks of Distribution logs + notifications, every attack kind of the
// detector issue injected once, and the benign confounders (release day, DST, backlog replay,
// new hire, HEAD polling, weekly scanner, CI re-pointing `latest`).
describe('labelled scenario evaluation', () => {
  let r: EvalResult;
  before(async () => {
    r = await evaluate();
  });

  for (const a of generateScenario().attacks) {
    test(`attack "${a.kind}" is found at severity ≥ medium by ${a.rules.join(' / ')}`, () => {
      const k = r.attacks.find((x) => x.kind === a.kind);
      assert.ok(k?.found, `${a.kind} not found`);
    });
  }

  for (const c of generateScenario().confounders) {
    test(`confounder "${c.kind}" stays below medium`, () => {
      assert.equal(r.confounders.find((x) => x.kind === c.kind)?.mediumOrAbove, 0);
    });
  }

  test('precision of findings ≥ medium is at least 0.95', () => {
    assert.ok(r.precision >= 0.95, `precision ${r.precision}: ${r.falseFindings.map((f) => f.message).join('\n')}`);
  });

  test('the release day is reported as a population surge, not as per-identity alerts', () => {
    assert.ok(
      r.findings.some((f) => f.rule === 'pull.population_surge_pulls' && f.window.start.startsWith('2026-03-12')),
    );
  });

  test('every finding satisfies the findings contract and explains itself in numbers', () => {
    for (const f of r.findings) {
      assert.doesNotThrow(() => findingSchema.parse(f));
      assert.match(f.message, /\d/);
    }
  });

  test('streaming rules detect within minutes (event time)', () => {
    for (const kind of [
      'bruteforce_ip',
      'credential_stuffing',
      'delete_burst',
      'released_tag_repointed',
      'robot_new_network',
      'bulk_pull',
    ]) {
      const k = r.attacks.find((x) => x.kind === kind)!;
      assert.ok(k.delayMinutes! < 10, `${kind}: ${k.delayMinutes} min`);
    }
  });
});
