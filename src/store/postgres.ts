import pg from 'pg';
import { PostgresDialect, type Driver } from 'kysely';
import { AppError } from '../errors.ts';
import { BUSY_BUDGET_MS, codeOf, databaseBusy, GuardedDriver, retryBusy, type DriverGuard, type Transience } from './busy-retry.ts';

/** How long a request may wait for a free connection of the pool before it is answered `503 database_busy`. */
const POOL_WAIT_MS = 5000;

// SQLSTATE classes and codes that say "not now" rather than "wrong" (PostgreSQL, Appendix A).
const REFUSE = new Set([
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '55P03', // lock_not_available: lock_timeout (below) ran out while another replica held the row
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
]);
const WAIT = new Set([
  '53300', // too_many_connections
  '57P03', // cannot_connect_now (starting up, recovering)
  '08000', '08001', '08003', '08004', '08006', // connection exceptions
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'EAI_AGAIN',
]);

/** PostgreSQL's transient errors, for retryBusy (src/store/busy-retry.ts): the same 503 as SQLite's busy. */
function postgresTransience(err: unknown): Transience {
  const code = codeOf(err);
  if (code && REFUSE.has(code)) return 'refuse';
  if (code && WAIT.has(code)) return 'wait';
  // pg's own words for a pool that found no free connection in time, or a socket that went away.
  const message = err instanceof Error ? err.message : '';
  if (/timeout exceeded when trying to connect|Connection terminated/i.test(message)) return 'wait';
  return undefined;
}

const BUSY_WHY = 'server is busy or unreachable (a lock held by another replica, no free connection, a restart)';

// PostgreSQL text cannot hold U+0000 (SQLite can): a tenant's string with one is their input to fix, not a 500.
const nulInText = (): AppError =>
  new AppError(400, 'invalid_text', 'Text fields cannot contain the NUL character (\\u0000); nothing was changed');

async function refuseTransient<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (codeOf(err) === '22021' && /0x00/.test(err instanceof Error ? err.message : '')) throw nulInText();
    throw postgresTransience(err) ? databaseBusy(BUSY_WHY) : err;
  }
}

/**
 * Every statement's transient failure becomes `503 database_busy`. Only getting a connection is
 * retried (for the same budget as SQLite's lock): a statement may be part of a transaction, which
 * only its caller can run again.
 */
const postgresGuard: DriverGuard = {
  statement: (run) => refuseTransient(run),
  acquire: (get, deadline) => retryBusy(get, deadline, postgresTransience, BUSY_WHY),
};

class TransientMappingPostgresDialect extends PostgresDialect {
  override createDriver(): Driver {
    return new GuardedDriver(super.createDriver(), postgresGuard);
  }
}

// int8 (bigint, e.g. the epoch-ms refresh lease) arrives as a string by default; every such value
// here is far below 2^53, and the stores compare it as a number, as they do on SQLite.
const INT8_OID = 20;
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID && format !== 'binary' ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

export interface PostgresTarget {
  url: string;
  /** Connections this process keeps open at most (VOICEOI_DATABASE_POOL). */
  poolSize?: number;
}

/** Kysely's PostgreSQL dialect over a `pg` pool, its transient errors answered like SQLite's busy. */
export function postgresDialect(target: PostgresTarget): PostgresDialect {
  const pool = new pg.Pool({
    connectionString: target.url,
    max: target.poolSize ?? 10,
    connectionTimeoutMillis: POOL_WAIT_MS,
    idleTimeoutMillis: 30_000,
    application_name: 'voiceoi-hooks',
    // A row another replica holds locked is waited for as long as SQLite waits for its file lock.
    options: `-c lock_timeout=${BUSY_BUDGET_MS}`,
    types,
  });
  // An idle connection the server dropped is replaced on next use; without a listener it would crash the process.
  pool.on('error', () => {});
  return new TransientMappingPostgresDialect({ pool });
}

export const isPostgresUrl = (url: string): boolean => /^postgres(ql)?:\/\//i.test(url);
