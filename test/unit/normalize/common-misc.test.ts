import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { actorKind } from '../../../shared/src/normalize/common/actor.ts';
import { stableId } from '../../../shared/src/normalize/common/hash.ts';
import { isDigest, namespaceOf, parseV2Path, splitUri } from '../../../shared/src/normalize/common/repository.ts';
import { parseLogfmt, unescapeGo } from '../../../shared/src/normalize/common/gostring.ts';

describe('actorKind', () => {
  const table: [string | undefined, string, boolean?][] = [
    [undefined, 'anonymous'],
    ['', 'anonymous'],
    ['anonymous', 'anonymous'],
    ['user-a', 'user'],
    ['user-a@example.com', 'user'],
    ['robot$team-a+ci-pusher', 'robot'],
    ['robot$k8s-nodes', 'robot'],
    ['robot_ci', 'robot'],
    ['robot-k8s-node', 'robot'],
    ['team-a+builder', 'robot'],
    ['first+tag@example.com', 'user'],
    ['plain', 'robot', true],
    ['harbor-jobservice', 'service'],
    ['harbor#proxy-cache-service', 'service'],
    ['auto', 'service'],
    ['system:serviceaccount:ns:builder', 'service'],
  ];
  for (const [name, kind, isRobot] of table) {
    test(`${JSON.stringify(name)} → ${kind}`, () =>
      assert.equal(actorKind(name, isRobot === undefined ? {} : { isRobot }), kind));
  }
});

describe('stableId', () => {
  test('deterministic 32-hex, sensitive to order and field boundaries', () => {
    const a = stableId('i', 'r', 'response completed');
    assert.match(a, /^[0-9a-f]{32}$/);
    assert.equal(a, stableId('i', 'r', 'response completed'));
    assert.notEqual(a, stableId('r', 'i', 'response completed'));
    assert.notEqual(stableId('ab', 'c'), stableId('a', 'bc'));
    assert.notEqual(stableId('line', 0), stableId('line', 1));
    assert.equal(stableId('x', undefined), stableId('x', ''));
  });
});

describe('repository routes', () => {
  test('nested names and every route', () => {
    assert.deepEqual(parseV2Path('/v2/'), { route: 'base' });
    assert.deepEqual(parseV2Path('/v2/_catalog'), { route: 'catalog' });
    assert.deepEqual(parseV2Path('/v2/team-a/platform/api/manifests/1.4.2'), {
      route: 'manifest',
      name: 'team-a/platform/api',
      reference: '1.4.2',
    });
    assert.deepEqual(parseV2Path('/v2/a/b/c/d/blobs/sha256:abc'), {
      route: 'blob',
      name: 'a/b/c/d',
      digest: 'sha256:abc',
    });
    assert.deepEqual(parseV2Path('/v2/team-a/api/blobs/uploads/'), { route: 'upload', name: 'team-a/api' });
    assert.deepEqual(parseV2Path('/v2/team-a/api/blobs/uploads/0198f3e1'), {
      route: 'upload',
      name: 'team-a/api',
      uploadId: '0198f3e1',
    });
    assert.deepEqual(parseV2Path('/v2/team-a/api/tags/list'), { route: 'tags-list', name: 'team-a/api' });
    assert.deepEqual(parseV2Path('/v2/team-a/api/referrers/sha256:ab'), {
      route: 'referrers',
      name: 'team-a/api',
      reference: 'sha256:ab',
    });
    assert.deepEqual(parseV2Path('/'), { route: 'unknown' });
    assert.deepEqual(parseV2Path('/v2/x/unknown'), { route: 'unknown' });
  });
  test('isDigest and namespaceOf', () => {
    assert.equal(isDigest('sha256:b6fd458a7205924b78c0b1bcc6730fc69ee72e093dd49f56e106479057f9441d'), true);
    assert.equal(isDigest('sha512+b64u:abc='), true);
    assert.equal(isDigest('1.4.2'), false);
    assert.equal(isDigest('latest'), false);
    assert.equal(isDigest(undefined), false);
    assert.equal(namespaceOf('team-a/platform/api'), 'team-a');
    assert.equal(namespaceOf('pixy'), 'pixy');
  });
  test('splitUri drops _state from the indexed query and decodes params', () => {
    const u = splitUri('/v2/a/blobs/uploads/u1?_state=abc%3D&digest=sha256%3A49');
    assert.equal(u.path, '/v2/a/blobs/uploads/u1');
    assert.equal(u.query, '_state=abc%3D&digest=sha256%3A49');
    assert.equal(u.safeQuery, 'digest=sha256%3A49');
    assert.equal(u.params.get('digest'), 'sha256:49');
    assert.deepEqual(splitUri('/v2/'), { path: '/v2/', params: new Map() });
    assert.equal(splitUri('http://h:5000/v2/_catalog?n=1').path, '/v2/_catalog');
  });
});

describe('Go string escapes and logfmt', () => {
  test('unescapeGo', () => {
    assert.equal(unescapeGo('a\\"b\\\\c\\n\\t'), 'a"b\\c\n\t');
    assert.equal(unescapeGo('\\xc3\\xa9t\\u00e9\\U0001F600'), 'été😀');
    assert.equal(unescapeGo('\\303\\251'), 'é');
    assert.equal(unescapeGo('bad\\q'), null);
    assert.equal(unescapeGo('bad\\x4'), null);
  });
  test('parseLogfmt with %q values', () => {
    const f = parseLogfmt(
      'time="2016-02-23T19:10:37Z" level=warning msg="error authorizing context: basic authentication challenge for realm \\"registry-realm\\": authentication failure" http.request.uri=/v2/ k=',
    );
    assert.ok(f);
    assert.equal(f.get('level'), 'warning');
    assert.equal(
      f.get('msg'),
      'error authorizing context: basic authentication challenge for realm "registry-realm": authentication failure',
    );
    assert.equal(f.get('http.request.uri'), '/v2/');
    assert.equal(f.get('k'), '');
    assert.equal(parseLogfmt('msg="unterminated'), null);
  });
});
