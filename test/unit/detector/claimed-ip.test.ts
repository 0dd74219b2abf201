/**
 * CASES C07: an address from X-Forwarded-For (`oci_registry.ip_trust: claimed`) is whatever the
 * client wrote. A window finding keyed by such an IP says so — message, `labels.ip_trust` (routes
 * can match it) and `evidence.extra.ip_trust` — and a finding from socket-peer addresses does not.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { engineWith, ev, runAll } from './factory.ts';
import { mergeSameRequest, toDetectorEvent } from '../../../services/detector/src/event.ts';
import type { RegistryEvent } from '../../../shared/src/model/registry-event.ts';

const T = Date.parse('2025-01-10T10:00:00Z');

describe('window findings on a client-claimed source IP (C07)', () => {
  const failures = (claimed: boolean) =>
    Array.from({ length: 25 }, (_, i) => ({
      ...ev(T + i * 1000, 'login-failure', { ip: '192.0.2.99', attemptedUser: `u${i % 3}` }),
      ...(claimed ? { ipClaimed: true } : {}),
    }));

  test('claimed: the firing and the resolved finding name it in message, labels and evidence', () => {
    const out = runAll(engineWith({}), failures(true)).filter((d) => d.rule === 'auth.bruteforce_ip');
    assert.equal(out.length, 2, JSON.stringify(out.map((d) => d.status)));
    for (const d of out) {
      assert.equal(d.entity.id, '192.0.2.99');
      assert.match(d.message, /client-supplied X-Forwarded-For\/X-Real-Ip value, not the connection: it may be forged/);
      assert.equal(d.labels?.['ip_trust'], 'claimed');
      assert.equal(d.evidence?.extra?.['ip_trust'], 'claimed');
    }
  });

  test('socket peer: no claim note', () => {
    const out = runAll(engineWith({}), failures(false)).filter((d) => d.rule === 'auth.bruteforce_ip');
    assert.ok(out.length >= 1);
    for (const d of out) {
      assert.doesNotMatch(d.message, /X-Forwarded-For/);
      assert.equal(d.labels?.['ip_trust'], undefined);
    }
  });

  test('toDetectorEvent reads oci_registry.ip_trust', () => {
    const base: RegistryEvent = {
      '@timestamp': '2025-01-10T10:00:00Z',
      event: {
        kind: 'event',
        category: ['web'],
        type: ['access'],
        action: 'login-failure',
        outcome: 'failure',
        id: 'x',
        dataset: 'oci_registry.log',
      },
      source: { ip: '192.0.2.99' },
      oci_registry: {
        image_pull: false,
        actor: { kind: 'anonymous', anonymous: true },
        source_format: 'logrus-text',
        ip_trust: 'claimed',
      },
    };
    assert.equal(toDetectorEvent(base)?.ipClaimed, true);
    assert.equal(
      toDetectorEvent({ ...base, oci_registry: { ...base.oci_registry, ip_trust: 'peer' } })?.ipClaimed,
      undefined,
    );
  });

  test('a merged copy that takes its IP from the other copy takes its trust too', () => {
    const notification = { ...ev(T, 'manifest-pull', { dataset: 'oci_registry.notification', requestId: 'r1' }) };
    notification.ip = undefined;
    const log = { ...ev(T, 'manifest-pull', { ip: '192.0.2.99', requestId: 'r1' }), ipClaimed: true };
    assert.equal(mergeSameRequest(notification, log).ipClaimed, true);
    assert.equal(mergeSameRequest(log, notification).ipClaimed, true);
  });
});
