import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, SqliteQueryCompiler, type Dialect, type QueryCompiler, type SelectQueryNode } from 'kysely';
import { BUSY_TIMEOUT_MS, BusyRetryingSqliteDialect } from './busy-retry.ts';
import { migrationProvider } from './migrations.ts';
import { postgresDialect, type PostgresTarget } from './postgres.ts';
import { withStatementCache } from './statement-cache.ts';
import type { Database } from './schema.ts';

/** Where the control plane lives: a SQLite file (the embedded default) or a PostgreSQL database. */
export type DatabaseTarget = { file: string } | PostgresTarget;

export type DialectName = 'sqlite' | 'postgres';

export const dialectOf = (target: DatabaseTarget): DialectName => ('url' in target ? 'postgres' : 'sqlite');

/** DATABASE_URL when set, else `<data dir>/voiceoi.db`. */
export function databaseTargetOf(config: { DATABASE_URL?: string; VOICEOI_DATABASE_POOL: number; VOICEOI_DATA_DIR: string }): DatabaseTarget {
  return config.DATABASE_URL ? { url: config.DATABASE_URL, poolSize: config.VOICEOI_DATABASE_POOL } : { file: join(config.VOICEOI_DATA_DIR, 'voiceoi.db') };
}

const ROW_LOCKS = new Set(['ForUpdate', 'ForNoKeyUpdate', 'ForShare', 'ForKeyShare', 'NoWait', 'SkipLocked']);

/**
 * SQLite has no row locks: a transaction here takes the database's write lock at BEGIN
 * (src/store/busy-retry.ts), which already covers every row. Stores write `.forUpdate()` on the rows
 * a transaction reads then rewrites (PostgreSQL needs it); this compiler leaves it out.
 */
class RowLockFreeSqliteCompiler extends SqliteQueryCompiler {
  protected override visitSelectQuery(node: SelectQueryNode): void {
    const kept = node.endModifiers?.filter((m) => !(m.modifier && ROW_LOCKS.has(m.modifier)));
    super.visitSelectQuery(kept?.length === node.endModifiers?.length ? node : { ...node, endModifiers: kept });
  }
}

class ControlPlaneSqliteDialect extends BusyRetryingSqliteDialect {
  override createQueryCompiler(): QueryCompiler {
    return new RowLockFreeSqliteCompiler();
  }
}

function sqliteDialect(file: string): Dialect {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const sqlite = new SQLite(file);
  // WAL lets the API and worker processes read while the other writes. A lock held by another
  // process is waited out by the dialect, asynchronously (src/store/busy-retry.ts): SQLite's own
  // busy handler sleeps on the event loop, so it only gets a few milliseconds per try.
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('synchronous = NORMAL');
  return new ControlPlaneSqliteDialect({ database: withStatementCache(sqlite) });
}

/**
 * Opens (creating a SQLite file if needed) the control-plane database and brings its schema up to
 * date. One migration list serves both dialects; on PostgreSQL, replicas starting together take
 * turns (Kysely's migrator holds an advisory lock).
 */
export async function openDatabase(target: DatabaseTarget): Promise<Kysely<Database>> {
  const db = new Kysely<Database>({ dialect: 'url' in target ? postgresDialect(target) : sqliteDialect(target.file) });
  const { error, results } = await new Migrator({ db, provider: migrationProvider }).migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    await db.destroy();
    throw new Error(`Database migration failed${failed ? ` at ${failed.migrationName}` : ''}: ${String(error)}`);
  }
  return db;
}
