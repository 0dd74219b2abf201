import { DatabaseSync } from 'node:sqlite';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { AppError } from '../../../../shared/src/errors.ts';
import type { EngineSnapshot } from '../engine.ts';
import type { StateStore } from './store.ts';

/**
 * Embedded-mode state: a local SQLite file (Node's built-in `node:sqlite`), one row per detector
 * instance, replaced atomically in a transaction (WAL journal, so a crash leaves the previous
 * snapshot intact).
 * @throws AppError INPUT_UNREADABLE when the file cannot be opened.
 */
export function sqliteStore(path: string, instance = 'detector'): StateStore {
  let db: DatabaseSync;
  try {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    db = new DatabaseSync(path);
    db.exec('PRAGMA journal_mode = WAL');
    db.exec(
      'CREATE TABLE IF NOT EXISTS detector_state (instance TEXT PRIMARY KEY, saved_at TEXT NOT NULL, body TEXT NOT NULL)',
    );
  } catch (err) {
    throw new AppError('INPUT_UNREADABLE', `cannot open detector state ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const get = db.prepare('SELECT body FROM detector_state WHERE instance = ?');
  const put = db.prepare(
    'INSERT INTO detector_state (instance, saved_at, body) VALUES (?, ?, ?) ON CONFLICT(instance) DO UPDATE SET saved_at = excluded.saved_at, body = excluded.body',
  );
  return {
    async load() {
      const row = get.get(instance) as { body: string } | undefined;
      return row ? (JSON.parse(row.body) as EngineSnapshot) : undefined;
    },
    async save(s) {
      put.run(instance, new Date().toISOString(), JSON.stringify(s));
    },
    async close() {
      db.close();
    },
  };
}
