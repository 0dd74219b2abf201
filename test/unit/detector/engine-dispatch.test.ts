import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { ev } from './factory.ts';
import { DetectorEngine } from '../../../services/detector/src/engine.ts';
import { parseDetectionConfig } from '../../../services/detector/src/config.ts';
import type { DetectionRule } from '../../../services/detector/src/rules/types.ts';
import { NONE } from '../../../services/detector/src/rules/types.ts';
import type { DetectionSettings } from '../../../services/detector/src/state/view.ts';

const T0 = Date.parse('2026-03-02T10:00:00Z');
const settings = parseDetectionConfig({}).settings as DetectionSettings;

/** A rule that records which events reach its observe hook (the engine's dispatch is under test). */
function spy(id: string, extra: Partial<DetectionRule>): { rule: DetectionRule; seen: string[] } {
  const seen: string[] = [];
  const rule: DetectionRule = {
    id,
    description: id,
    paramsSchema: z.object({}),
    observe(e) {
      seen.push(e.id);
      return NONE;
    },
    ...extra,
  };
  return { rule, seen };
}

describe('DetectorEngine rule dispatch', () => {
  test('a rule is only called for the actions it declares', () => {
    const pulls = spy('t.pulls', { actions: ['manifest-pull'] });
    const all = spy('t.all', {});
    const eng = new DetectorEngine(settings, [
      { rule: pulls.rule, params: {} },
      { rule: all.rule, params: {} },
    ]);
    eng.process(ev(T0, 'manifest-pull', { user: 'alice', repo: 'a/x', id: 'p1' }));
    eng.process(ev(T0 + 1000, 'blob-pull', { user: 'alice', repo: 'a/x', id: 'b1' }));
    eng.process(ev(T0 + 2000, 'manifest-pull', { user: 'alice', repo: 'a/x', id: 'p2' }));
    assert.deepEqual(pulls.seen, ['p1', 'p2']);
    assert.deepEqual(all.seen, ['p1', 'b1', 'p2']);
  });

  test('onlyWhenChanged: called when the IP / client / namespace differs from the identity’s last one', () => {
    const ip = spy('t.ip', { onlyWhenChanged: 'ip' });
    const ua = spy('t.ua', { onlyWhenChanged: 'userAgent' });
    const ns = spy('t.ns', { onlyWhenChanged: 'namespace' });
    const eng = new DetectorEngine(
      settings,
      [ip, ua, ns].map((s) => ({ rule: s.rule, params: {} })),
    );
    const o = { user: 'bob', ip: '10.0.0.1', ua: 'containerd/1.7.2', repo: 'team-a/api' };
    eng.process(ev(T0, 'manifest-pull', { ...o, id: 'e1' }));
    eng.process(ev(T0 + 1000, 'manifest-pull', { ...o, id: 'e2' }));
    eng.process(ev(T0 + 2000, 'manifest-pull', { ...o, ip: '10.9.9.9', id: 'e3' }));
    eng.process(ev(T0 + 3000, 'manifest-pull', { ...o, ip: '10.9.9.9', ua: 'curl/8.5.0', id: 'e4' }));
    eng.process(
      ev(T0 + 4000, 'manifest-pull', { ...o, ip: '10.9.9.9', ua: 'curl/8.5.0', repo: 'team-b/web', id: 'e5' }),
    );
    // Another identity has its own "last" values.
    eng.process(ev(T0 + 5000, 'manifest-pull', { ...o, user: 'carol', id: 'e6' }));
    assert.deepEqual(ip.seen, ['e1', 'e3', 'e6']);
    assert.deepEqual(ua.seen, ['e1', 'e4', 'e6']);
    assert.deepEqual(ns.seen, ['e1', 'e5', 'e6']);
  });

  test('detections keep the registry order of the rules within one event', () => {
    const mk = (id: string, gate?: 'ip'): DetectionRule => ({
      id,
      description: id,
      paramsSchema: z.object({}),
      ...(gate ? { onlyWhenChanged: gate } : {}),
      observe: (e) => [
        {
          rule: id,
          severity: 'low',
          score: 10,
          entity: { type: 'user', id: e.identity },
          windowStart: e.ts,
          windowEnd: e.ts + 1000,
          observed: { value: 1, unit: 'count' },
          expected: { value: 0, unit: 'count' },
          message: id,
        },
      ],
    });
    const eng = new DetectorEngine(settings, [
      { rule: mk('t.a'), params: {} },
      { rule: mk('t.b', 'ip'), params: {} },
      { rule: mk('t.c'), params: {} },
    ]);
    const out = eng.process(ev(T0, 'manifest-pull', { user: 'dave', repo: 'a/x' }));
    assert.deepEqual(
      out.map((d) => d.rule),
      ['t.a', 't.b', 't.c'],
    );
  });
});
