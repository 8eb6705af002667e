import type { Kysely, Selectable } from 'kysely';
import type { Account } from './accounts.ts';
import type { Database, SessionsTable } from './schema.ts';

export type SessionRow = Selectable<SessionsTable>;

/** Console sessions, keyed by the hash of their id (src/sessions.ts decides when one is alive). */
export interface SessionStore {
  /** Stores a new session; sessions ended before `deadBefore` (idle) or past their end are swept. */
  create(row: SessionRow, deadBefore: { idleSince: string; now: string }): Promise<void>;
  find(idHash: string): Promise<{ session: SessionRow; account: Account } | undefined>;
  touch(idHash: string, at: string): Promise<void>;
  /** True when a session was removed. */
  revoke(idHash: string): Promise<boolean>;
  /** Ends every session of an account; returns how many there were. */
  revokeAccount(accountId: string): Promise<number>;
}

export function createSessionStore(deps: { db: Kysely<Database> }): SessionStore {
  const { db } = deps;
  return {
    async create(row, dead) {
      // Dead sessions are swept at each sign-in rather than by a timer.
      await db
        .deleteFrom('sessions')
        .where((eb) => eb.or([eb('expires_at', '<=', dead.now), eb('last_seen_at', '<', dead.idleSince)]))
        .execute();
      await db.insertInto('sessions').values(row).execute();
    },
    async find(idHash) {
      const row = await db
        .selectFrom('sessions')
        .innerJoin('accounts', 'accounts.id', 'sessions.account_id')
        .select([
          'sessions.id_hash', 'sessions.account_id', 'sessions.created_at', 'sessions.last_seen_at', 'sessions.expires_at',
          'accounts.name as account_name', 'accounts.created_at as account_created_at',
        ])
        .where('sessions.id_hash', '=', idHash)
        .executeTakeFirst();
      if (!row) return undefined;
      const { account_name, account_created_at, ...session } = row;
      return { session, account: { id: session.account_id, name: account_name, created_at: account_created_at } };
    },
    async touch(idHash, at) {
      await db.updateTable('sessions').set({ last_seen_at: at }).where('id_hash', '=', idHash).execute();
    },
    async revoke(idHash) {
      const r = await db.deleteFrom('sessions').where('id_hash', '=', idHash).executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    },
    async revokeAccount(accountId) {
      const r = await db.deleteFrom('sessions').where('account_id', '=', accountId).executeTakeFirst();
      return Number(r.numDeletedRows);
    },
  };
}
