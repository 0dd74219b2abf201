import type { GroupState } from '../group.ts';
import type { InhibitSource } from '../inhibit.ts';
import type { Silence } from '../silences.ts';
import type { ThrottleState } from '../throttle.ts';
import { firingOf, type AlertStore, type Versioned } from './types.ts';

/**
 * In-memory AlertStore (unit tests, single short-lived processes). Values are deep-copied
 * through JSON on the way in and out, so callers cannot mutate stored state.
 */
export function createMemoryStore(): AlertStore {
  const groups = new Map<string, { json: string; version: number; dueAt: number }>();
  const throttles = new Map<string, ThrottleState>();
  const silences = new Map<string, Silence>();
  let counter = 0;
  return {
    async getGroup(key) {
      const g = groups.get(key);
      return g
        ? ({ value: JSON.parse(g.json) as GroupState, version: String(g.version) } satisfies Versioned<GroupState>)
        : undefined;
    },
    async putGroup(group, dueAt, version) {
      const cur = groups.get(group.key);
      if (version === undefined ? cur !== undefined : cur === undefined || String(cur.version) !== version)
        return undefined;
      groups.set(group.key, { json: JSON.stringify(group), version: ++counter, dueAt });
      return String(counter);
    },
    async deleteGroup(key, version) {
      const cur = groups.get(key);
      if (!cur || String(cur.version) !== version) return false;
      groups.delete(key);
      return true;
    },
    async dueGroups(now, limit) {
      return [...groups.entries()]
        .filter(([, g]) => g.dueAt <= now)
        .sort((a, b) => a[1].dueAt - b[1].dueAt)
        .slice(0, limit)
        .map(([k]) => k);
    },
    async firingAlerts() {
      const out: InhibitSource[] = [];
      for (const g of groups.values()) out.push(...firingOf(JSON.parse(g.json) as GroupState));
      return out;
    },
    async getThrottle(key) {
      return throttles.get(key);
    },
    async putThrottle(key, state) {
      throttles.set(key, state);
    },
    async putSilence(s) {
      silences.set(s.id, s);
    },
    async getSilence(id) {
      return silences.get(id);
    },
    async listSilences() {
      return [...silences.values()];
    },
    async close() {},
  };
}
