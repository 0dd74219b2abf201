import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { channels } from '../../../services/alerts/src/channels/index.ts';
import { finding, notificationOf, T0 } from './fixtures.ts';

describe('every registered channel honours the AlertChannel contract', () => {
  const n = notificationOf([finding()]);
  for (const [id, ch] of channels) {
    test(`${id}: example parses, type matches, render hides secrets, destination is a hash`, () => {
      assert.equal(ch.id, id);
      const cfg = ch.configSchema.parse(ch.example) as { type: string };
      assert.equal(cfg.type, id);
      assert.ok(ch.description.length > 10);
      const dest = ch.destination(cfg);
      const rendered = JSON.stringify(ch.render(n, cfg, {}, T0));
      const c = cfg as Record<string, unknown>;
      const secrets = [
        c['secret'],
        c['routing_key'],
        c['bot_token'],
        ...Object.values((c['headers'] as object) ?? {}),
      ].filter((v): v is string => typeof v === 'string');
      // Webhook URLs carry their token in the path or query (PagerDuty's URL is public; its key is routing_key).
      if (typeof c['url'] === 'string' && id !== 'pagerduty') {
        const u = new URL(c['url']);
        secrets.push(`${u.pathname}${u.search}`);
      }
      for (const secret of secrets) {
        assert.ok(!rendered.includes(secret), `${id} render leaks ${secret}`);
        assert.ok(!dest.includes(secret), `${id} destination leaks ${secret}`);
      }
      assert.throws(() => ch.configSchema.parse({ type: id, unknown_field: 1 }));
    });
  }
});
