import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';

/** Per destination, when its current run of failed attempts began (src/delivery/failing-streak.ts keeps the rules). */
export interface FailingStreakStore {
  /** Records a failure at `at`, opening a streak if none is open; returns when the open streak began. */
  extend(destinationId: string, at: string): Promise<string>;
  /** Ends the destination's streak, if any. */
  clear(destinationId: string): Promise<void>;
  /** When the open streak began, if the destination is failing. */
  since(destinationId: string): Promise<string | undefined>;
}

export function createFailingStreakStore(deps: { db: Kysely<Database> }): FailingStreakStore {
  const { db } = deps;
  const since = async (destinationId: string) =>
    (await db.selectFrom('failing_streaks').select('failing_since').where('destination_id', '=', destinationId).executeTakeFirst())?.failing_since;
  return {
    since,
    async extend(destinationId, at) {
      await db
        .insertInto('failing_streaks')
        .values({ destination_id: destinationId, failing_since: at, last_failure: at })
        .onConflict((oc) => oc.column('destination_id').doUpdateSet({ last_failure: at }))
        .execute();
      return (await since(destinationId)) ?? at;
    },
    async clear(destinationId) {
      await db.deleteFrom('failing_streaks').where('destination_id', '=', destinationId).execute();
    },
  };
}
