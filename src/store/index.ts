import type { Kysely } from 'kysely';
import type { KeyRing } from '../crypto/keyring.ts';
import { createCallSeal } from '../erasure/call-seal.ts';
import { createAccountStore, type AccountStore } from './accounts.ts';
import { createCallStore, type CallStore } from './calls.ts';
import { createConfigCache, type ConfigCache } from './config-cache.ts';
import { createConnectionStore, type ConnectionStore } from './connections.ts';
import { dialectOf, openDatabase, type DatabaseTarget, type DialectName } from './db.ts';
import { createDestinationSlotStore, type DestinationSlotStore } from './destination-slots.ts';
import { createDestinationStore, type DestinationStore } from './destinations.ts';
import { createEventStore, type EventStore } from './events.ts';
import { createFailingStreakStore, type FailingStreakStore } from './failing-streaks.ts';
import { createIngestQuotaStore, type IngestQuotaStore } from './ingest-quotas.ts';
import { createKeyFailureStore, type KeyFailureStore } from './key-failures.ts';
import { createMappingStore, type MappingStore } from './mappings.ts';
import { createMessageStore, type MessageStore } from './messages.ts';
import { createMessageWakeups, type MessageWakeups } from './message-wakeups.ts';
import type { Database } from './schema.ts';
import { createSessionStore, type SessionStore } from './sessions.ts';

/** The control-plane store, on SQLite or PostgreSQL (src/store/db.ts): the same interfaces either way. */
export interface Store {
  accounts: AccountStore;
  destinations: DestinationStore;
  connections: ConnectionStore;
  events: EventStore;
  mappings: MappingStore;
  sessions: SessionStore;
  failingStreaks: FailingStreakStore;
  /** Failed API-key attempts per client address, shared by every API replica (src/auth-rate-limit.ts). */
  keyFailures: KeyFailureStore;
  ingestQuotas: IngestQuotaStore;
  /** Attempts in flight per destination (max_in_flight), shared by every worker. */
  slots: DestinationSlotStore;
  /** Pull destinations' streams: messages, acks, open-stream leases (src/store/messages.ts). */
  messages: MessageStore;
  /** Wakes the readers of a stream when it moves, in this process and across replicas (src/store/message-wakeups.ts). */
  wakeups: MessageWakeups;
  /** Per-call data keys, which delivery is under which, and erasures (src/erasure/). */
  calls: CallStore;
  /** What the cached reads (listSubscribed, forAttempt, loadFor, versionFor) share and validate against. */
  config: ConfigCache;
  /** Answers once the database does (the health check); rejects with its error otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The store as the process that opened it holds it (SQLite or PostgreSQL: `dialect`). Services and
 * routes get `Store`; the handle is for the composition root and for tests that forge rows.
 */
export interface KyselyStore extends Store {
  readonly db: Kysely<Database>;
  readonly dialect: DialectName;
}

/** `{ file }`: SQLite; `{ url }`: PostgreSQL (src/store/db.ts, databaseTargetOf). */
export async function createStore(deps: DatabaseTarget & { keyRing: KeyRing }): Promise<KyselyStore> {
  const db = await openDatabase(deps);
  const config = createConfigCache(db);
  const wakeups = createMessageWakeups({ db, postgresUrl: 'url' in deps ? deps.url : undefined });
  const calls = createCallStore({ db, keyRing: deps.keyRing });
  return {
    db,
    dialect: dialectOf(deps),
    config,
    accounts: createAccountStore({ db }),
    destinations: createDestinationStore({ db, keyRing: deps.keyRing, cache: config }),
    connections: createConnectionStore({ db, keyRing: deps.keyRing, cache: config }),
    events: createEventStore({ db }),
    mappings: createMappingStore({ db, cache: config }),
    sessions: createSessionStore({ db }),
    failingStreaks: createFailingStreakStore({ db }),
    keyFailures: createKeyFailureStore({ db }),
    ingestQuotas: createIngestQuotaStore({ db }),
    slots: createDestinationSlotStore({ db, dialect: dialectOf(deps) }),
    messages: createMessageStore({ db, wakeups, seal: createCallSeal(calls) }),
    wakeups,
    calls,
    async ping() {
      await db.selectFrom('accounts').select('id').limit(1).execute();
    },
    async close() {
      await wakeups.close();
      await db.destroy();
    },
  };
}
