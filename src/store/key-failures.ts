import type { Kysely } from 'kysely';
import { precompiled } from './precompiled.ts';
import type { Database } from './schema.ts';

/** One client address's failed API-key attempts in its current window. */
export interface KeyFailureCount {
  failures: number;
  /** Epoch ms the window ends at. */
  windowEndsMs: number;
}

/**
 * Failed API-key attempts per client address, in the database so that every API replica counts the
 * same failures (src/auth-rate-limit.ts keeps the rules). A window opens at an address's first
 * failure and lasts `windowMs`; a failure after it ends opens the next one.
 */
export interface KeyFailureStore {
  /** Counts one failure of `key` at `nowMs` and answers the count of its window. */
  record(key: string, windowMs: number, nowMs?: number): Promise<KeyFailureCount>;
  /** The count of `key`'s open window, without counting; none when it has no open window. */
  read(key: string, windowMs: number, nowMs?: number): Promise<KeyFailureCount | undefined>;
  /** Deletes the windows that ended before `beforeMs`; answers how many. */
  prune(windowMs: number, beforeMs?: number): Promise<number>;
}

export function createKeyFailureStore(deps: { db: Kysely<Database> }): KeyFailureStore {
  const { db } = deps;
  // `read` runs for every request that presents a key.
  const openWindowOf = precompiled(db, db.selectFrom('key_failures').select(['failures', 'window_started_ms']).where('key', '=', '').where('window_started_ms', '>', 0));
  return {
    async record(key, windowMs, nowMs = Date.now()) {
      const ended = nowMs - windowMs;
      // One statement, so two replicas counting the same address at once both count.
      const row = await db
        .insertInto('key_failures')
        .values({ key, failures: 1, window_started_ms: nowMs })
        .onConflict((oc) =>
          oc.column('key').doUpdateSet((eb) => {
            const over = eb('key_failures.window_started_ms', '<=', ended);
            return {
              failures: eb.case().when(over).then(1).else(eb('key_failures.failures', '+', 1)).end(),
              window_started_ms: eb.case().when(over).then(nowMs).else(eb.ref('key_failures.window_started_ms')).end(),
            };
          }),
        )
        .returning(['failures', 'window_started_ms'])
        .executeTakeFirstOrThrow();
      return { failures: Number(row.failures), windowEndsMs: Number(row.window_started_ms) + windowMs };
    },
    async read(key, windowMs, nowMs = Date.now()) {
      const [row] = await openWindowOf([key, nowMs - windowMs]);
      return row && { failures: Number(row.failures), windowEndsMs: Number(row.window_started_ms) + windowMs };
    },
    async prune(windowMs, beforeMs = Date.now()) {
      const res = await db.deleteFrom('key_failures').where('window_started_ms', '<=', beforeMs - windowMs).executeTakeFirst();
      return Number(res.numDeletedRows);
    },
  };
}
