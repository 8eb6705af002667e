import type { Kysely } from 'kysely';
import type { KeyRing } from '../crypto/keyring.ts';
import { createAccountStore, type AccountStore } from './accounts.ts';
import { createConnectionStore, type ConnectionStore } from './connections.ts';
import { openDatabase } from './db.ts';
import { createDestinationStore, type DestinationStore } from './destinations.ts';
import { createEventStore, type EventStore } from './events.ts';
import { createMappingStore, type MappingStore } from './mappings.ts';
import type { Database } from './schema.ts';
import { createSessionStore, type SessionStore } from './sessions.ts';

/** The control-plane store: SQLite here; a PostgreSQL implementation of these interfaces can replace it. */
export interface Store {
  accounts: AccountStore;
  destinations: DestinationStore;
  connections: ConnectionStore;
  events: EventStore;
  mappings: MappingStore;
  sessions: SessionStore;
  db: Kysely<Database>;
  close(): Promise<void>;
}

export async function createStore(deps: { file: string; keyRing: KeyRing }): Promise<Store> {
  const db = await openDatabase(deps.file);
  return {
    db,
    accounts: createAccountStore({ db }),
    destinations: createDestinationStore({ db, keyRing: deps.keyRing }),
    connections: createConnectionStore({ db, keyRing: deps.keyRing }),
    events: createEventStore({ db }),
    mappings: createMappingStore({ db }),
    sessions: createSessionStore({ db }),
    close: () => db.destroy(),
  };
}
