import type { Kysely } from 'kysely';
import { LruCache } from '../../sandboxes/lru-cache.ts';
import { precompiled } from './precompiled.ts';
import type { Database } from './schema.ts';

/**
 * A cache of what each attempt and transform reads (destination with its decrypted signing secrets,
 * connection with its decrypted secrets and tokens, pinned mapping version, the account's allowed
 * networks) and each ingested event (the account's enabled destinations), valid across processes and hosts.
 *
 * Every write to an account's destinations, connections, mappings, mapping versions or allow-list
 * bumps `accounts.config_version` in the same transaction: database triggers do it (migration
 * 0110), so no writer can forget, whether it is an API replica, a worker, `db:copy` or an operator's
 * SQL shell. A use reads that one integer by primary key and serves an entry only if it was cached
 * under the same number; any commit since makes every entry of that account a miss. The number is
 * read before the rows it validates, so a row read after a concurrent commit is at worst re-read.
 * Read per use, it costs one point query instead of the rows, the JSON and the decryption. Not chosen:
 * a change notification (LISTEN/NOTIFY) saves that query but may arrive after the next attempt has
 * started, and is lost while its connection is down; SQLite's `PRAGMA data_version` changes on every
 * other connection's commit, so the API's event inserts would empty a separate worker's cache for
 * every event, and it does not see this connection's own writes.
 */

/** One read of an account's config version; what is read under it is as of that moment. Use it for one activity only. */
export interface ConfigCheck {
  readonly accountId: string;
  /** undefined: no such account; nothing is served from memory or cached. */
  readonly version: number | undefined;
}

/** An account id (checked now) or a check made earlier in the same activity. */
export type ConfigScope = string | ConfigCheck;

export interface ConfigCache {
  check(scope: ConfigScope): Promise<ConfigCheck>;
  /**
   * `key`'s value for the check's account: from memory when it was cached under the version the check
   * read, else from `load`. A value is cached only when `ownerOf` names the check's account, so one
   * account's id never serves another account, and a missing row is never cached.
   */
  read<T extends object>(check: ConfigCheck, key: string, load: () => Promise<T | undefined>, ownerOf: (value: T) => string): Promise<T | undefined>;
  /** Served from memory / loaded, since the cache was made (tests, metrics). */
  stats(): { hits: number; misses: number; size: number };
}

const DEFAULT_CONFIG_CACHE_ENTRIES = 10_000;

function deepFreeze<T extends object>(value: T): T {
  for (const v of Object.values(value)) if (v && typeof v === 'object' && !Object.isFrozen(v)) deepFreeze(v as object);
  return Object.freeze(value);
}

export function createConfigCache(db: Kysely<Database>, capacity = DEFAULT_CONFIG_CACHE_ENTRIES): ConfigCache {
  // Runs for every attempt.
  const versionOf = precompiled(db, db.selectFrom('accounts').select('config_version').where('id', '=', ''));
  const entries = new LruCache<string, { version: number; value: object }>(capacity);
  let hits = 0;
  let misses = 0;
  return {
    async check(scope) {
      if (typeof scope !== 'string') return scope;
      const [row] = await versionOf([scope]);
      return { accountId: scope, version: row?.config_version };
    },
    async read<T extends object>(check: ConfigCheck, key: string, load: () => Promise<T | undefined>, ownerOf: (value: T) => string) {
      // The account id leads the key: entries of different accounts can never collide.
      const k = `${check.accountId}\u0000${key}`;
      const hit = check.version === undefined ? undefined : entries.get(k);
      if (hit && hit.version === check.version) {
        hits++;
        return hit.value as T;
      }
      misses++;
      const value = await load();
      if (value === undefined || check.version === undefined || ownerOf(value) !== check.accountId) return value;
      // Shared by every later use: frozen, so no caller can change what another attempt reads.
      entries.set(k, { version: check.version, value: deepFreeze(value) });
      return value;
    },
    stats: () => ({ hits, misses, size: entries.size }),
  };
}
