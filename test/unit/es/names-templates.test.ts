import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  eventsDataStream,
  eventsDataset,
  assertValidNamespace,
  EVENTS_INDEX_PATTERN,
  FINDINGS_INDEX,
} from '../../../shared/src/es/names.ts';
import { EVENT_DATASETS } from '../../../shared/src/model/registry-event.ts';
import {
  buildAssets,
  canonicalJson,
  assetHash,
  globMatch,
  ilmPolicyBody,
  resolveRetention,
  templateFor,
  withHash,
  TEMPLATE_PRIORITY,
} from '../../../shared/src/es/templates.ts';
import { AppError } from '../../../shared/src/errors.ts';
import { esConfigSchema } from '../../../shared/src/es/client.ts';

describe('data stream names', () => {
  test('events data streams follow logs-<dataset>-<namespace> with no "-" inside the dataset', () => {
    assert.equal(eventsDataStream('oci_registry.notification'), 'logs-oci_registry.notification-default');
    assert.equal(eventsDataStream('harbor.webhook', 'prod'), 'logs-oci_registry.harbor_webhook-prod');
    assert.equal(eventsDataStream('notification'), 'logs-oci_registry.notification-default');
    assert.equal(eventsDataset('Quay-Audit'), 'oci_registry.quay_audit');
    for (const ds of EVENT_DATASETS) {
      const name = eventsDataStream(ds);
      const [type, dataset, namespace, ...rest] = name.split('-');
      assert.equal(rest.length, 0, name);
      assert.equal(type, 'logs');
      assert.ok(dataset && dataset.length <= 100 && /^oci_registry\.[a-z0-9_]+$/.test(dataset), name);
      assert.equal(namespace, 'default');
      assert.ok(globMatch(EVENTS_INDEX_PATTERN, name));
    }
  });

  test('invalid namespaces are CONFIG_INVALID', () => {
    for (const bad of ['', 'Prod', 'a-b', 'a b', 'x*', 'a'.repeat(101)]) {
      assert.throws(
        () => assertValidNamespace(bad),
        (e: unknown) => e instanceof AppError && e.code === 'CONFIG_INVALID',
        bad,
      );
    }
    assert.equal(assertValidNamespace('it_123'), 'it_123');
  });
});

describe('index templates, component templates, ILM', () => {
  const withIlm = buildAssets({ ilm: true });
  const noIlm = buildAssets({ ilm: false });

  test('every index template composes existing components, has priority above logs-*-* and the events template is a data stream', () => {
    for (const t of withIlm.indexTemplates) {
      assert.ok((t.body.priority as number) > 100);
      assert.equal(t.body.priority, TEMPLATE_PRIORITY);
      for (const c of t.body.composed_of as string[]) {
        const optional = (t.body.ignore_missing_component_templates as string[]).includes(c);
        assert.ok(optional || withIlm.componentTemplates.some((x) => x.name === c), `${t.name}: ${c} missing`);
      }
    }
    assert.deepEqual(templateFor(withIlm, 'logs-oci_registry.notification-default')?.body.data_stream, {});
    assert.equal(templateFor(withIlm, FINDINGS_INDEX)?.body.data_stream, undefined);
  });

  test('no two of our templates match the same name', () => {
    const samples = [
      'logs-oci_registry.log-default',
      'regwatch-findings',
      'regwatch-findings-000001',
      'regwatch-alert-deliveries-000001',
      'regwatch-alert-state',
      'regwatch-storage',
      'regwatch-forecasts',
      'regwatch-pipeline-000003',
    ];
    for (const s of samples) {
      const matching = withIlm.indexTemplates.filter((t) =>
        (t.body.index_patterns as string[]).some((p) => globMatch(p, s)),
      );
      assert.equal(matching.length, 1, `${s}: ${matching.map((m) => m.name).join(', ')}`);
    }
  });

  test('every index.lifecycle.name refers to a policy we ship; without ILM no lifecycle settings at all', () => {
    for (const c of withIlm.componentTemplates) {
      const s = (c.body.template as { settings?: Record<string, unknown> }).settings ?? {};
      const name = s['index.lifecycle.name'];
      if (name !== undefined)
        assert.ok(
          withIlm.ilmPolicies.some((p) => p.name === name),
          `${c.name}: ${String(name)}`,
        );
    }
    assert.equal(withIlm.ilmPolicies.length, 5);
    assert.equal(noIlm.ilmPolicies.length, 0);
    assert.ok(!JSON.stringify(noIlm.componentTemplates).includes('lifecycle'));
  });

  test('ILM: hot → warm → delete with the configured retention; audit data defaults long', () => {
    const body = ilmPolicyBody(400) as { policy: { phases: Record<string, { min_age: string }> } };
    assert.deepEqual(Object.keys(body.policy.phases), ['hot', 'warm', 'delete']);
    assert.equal(body.policy.phases.delete?.min_age, '400d');
    assert.equal(body.policy.phases.warm?.min_age, '30d');
    const short = ilmPolicyBody(7) as { policy: { phases: Record<string, { min_age: string }> } };
    assert.equal(short.policy.phases.warm?.min_age, '3d');
    assert.ok(resolveRetention().events >= 365);
    assert.equal(resolveRetention({ events: 30 }).events, 30);
    assert.throws(
      () => resolveRetention({ events: 1 }),
      (e: unknown) => e instanceof AppError && e.code === 'CONFIG_INVALID',
    );
    assert.throws(
      () => resolveRetention({ storage: 2.5 }),
      (e: unknown) => e instanceof AppError && e.code === 'CONFIG_INVALID',
    );
  });

  test('asset hash is independent of key order and changes with content', () => {
    assert.equal(canonicalJson({ b: 1, a: [2, { d: 1, c: 2 }] }), '{"a":[2,{"c":2,"d":1}],"b":1}');
    assert.equal(assetHash({ a: 1, b: 2 }), assetHash({ b: 2, a: 1 }));
    assert.notEqual(assetHash({ a: 1 }), assetHash({ a: 2 }));
    const p = withHash('ilm_policy', ilmPolicyBody(10));
    assert.equal((p.body.policy as { _meta: { regwatch_hash: string } })._meta.regwatch_hash, p.hash);
  });

  test('the events mapping never uses types a minimal distribution lacks', () => {
    const json = JSON.stringify(withIlm.componentTemplates);
    for (const t of ['match_only_text', 'scaled_float', 'wildcard', 'constant_keyword', 'flattened'])
      assert.ok(!json.includes(`"${t}"`), t);
  });
});

describe('esConfigSchema', () => {
  test('defaults, credentials rules', () => {
    const c = esConfigSchema.parse({ nodes: ['http://127.0.0.1:9200'] });
    assert.equal(c.requestTimeoutMs, 30000);
    assert.equal(c.tlsRejectUnauthorized, true);
    assert.equal(esConfigSchema.safeParse({ nodes: ['http://x:9200'], username: 'u' }).success, false);
    assert.equal(
      esConfigSchema.safeParse({ nodes: ['http://x:9200'], username: 'u', password: 'p', apiKey: 'k' }).success,
      false,
    );
    assert.equal(esConfigSchema.safeParse({ nodes: [] }).success, false);
    assert.equal(esConfigSchema.safeParse({ nodes: ['http://x:9200'], apiKey: 'k' }).success, true);
  });
});
