import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  canonicalIp,
  parseAddress,
  parseForwardedFor,
  resolveClientAddress,
} from '../../../shared/src/normalize/common/address.ts';

describe('parseAddress', () => {
  const table: [string, { address?: string; ip?: string; port?: number }][] = [
    ['192.0.2.11:42961', { address: '192.0.2.11:42961', ip: '192.0.2.11', port: 42961 }],
    ['198.51.100.158', { address: '198.51.100.158', ip: '198.51.100.158' }],
    ['[2001:db8::5]:51133', { address: '[2001:db8::5]:51133', ip: '2001:db8::5', port: 51133 }],
    ['[2001:db8:0:0:0:0:0:7]:40000', { address: '[2001:db8:0:0:0:0:0:7]:40000', ip: '2001:db8::7', port: 40000 }],
    ['[2001:db8::5]', { address: '[2001:db8::5]', ip: '2001:db8::5' }],
    ['2001:db8::5', { address: '2001:db8::5', ip: '2001:db8::5' }],
    ['2001:DB8:0:0:1:0:0:1', { address: '2001:DB8:0:0:1:0:0:1', ip: '2001:db8::1:0:0:1' }],
    ['::ffff:192.0.2.10', { address: '::ffff:192.0.2.10', ip: '192.0.2.10' }],
    ['[::ffff:192.0.2.10]:443', { address: '[::ffff:192.0.2.10]:443', ip: '192.0.2.10', port: 443 }],
    ['fe80::1%eth0', { address: 'fe80::1%eth0', ip: 'fe80::1' }],
    ['[fe80::1%25eth0]:8080', { address: '[fe80::1%25eth0]:8080', ip: 'fe80::1', port: 8080 }],
    ['::1', { address: '::1', ip: '::1' }],
    [' 10.0.0.5 ', { address: '10.0.0.5', ip: '10.0.0.5' }],
    ['client.local', { address: 'client.local' }],
    ['registry-0:5000', { address: 'registry-0:5000', port: 5000 }],
    ['hostname.local:port', { address: 'hostname.local:port' }],
    ['01.2.3.4', { address: '01.2.3.4' }],
    ['1.2.3', { address: '1.2.3' }],
    ['192.0.2.1:99999', { address: '192.0.2.1:99999', ip: '192.0.2.1' }],
    ['[2001:db8::5', { address: '[2001:db8::5' }],
  ];
  for (const [raw, expected] of table) test(JSON.stringify(raw), () => assert.deepEqual(parseAddress(raw), expected));
  test('empty and undefined give {}', () => {
    assert.deepEqual(parseAddress(undefined), {});
    assert.deepEqual(parseAddress('  '), {});
  });
  test('canonicalIp is strict like Go net.ParseIP', () => {
    assert.equal(canonicalIp('192.0.2.1'), '192.0.2.1');
    assert.equal(canonicalIp('192.0.2.1:80'), undefined);
    assert.equal(canonicalIp('256.0.0.1'), undefined);
    assert.equal(canonicalIp('fe80::1%'), undefined);
  });
});

describe('parseForwardedFor', () => {
  test('splits and trims, keeps order, drops empties', () => {
    assert.deepEqual(parseForwardedFor('192.0.2.99, 198.51.100.23 ,,10.0.0.5'), [
      '192.0.2.99',
      '198.51.100.23',
      '10.0.0.5',
    ]);
    assert.deepEqual(parseForwardedFor(['203.0.113.7', '10.0.0.1, 10.0.0.2']), ['203.0.113.7', '10.0.0.1', '10.0.0.2']);
    assert.deepEqual(parseForwardedFor(undefined), []);
    assert.deepEqual(parseForwardedFor(''), []);
  });
});

describe('resolveClientAddress (trusted-proxy walk, CASES C07)', () => {
  const trusted = ['10.0.0.5/32'];
  test('(1) single XFF behind the trusted proxy', () => {
    assert.deepEqual(resolveClientAddress('10.0.0.5:40112', '203.0.113.7', trusted), {
      ip: '203.0.113.7',
      trust: 'forwarded',
    });
  });
  test('(2) forged left-most element: right-most untrusted hop wins, claim kept', () => {
    assert.deepEqual(resolveClientAddress('10.0.0.5:40113', '192.0.2.99, 198.51.100.23', trusted), {
      ip: '198.51.100.23',
      claimedIp: '192.0.2.99',
      trust: 'forwarded',
    });
  });
  test('(3) direct peer with port', () => {
    assert.deepEqual(resolveClientAddress('10.1.2.3:51514', undefined, trusted), {
      ip: '10.1.2.3',
      port: 51514,
      trust: 'peer',
    });
  });
  test('(4) untrusted peer: its XFF is ignored', () => {
    assert.deepEqual(resolveClientAddress('198.51.100.77:60001', '10.0.0.5', trusted), {
      ip: '198.51.100.77',
      port: 60001,
      trust: 'peer',
    });
  });
  test('single-IP trust entries and IPv6 peers', () => {
    assert.deepEqual(resolveClientAddress('[2001:db8::1]:443', '2001:db8::99', ['2001:db8::1']), {
      ip: '2001:db8::99',
      trust: 'forwarded',
    });
  });
});
