import { setTimeout as sleep } from 'node:timers/promises';
import { CompiledQuery, SqliteDialect, type DatabaseConnection, type Driver, type QueryResult, type TransactionSettings } from 'kysely';
import { AppError } from '../errors.ts';

/**
 * How long one database call may wait for a lock held by another process (the worker, a backup, an
 * operator's sqlite3 shell) before it gives up with `503 database_busy`, counted from the moment the
 * call asked for the connection. better-sqlite3 is synchronous: SQLite's own busy handler would
 * sleep on the event loop, so it gets only a few milliseconds and the waiting happens here, between
 * tries, with the event loop free.
 */
export const BUSY_BUDGET_MS = 1000;
/** SQLite's own busy handler: the longest one try may block the event loop. */
export const BUSY_TIMEOUT_MS = 5;
const BUSY_RETRY_AFTER_S = 1;
/** What a call gets after it holds the connection, however long it queued for it. */
const MIN_TRIES_MS = 20;

const RETRYABLE = new Set(['SQLITE_BUSY', 'SQLITE_BUSY_RECOVERY', 'SQLITE_BUSY_TIMEOUT']);

export const databaseBusy = (why = 'is locked by another process'): AppError =>
  new AppError(503, 'database_busy', `The database ${why}; nothing was changed. Try again in ${BUSY_RETRY_AFTER_S} s`, {
    retry_after_s: BUSY_RETRY_AFTER_S,
  });

export const codeOf = (err: unknown): string | undefined => (err as { code?: unknown } | null)?.code as string | undefined;

/**
 * What a failed database call means: `wait` (it may succeed if tried again soon), `refuse` (temporary,
 * but trying the same statement again cannot help: answer 503 now), or undefined (a real error).
 */
export type Transience = 'wait' | 'refuse' | undefined;
export type TransienceOf = (err: unknown) => Transience;

function sqliteTransience(err: unknown): Transience {
  const code = codeOf(err);
  // A stale snapshot (another process wrote since this transaction read) never clears by waiting.
  if (code === 'SQLITE_BUSY_SNAPSHOT') return 'refuse';
  return code && RETRYABLE.has(code) ? 'wait' : undefined;
}

/**
 * Runs `fn` until it does not fail with a `wait` error (SQLITE_BUSY by default), sleeping 2, 4, 8 …
 * 100 ms between tries, until `deadline`; a temporary failure left at the end is `503 database_busy`.
 * The one place a dialect's transient errors become that answer (src/store/postgres.ts classifies
 * PostgreSQL's).
 */
export async function retryBusy<T>(
  fn: () => T | Promise<T>,
  deadline: number,
  transience: TransienceOf = sqliteTransience,
  why?: string,
): Promise<T> {
  for (let wait = 2; ; wait = Math.min(wait * 2, 100)) {
    try {
      return await fn();
    } catch (err) {
      const kind = transience(err);
      if (kind === 'refuse') throw databaseBusy(why);
      if (kind !== 'wait') throw err;
      const left = deadline - Date.now();
      if (left <= 0) throw databaseBusy(why);
      await sleep(Math.min(wait, left));
    }
  }
}

/**
 * How a dialect's driver meets its transient errors (GuardedDriver, below): SQLite's here,
 * PostgreSQL's in src/store/postgres.ts.
 */
export interface DriverGuard {
  /** Runs one statement (transaction commands included) of a caller whose budget ends at `deadline`. */
  statement<T>(run: () => Promise<T>, deadline: number): Promise<T>;
  /** Gets a connection for a caller whose budget ends at `deadline`; unset: asks once. */
  acquire?(get: () => Promise<DatabaseConnection>, deadline: number): Promise<DatabaseConnection>;
  /** Starts a transaction on the guarded connection; unset: as the inner driver does. */
  begin?(connection: DatabaseConnection): Promise<void>;
}

/** A connection of the inner driver whose every statement runs through the guard, with its holder's deadline. */
class GuardedConnection implements DatabaseConnection {
  deadline = 0;
  constructor(
    readonly inner: DatabaseConnection,
    private readonly guard: DriverGuard,
  ) {}
  executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    return this.guard.statement(() => this.inner.executeQuery<R>(query), this.deadline);
  }
  streamQuery<R>(query: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    return this.inner.streamQuery<R>(query, chunkSize);
  }
}

/** Kysely's driver of a dialect, its connections guarded against that dialect's transient errors. */
export class GuardedDriver implements Driver {
  readonly #wrapped = new WeakMap<DatabaseConnection, GuardedConnection>();
  constructor(
    private readonly inner: Driver,
    private readonly guard: DriverGuard,
  ) {}
  init(): Promise<void> {
    return this.inner.init();
  }
  async acquireConnection(): Promise<DatabaseConnection> {
    // The budget starts before the wait for a connection (Kysely's mutex on SQLite, the pool on
    // PostgreSQL): callers queued behind a caller that is waiting out a lock do not each wait a full
    // budget after it. Each still gets a few tries, so a long queue under load does not turn a brief
    // lock into a refusal.
    const deadline = Date.now() + BUSY_BUDGET_MS;
    const get = () => this.inner.acquireConnection();
    const inner = await (this.guard.acquire ? this.guard.acquire(get, deadline) : get());
    let conn = this.#wrapped.get(inner);
    if (!conn) this.#wrapped.set(inner, (conn = new GuardedConnection(inner, this.guard)));
    conn.deadline = Math.max(deadline, Date.now() + MIN_TRIES_MS);
    return conn;
  }
  // BEGIN and COMMIT are statements on the guarded connection; the rest need the inner driver's own
  // connection (Kysely's PostgreSQL driver reaches private members of it).
  beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    return this.guard.begin ? this.guard.begin(connection) : this.inner.beginTransaction(connection, settings);
  }
  commitTransaction(connection: DatabaseConnection): Promise<void> {
    return this.inner.commitTransaction(connection);
  }
  rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    const c = connection as GuardedConnection;
    return this.guard.statement(() => this.inner.rollbackTransaction(c.inner), c.deadline);
  }
  releaseConnection(connection: DatabaseConnection): Promise<void> {
    return this.inner.releaseConnection((connection as GuardedConnection).inner);
  }
  destroy(): Promise<void> {
    return this.inner.destroy();
  }
}

const sqliteGuard: DriverGuard = {
  statement: (run, deadline) => retryBusy(run, deadline),
  // Every transaction here reads then writes: taking the write lock at BEGIN makes the wait for
  // another process's lock a retry of BEGIN alone, instead of a failed upgrade half-way through.
  async begin(connection) {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  },
};

/** Kysely's SQLite dialect whose queries wait out another process's lock without blocking the event loop. */
export class BusyRetryingSqliteDialect extends SqliteDialect {
  override createDriver(): Driver {
    return new GuardedDriver(super.createDriver(), sqliteGuard);
  }
}
