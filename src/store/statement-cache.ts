import type { Database, Statement } from 'better-sqlite3';
import type { SqliteDatabase } from 'kysely';
import { LruCache } from '../../sandboxes/lru-cache.ts';

/**
 * The better-sqlite3 handle Kysely runs on, preparing each distinct SQL text once.
 *
 * Kysely's SQLite driver calls `prepare` for every query, and parsing the SQL again was ≈ 0.75 ms of
 * CPU per delivery at 20 events/s (CPU profile, bench/README.md): the same handful of statements run
 * for every event. SQLite re-prepares a cached statement by itself after a schema change.
 */
export function withStatementCache(db: Database, capacity = 500): SqliteDatabase {
  const cache = new LruCache<string, Statement>(capacity);
  return {
    close: () => db.close(),
    prepare(sql: string) {
      let stmt = cache.get(sql);
      // A statement still being iterated (Kysely's streamQuery) cannot run again until it finishes.
      if (!stmt || stmt.busy) {
        stmt = db.prepare(sql);
        cache.set(sql, stmt);
      }
      return stmt;
    },
  };
}
