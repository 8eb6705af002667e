import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator } from 'kysely';
import { BUSY_TIMEOUT_MS, BusyRetryingSqliteDialect } from './busy-retry.ts';
import { migrationProvider } from './migrations.ts';
import { withStatementCache } from './statement-cache.ts';
import type { Database } from './schema.ts';

/** Opens (creating if needed) the SQLite control-plane database and brings its schema up to date. */
export async function openDatabase(file: string): Promise<Kysely<Database>> {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const sqlite = new SQLite(file);
  // WAL lets the API and worker processes read while the other writes. A lock held by another
  // process is waited out by the dialect, asynchronously (src/store/busy-retry.ts): SQLite's own
  // busy handler sleeps on the event loop, so it only gets a few milliseconds per try.
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('synchronous = NORMAL');
  const db = new Kysely<Database>({ dialect: new BusyRetryingSqliteDialect({ database: withStatementCache(sqlite) }) });
  const { error, results } = await new Migrator({ db, provider: migrationProvider }).migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    await db.destroy();
    throw new Error(`Database migration failed${failed ? ` at ${failed.migrationName}` : ''}: ${String(error)}`);
  }
  return db;
}
