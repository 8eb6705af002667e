import { sql, type Kysely } from 'kysely';
import pg from 'pg';
import type { Database } from './schema.ts';

/** What moved a stream: a message was appended, or the destination was deleted (its streams end). */
export type StreamChange = 'appended' | 'deleted';

/**
 * Wakes the readers of a pull destination's stream (open streams, long polls) when it moves. In one
 * process an append wakes its readers at once. Across processes: PostgreSQL LISTEN/NOTIFY (an append
 * by a worker on one machine wakes an API replica on another within milliseconds); on SQLite, whose
 * processes share one machine, a short poll of the watched streams' last cursors (POLL_MS).
 */
export interface MessageWakeups {
  publish(destinationId: string, change: StreamChange): Promise<void>;
  /** Resolves once changes from other processes reach this one's subscribers: subscribe, await it, then read. */
  ready(): Promise<void>;
  /** `fn` runs on every change of the destination's stream (possibly more than once per change); the answer unsubscribes. */
  subscribe(destinationId: string, fn: (change: StreamChange) => void): () => void;
  close(): Promise<void>;
}

const CHANNEL = 'voiceoi_streams';
/** SQLite only: how often a process with readers looks at their streams' last cursors (api and worker as separate processes). */
const POLL_MS = 50;
const RELISTEN_MS = 1000;

export function createMessageWakeups(deps: { db: Kysely<Database>; postgresUrl?: string }): MessageWakeups {
  const { db } = deps;
  const subscribers = new Map<string, Set<(change: StreamChange) => void>>();
  let closed = false;

  const dispatch = (destinationId: string, change: StreamChange) => {
    for (const fn of subscribers.get(destinationId) ?? []) fn(change);
  };
  const dispatchAll = () => {
    for (const id of subscribers.keys()) dispatch(id, 'appended');
  };

  // PostgreSQL: one LISTEN connection per process, opened with the first reader and kept.
  let listener: pg.Client | undefined;
  let listening: Promise<void> | undefined;
  const listen = (): Promise<void> => {
    if (!deps.postgresUrl || closed) return Promise.resolve();
    listening ??= (async () => {
      const client = new pg.Client({ connectionString: deps.postgresUrl, application_name: 'voiceoi-hooks-streams' });
      const lost = () => {
        if (listener !== client) return;
        listener = undefined;
        listening = undefined;
        void client.end().catch(() => {});
        // Whatever was appended while it was away: every reader reads again, then waits on the new connection.
        if (!closed) setTimeout(() => void listen().then(dispatchAll, () => {}), RELISTEN_MS).unref();
      };
      client.on('error', lost);
      client.on('end', lost);
      client.on('notification', (n) => {
        const [change, destinationId] = (n.payload ?? '').split(':', 2);
        if (destinationId && (change === 'appended' || change === 'deleted')) dispatch(destinationId, change);
      });
      listener = client;
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
    })().catch(() => {
      listener = undefined;
      listening = undefined;
      if (!closed) setTimeout(() => void listen().then(dispatchAll, () => {}), RELISTEN_MS).unref();
    });
    return listening;
  };

  // SQLite: the watched streams' last cursors, and whether their destinations still exist.
  let poll: NodeJS.Timeout | undefined;
  const seen = new Map<string, string>();
  let polling = false;
  const pollOnce = async () => {
    if (polling || subscribers.size === 0) return;
    polling = true;
    try {
      const ids = [...subscribers.keys()];
      const rows = await db
        .selectFrom('destinations')
        .leftJoin('stream_heads', 'stream_heads.destination_id', 'destinations.id')
        .select(['destinations.id as id', 'stream_heads.last_seq as last_seq'])
        .where('destinations.id', 'in', ids)
        .execute();
      const found = new Map(rows.map((r) => [r.id, String(r.last_seq ?? 0)]));
      for (const id of ids) {
        const last = found.get(id);
        if (last === undefined) dispatch(id, 'deleted');
        // A stream seen for the first time wakes its readers too: they may have read just before an append.
        else if (seen.get(id) !== last) dispatch(id, 'appended');
        if (last !== undefined) seen.set(id, last);
      }
    } catch {
      // A busy database: the next tick looks again.
    } finally {
      polling = false;
    }
  };

  return {
    async publish(destinationId, change) {
      dispatch(destinationId, change);
      if (deps.postgresUrl) await sql`select pg_notify(${CHANNEL}, ${`${change}:${destinationId}`})`.execute(db);
    },
    ready: () => listen(),
    subscribe(destinationId, fn) {
      let set = subscribers.get(destinationId);
      if (!set) subscribers.set(destinationId, (set = new Set()));
      set.add(fn);
      if (deps.postgresUrl) void listen();
      else poll ??= setInterval(() => void pollOnce(), POLL_MS).unref();
      return () => {
        set.delete(fn);
        if (set.size > 0) return;
        subscribers.delete(destinationId);
        seen.delete(destinationId);
        if (subscribers.size === 0 && poll) {
          clearInterval(poll);
          poll = undefined;
        }
      };
    },
    async close() {
      closed = true;
      if (poll) clearInterval(poll);
      const client = listener;
      listener = undefined;
      await client?.end().catch(() => {});
    },
  };
}
