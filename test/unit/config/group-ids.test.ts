/**
 * Consumer group ids of the three services follow REGWATCH_TOPIC_PREFIX by default
 * (`<prefix>ingest`, `<prefix>detector`, `<prefix>alerts`), so deployments isolated by a prefix
 * never share a group; an explicitly set group id is used as given. The detector's events index
 * follows ingest's ES_NAMESPACE the same way.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../../shared/src/config.ts';
import { AppError } from '../../../shared/src/errors.ts';
import { eventsDataStream } from '../../../shared/src/es/names.ts';
import { ingestEnvSchema } from '../../../services/ingest/src/config.ts';
import { detectorEnvSchema, detectorEventsIndex, detectorGroupId } from '../../../services/detector/src/env-config.ts';
import { alertsEnvSchema, alertsGroupId } from '../../../services/alerts/src/env-config.ts';

const TOKEN = 'a-token-of-16-chars-or-more';

describe('default consumer group ids', () => {
  test('no prefix: the historical names ingest, detector, alerts', () => {
    assert.equal(loadConfig(ingestEnvSchema, { RECEIVER_TOKENS: 't' }).kafka.groupId, 'ingest');
    assert.equal(detectorGroupId(loadConfig(detectorEnvSchema, {})), 'detector');
    assert.equal(alertsGroupId(loadConfig(alertsEnvSchema, { REGWATCH_ALERTS_TOKEN: TOKEN })), 'alerts');
  });

  test('REGWATCH_TOPIC_PREFIX prefixes the default group ids', () => {
    const P = { REGWATCH_TOPIC_PREFIX: 'tenant-a.' };
    assert.equal(loadConfig(ingestEnvSchema, { ...P, RECEIVER_TOKENS: 't' }).kafka.groupId, 'tenant-a.ingest');
    assert.equal(detectorGroupId(loadConfig(detectorEnvSchema, P)), 'tenant-a.detector');
    assert.equal(alertsGroupId(loadConfig(alertsEnvSchema, { ...P, REGWATCH_ALERTS_TOKEN: TOKEN })), 'tenant-a.alerts');
  });

  test('an explicitly set group id is used as given (no prefix added); empty counts as unset for ingest/detector', () => {
    const P = { REGWATCH_TOPIC_PREFIX: 'tenant-a.' };
    assert.equal(
      loadConfig(ingestEnvSchema, { ...P, RECEIVER_TOKENS: 't', INGEST_GROUP_ID: 'shared-ingest' }).kafka.groupId,
      'shared-ingest',
    );
    assert.equal(
      loadConfig(ingestEnvSchema, { ...P, RECEIVER_TOKENS: 't', INGEST_GROUP_ID: ' ' }).kafka.groupId,
      'tenant-a.ingest',
    );
    assert.equal(detectorGroupId(loadConfig(detectorEnvSchema, { ...P, DETECTOR_GROUP_ID: 'det-1' })), 'det-1');
    assert.equal(detectorGroupId(loadConfig(detectorEnvSchema, { ...P, DETECTOR_GROUP_ID: '' })), 'tenant-a.detector');
    assert.equal(
      alertsGroupId(
        loadConfig(alertsEnvSchema, { ...P, REGWATCH_ALERTS_TOKEN: TOKEN, REGWATCH_ALERTS_GROUP_ID: 'alerts-x' }),
      ),
      'alerts-x',
    );
  });
});

describe('detector events index follows ES_NAMESPACE (the data streams ingest writes)', () => {
  const globMatch = (pattern: string, name: string): boolean =>
    new RegExp(
      `^${pattern
        .split('*')
        .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
        .join('.*')}$`,
    ).test(name);

  test('default namespace: logs-oci_registry.*-default, like ingest’s default', () => {
    const index = detectorEventsIndex(loadConfig(detectorEnvSchema, {}));
    assert.equal(index, 'logs-oci_registry.*-default');
    assert.equal(loadConfig(ingestEnvSchema, { RECEIVER_TOKENS: 't' }).indices.namespace, 'default');
  });

  test('ES_NAMESPACE=tenant_a matches ingest’s streams of that namespace and no other', () => {
    const index = detectorEventsIndex(loadConfig(detectorEnvSchema, { ES_NAMESPACE: 'tenant_a' }));
    assert.equal(index, 'logs-oci_registry.*-tenant_a');
    assert.ok(globMatch(index, eventsDataStream('oci_registry.notification', 'tenant_a')));
    assert.ok(globMatch(index, eventsDataStream('harbor.webhook', 'tenant_a')));
    assert.ok(!globMatch(index, eventsDataStream('oci_registry.notification', 'default')));
  });

  test('DETECTOR_EVENTS_INDEX set explicitly wins; a bad ES_NAMESPACE is a CONFIG_INVALID problem', () => {
    const cfg = loadConfig(detectorEnvSchema, {
      ES_NAMESPACE: 'tenant_a',
      DETECTOR_EVENTS_INDEX: 'logs-oci_registry.*-*',
    });
    assert.equal(detectorEventsIndex(cfg), 'logs-oci_registry.*-*');
    assert.throws(
      () => loadConfig(detectorEnvSchema, { ES_NAMESPACE: 'Tenant-A' }),
      (e: unknown) => e instanceof AppError && e.code === 'CONFIG_INVALID' && /ES_NAMESPACE/.test(e.message),
    );
  });
});
