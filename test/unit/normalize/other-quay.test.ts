import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { RegistryEvent } from '../../../shared/src/model/registry-event.ts';
import type { NormalizeResult } from '../../../shared/src/normalize/types.ts';
import { quayApiSource } from '../../../shared/src/normalize/other/quay-api.ts';
import { createQuayKafkaSource, quayKafkaSource } from '../../../shared/src/normalize/other/quay-kafka.ts';

const SAMPLES = new URL('../../fixtures/registry-samples/', import.meta.url);
const read = (name: string) => readFileSync(new URL(name, SAMPLES), 'utf8');

function ev(r: NormalizeResult | undefined): RegistryEvent {
  assert.equal(r?.kind, 'event', JSON.stringify(r));
  return (r as { event: RegistryEvent }).event;
}

const D5758 = 'sha256:57583a1b9c0a7509d3417387b4f43acf80d08cdcf5266ac87987be3f8f919d5d';

describe('Quay logs API page (sample 37)', () => {
  const raw = read('37-quay-api-logs.json');
  const page = JSON.parse(raw) as Record<string, unknown>;
  const out = quayApiSource.normalize(page, raw, {});

  test('the page is matched and gives one event per entry', () => {
    assert.ok(quayApiSource.matches(page));
    assert.equal(out.length, 3);
  });

  test('revert_tag → other (tag change), RFC 2822 datetime, repo without namespace', () => {
    const e = ev(out[0]);
    assert.equal(e['@timestamp'], '2024-06-18T18:59:13.000Z');
    assert.equal(e.oci_registry.original_timestamp, 'Tue, 18 Jun 2024 18:59:13 -0000');
    assert.equal(e.event.action, 'other');
    assert.equal(e.event.dataset, 'quay.audit');
    assert.equal(e.oci_registry.object_kind, 'tag');
    assert.equal(e.user?.name, 'user-q');
    assert.equal(e.oci_registry.repository, 'busybox');
    assert.equal(e.oci_registry.tag, 'test-two');
    assert.equal(e.oci_registry.digest, D5758);
    assert.equal(e.message, 'revert_tag busybox:test-two');
  });

  test('push_repo → manifest-push with user agent and source ip', () => {
    const e = ev(out[1]);
    assert.equal(e['@timestamp'], '2024-06-18T18:58:41.000Z');
    assert.equal(e.event.action, 'manifest-push');
    assert.deepEqual(e.event.type, ['creation']);
    assert.equal(e.oci_registry.repository, 'user-q/busybox');
    assert.equal(e.oci_registry.namespace, 'user-q');
    assert.equal(e.oci_registry.tag, 'test-two');
    assert.deepEqual(e.source, { address: '192.0.2.131', ip: '192.0.2.131' });
    assert.equal(e.user_agent?.original, 'containers/5.30.1 (github.com/containers/image)');
    assert.equal(e.oci_registry.client_family, 'containers-image');
    assert.equal(e.oci_registry.actor.kind, 'user');
  });

  test('pull_repo by a robot (is_robot) by digest → image pull, robot actor', () => {
    const e = ev(out[2]);
    assert.equal(e['@timestamp'], '2024-06-18T19:03:02.000Z');
    assert.equal(e.event.action, 'manifest-pull');
    assert.equal(e.oci_registry.image_pull, true);
    assert.equal(e.user?.name, 'user-q+puller');
    assert.deepEqual(e.oci_registry.actor, { kind: 'robot', anonymous: false });
    assert.equal(e.oci_registry.digest, D5758);
    assert.deepEqual(e.container?.image?.hash?.all, [D5758]);
    assert.equal(e.oci_registry.tag, undefined);
    assert.equal(e.source?.ip, '198.51.100.44');
  });

  test('ids are deterministic and distinct', () => {
    const again = quayApiSource.normalize(page, raw, {});
    assert.deepEqual(
      again.map((r) => ev(r).event.id),
      out.map((r) => ev(r).event.id),
    );
    assert.equal(new Set(out.map((r) => ev(r).event.id)).size, 3);
  });

  test('a bad entry is rejected alone; a non-array logs is rejected', () => {
    const logs = [...(page.logs as unknown[]), { kind: 'pull_repo', datetime: 7 }];
    const res = quayApiSource.normalize({ ...page, logs }, raw, {});
    assert.equal(res.length, 4);
    assert.equal(res[3]?.kind === 'rejected' && res[3].reason, 'schema_mismatch');
    const r = quayApiSource.normalize({ ...page, logs: 'x' }, raw, {});
    assert.equal(r[0]?.kind === 'rejected' && r[0].reason, 'schema_mismatch');
  });
});

describe('Quay Kafka LogEntry stream (sample 38)', () => {
  const lines = read('38-quay-kafka-logentry.ndjson').split('\n').filter(Boolean);
  const objs = lines.map((l) => JSON.parse(l) as Record<string, unknown>);

  test('with the installation kind table: push and anonymous pull, double-encoded metadata, naive datetimes', () => {
    const src = createQuayKafkaSource({ kinds: { 52: 'pull_repo', 53: 'push_repo' } });
    const push = ev(src.normalize(objs[0] ?? {}, lines[0] ?? '', {})[0]);
    assert.equal(push.event.id, '6f1d2c3b-4a59-4e87-9d6c-5b4a3f2e1d0c');
    assert.equal(push['@timestamp'], '2024-06-18T18:58:41.208311Z');
    assert.equal(push.oci_registry.original_timestamp, '2024-06-18T18:58:41.208311');
    assert.equal(push.event.action, 'manifest-push');
    assert.equal(push.user?.name, 'user-q');
    assert.equal(push.oci_registry.repository, 'user-q/busybox');
    assert.equal(push.oci_registry.tag, 'test-two');
    assert.equal(push.oci_registry.source_format, 'quay-kafka');
    const pull = ev(src.normalize(objs[1] ?? {}, lines[1] ?? '', {})[0]);
    assert.equal(pull.event.id, 'a0b1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d');
    assert.equal(pull['@timestamp'], '2024-06-18T19:04:00.000Z');
    assert.equal(pull.event.action, 'manifest-pull');
    assert.equal(pull.oci_registry.image_pull, true);
    assert.equal(pull.user, undefined);
    assert.deepEqual(pull.oci_registry.actor, { kind: 'anonymous', anonymous: true });
    assert.equal(pull.source?.ip, '198.51.100.45');
    assert.equal(pull.oci_registry.tag, 'latest');
  });

  test('naive datetimes in a configured server zone', () => {
    const src = createQuayKafkaSource({ kinds: { 53: 'push_repo' }, naiveZone: 'Europe/Berlin' });
    const e = ev(src.normalize(objs[0] ?? {}, lines[0] ?? '', {})[0]);
    assert.equal(e['@timestamp'], '2024-06-18T16:58:41.208311Z');
  });

  test('the registered default (no kind table) keeps the event as `other` naming the kind id', () => {
    assert.ok(quayKafkaSource.matches(objs[0] ?? {}));
    const e = ev(quayKafkaSource.normalize(objs[0] ?? {}, lines[0] ?? '', {})[0]);
    assert.equal(e.event.action, 'other');
    assert.equal(e.event.outcome, 'unknown');
    assert.equal(e.message, 'quay log kind_id 53 (not in the configured kind table)');
    assert.equal(e.oci_registry.repository, 'user-q/busybox');
  });

  test('metadata_json that is not JSON, or kind_id as a string, is a typed rejection', () => {
    const bad = quayKafkaSource.normalize({ ...objs[0], metadata_json: '{"repo": ' }, 'x', {})[0];
    assert.equal(bad?.kind === 'rejected' && bad.reason, 'schema_mismatch');
    assert.match(bad?.kind === 'rejected' ? bad.detail : '', /metadata_json/);
    const wrong = quayKafkaSource.normalize({ ...objs[0], kind_id: '53' }, 'x', {})[0];
    assert.equal(wrong?.kind === 'rejected' && wrong.reason, 'schema_mismatch');
    const time = quayKafkaSource.normalize({ ...objs[0], datetime: '18/06/2024' }, 'x', {})[0];
    assert.equal(time?.kind === 'rejected' && time.reason, 'invalid_timestamp');
  });
});
