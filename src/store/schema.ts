import type { Generated } from 'kysely';

/** Row shapes of the control-plane database. JSON columns hold text; the stores parse them. */
export interface AccountsTable {
  id: string;
  name: string;
  api_key_hash: string;
  api_key_prefix: string;
  created_at: string;
}

export interface DestinationsTable {
  id: string;
  account_id: string;
  url: string;
  description: string | null;
  event_types: string; // JSON string[]
  mapping_id: string | null;
  connection_id: string | null;
  enabled: number;
  paused: number;
  disabled_reason: string | null;
  timeout_ms: number;
  retry_schedule_s: string | null; // JSON number[]; null = the default schedule
  signing_secrets: string; // JSON EncryptedSecret[]
  created_at: string;
  updated_at: string;
}

export interface EventsTable {
  account_id: string;
  event_id: string;
  type: string;
  received_at: string;
  deliveries: string; // JSON {id, destination_id}[]
}

export interface Database {
  accounts: AccountsTable;
  destinations: DestinationsTable;
  events: EventsTable;
  kysely_migration?: { name: string; timestamp: string; _?: Generated<never> };
}
