import { DatabaseSync } from 'node:sqlite';
import type { GroupState } from '../group.ts';
import type { InhibitSource } from '../inhibit.ts';
import type { Silence } from '../silences.ts';
import type { ThrottleState } from '../throttle.ts';
import { firingOf, type AlertStore } from './types.ts';

/**
 * AlertStore on a local SQLite file (`node:sqlite`, built into Node 24) for the embedded mode:
 * state survives restarts; compare-and-set through a `version` column. One process per file.
 * @param path database file (`:memory:` for a throwaway store)
 */
export function createSqliteStore(path: string): AlertStore {
  const db = new DatabaseSync(path);
  db.exec(`
    PRAGMA journal_mode = WAL;
    PRAGMA synchronous = NORMAL;
    CREATE TABLE IF NOT EXISTS alert_groups (key TEXT PRIMARY KEY, json TEXT NOT NULL, firing TEXT NOT NULL, version INTEGER NOT NULL, due_at INTEGER NOT NULL);
    CREATE INDEX IF NOT EXISTS alert_groups_due ON alert_groups (due_at);
    CREATE TABLE IF NOT EXISTS alert_throttles (key TEXT PRIMARY KEY, json TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS alert_silences (id TEXT PRIMARY KEY, json TEXT NOT NULL, ends_at INTEGER NOT NULL);
  `);
  const getG = db.prepare('SELECT json, version FROM alert_groups WHERE key = ?');
  const insG = db.prepare(
    'INSERT OR IGNORE INTO alert_groups (key, json, firing, version, due_at) VALUES (?, ?, ?, 1, ?)',
  );
  const updG = db.prepare(
    'UPDATE alert_groups SET json = ?, firing = ?, version = version + 1, due_at = ? WHERE key = ? AND version = ?',
  );
  const delG = db.prepare('DELETE FROM alert_groups WHERE key = ? AND version = ?');
  const dueG = db.prepare('SELECT key FROM alert_groups WHERE due_at <= ? ORDER BY due_at LIMIT ?');
  const firingG = db.prepare('SELECT firing FROM alert_groups');
  const getT = db.prepare('SELECT json FROM alert_throttles WHERE key = ?');
  const putT = db.prepare(
    'INSERT INTO alert_throttles (key, json) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET json = excluded.json',
  );
  const putS = db.prepare(
    'INSERT INTO alert_silences (id, json, ends_at) VALUES (?, ?, ?) ON CONFLICT(id) DO UPDATE SET json = excluded.json, ends_at = excluded.ends_at',
  );
  const getS = db.prepare('SELECT json FROM alert_silences WHERE id = ?');
  const listS = db.prepare('SELECT json FROM alert_silences');
  return {
    async getGroup(key) {
      const row = getG.get(key) as { json: string; version: number } | undefined;
      return row ? { value: JSON.parse(row.json) as GroupState, version: String(row.version) } : undefined;
    },
    async putGroup(group, dueAt, version) {
      const json = JSON.stringify(group);
      const firing = JSON.stringify(firingOf(group));
      const r =
        version === undefined
          ? insG.run(group.key, json, firing, dueAt)
          : updG.run(json, firing, dueAt, group.key, Number(version));
      if (Number(r.changes) !== 1) return undefined;
      return version === undefined ? '1' : String(Number(version) + 1);
    },
    async deleteGroup(key, version) {
      return Number(delG.run(key, Number(version)).changes) === 1;
    },
    async dueGroups(now, limit) {
      return (dueG.all(now, limit) as { key: string }[]).map((r) => r.key);
    },
    async firingAlerts() {
      const out: InhibitSource[] = [];
      for (const r of firingG.all() as { firing: string }[]) out.push(...(JSON.parse(r.firing) as InhibitSource[]));
      return out;
    },
    async getThrottle(key) {
      const row = getT.get(key) as { json: string } | undefined;
      return row ? (JSON.parse(row.json) as ThrottleState) : undefined;
    },
    async putThrottle(key, state) {
      putT.run(key, JSON.stringify(state));
    },
    async putSilence(s) {
      putS.run(s.id, JSON.stringify(s), s.endsAt);
    },
    async getSilence(id) {
      const row = getS.get(id) as { json: string } | undefined;
      return row ? (JSON.parse(row.json) as Silence) : undefined;
    },
    async listSilences() {
      return (listS.all() as { json: string }[]).map((r) => JSON.parse(r.json) as Silence);
    },
    async close() {
      db.close();
    },
  };
}
