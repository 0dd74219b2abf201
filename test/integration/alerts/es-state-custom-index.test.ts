import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSilence } from '../../../services/alerts/src/silences.ts';
import { createEsStore } from '../../../services/alerts/src/store/elasticsearch.ts';
import { BASE, finding, harness, T0 } from '../../unit/alerts/fixtures.ts';
import { esClient, uniqueName } from './support.ts';

/**
 * A custom ES_ALERT_STATE_INDEX is not covered by the index template `regwatch setup
 * elasticsearch` installs, so Elasticsearch maps it dynamically from the first document — which
 * may be a silence or throttle document without `due_at`. The store's queries must work anyway
 * (real Elasticsearch node).
 */
describe('alert state in an index without the regwatch template (custom ES_ALERT_STATE_INDEX)', () => {
  test('a silence written first (no due_at mapped yet): due groups are found, none missing', async () => {
    const client = esClient();
    const index = uniqueName('custom-alert-state');
    try {
      const store = createEsStore({ client, index });
      await store.putSilence(
        createSilence({ matchers: ['rule=x'], duration: '1h', createdBy: 'ci', comment: 'first doc' }, T0),
      );
      const mapping = await client.indices.getMapping({ index });
      assert.equal(
        (mapping[index]?.mappings.properties as Record<string, unknown>)['due_at'],
        undefined,
        'precondition: due_at is not mapped (dynamic mapping from a silence document)',
      );
      assert.deepEqual(await store.dueGroups(Date.now(), 10), [], 'no "No mapping found for [due_at]" error');
      assert.equal((await store.listSilences()).length, 1);

      // The engine on this store: a group is created, found due by the search, and notified.
      const h = harness(BASE(), { store });
      await h.step([finding()]);
      await client.indices.refresh({ index });
      assert.equal((await store.dueGroups(T0 + 30_000, 10)).length, 1, 'the due group is found by the search');
      await h.clock.advanceTo(T0 + 30_000);
      await h.engine.tick(); // search-based: the harness engine also knows the group through its hints
      await h.engine.idle();
      assert.equal(h.sent.length, 1);
      assert.equal((await store.firingAlerts()).length, 1);
    } finally {
      await client.indices.delete({ index, ignore_unavailable: true });
      await client.close();
    }
  });
});
