import type { Generated } from 'kysely';

/** Row shapes of the control-plane database, the same on SQLite and PostgreSQL: JSON and ISO timestamps as text, booleans as 0/1; the stores parse them. */
export interface AccountsTable {
  id: string;
  name: string;
  api_key_hash: string;
  api_key_prefix: string;
  created_at: string;
  /** JSON string[] of CIDRs the operator opened for this account; null: none. */
  allowed_networks: string | null;
  /** Bumped by database triggers on every change to the account's configuration (src/store/config-cache.ts). */
  config_version: Generated<number>;
  /** Days a call's data is kept before its key is shredded; null: the install default. */
  data_retention_days: number | null;
}

export interface DestinationsTable {
  id: string;
  account_id: string;
  url: string;
  description: string | null;
  event_types: string; // JSON string[]
  mapping_id: string | null;
  mapping_version: number | null; // null = the mapping's current version at each event
  connection_id: string | null;
  enabled: number;
  paused: number;
  disabled_reason: string | null;
  timeout_ms: number;
  retry_schedule_s: string | null; // JSON number[]; null = the default schedule
  signing_secrets: string; // JSON EncryptedSecret[]
  rate_limit_per_s: number | null; // null = unlimited
  ordering: string; // 'none' | 'per_call'
  filter: string | null; // JSONata source; null = every subscribed event
  record_bodies: number; // 0: attempt records hold body sizes and digests only
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

export interface MappingsTable {
  id: string;
  account_id: string;
  name: string;
  language: string;
  current_version: number;
  timeout_ms: number | null;
  memory_mb: number | null;
  created_at: string;
  updated_at: string;
}

export interface MappingVersionsTable {
  mapping_id: string;
  version: number;
  source: string;
  created_at: string;
}

export interface FailingStreaksTable {
  destination_id: string;
  failing_since: string;
  last_failure: string;
}

export interface ConnectionsTable {
  id: string;
  account_id: string;
  name: string;
  kind: string;
  settings: string; // JSON, shown by the API
  secrets: string; // key-ring ciphertext of JSON, write-only
  /** Bumped whenever secrets or tokens are replaced: token caches keyed on it drop stale entries. */
  rev: number;
  tokens: string | null; // key-ring ciphertext of JSON OAuth2Tokens
  token_expires_at: string | null;
  status: string;
  last_error: string | null; // JSON {code, message, at}
  authorized_at: string | null;
  refresh_lease_until: number | null; // epoch ms
  created_at: string;
  updated_at: string;
}

export interface OAuth2AuthorizationsTable {
  state_hash: string;
  account_id: string;
  connection_id: string;
  provider: string;
  redirect_uri: string;
  code_challenge: string;
  expires_at: string;
  created_at: string;
}

/** Console sign-ins (src/sessions.ts). Only a hash of the session id is kept, never the id or the key. */
export interface SessionsTable {
  id_hash: string;
  account_id: string;
  created_at: string;
  last_seen_at: string;
  /** The absolute end, whatever the activity. */
  expires_at: string;
}

/**
 * Failed API-key attempts per client address (src/store/key-failures.ts), shared by every API replica.
 * `key` is a hash of the address; rows of ended windows are pruned.
 */
export interface KeyFailuresTable {
  key: string;
  failures: number;
  /** Epoch ms the address's current window began at. */
  window_started_ms: number;
}

/** Per-call data keys (src/store/calls.ts): key-ring ciphertext of 32 random bytes. Deleted on erasure. */
export interface CallKeysTable {
  id: string;
  account_id: string;
  call_id: string;
  wrapped_key: string;
  created_at: string;
  /** Set when an erasure took the key: nothing new is encrypted under it any more. */
  erasing_since: string | null;
}

/** The key each delivery (workflow id) is encrypted under; `erased_summary` is JSON of its non-personal summary, once erased. */
export interface CallDeliveriesTable {
  delivery_id: string;
  account_id: string;
  call_id: string;
  key_id: string;
  created_at: string;
  erased_summary: string | null;
}

export interface CallErasuresTable {
  id: string;
  account_id: string;
  call_id: string;
  erased_at: string;
  erased_by: string; // 'account' | 'admin' | 'retention'
  key_ids: string; // JSON string[]
  deliveries: Generated<number>;
  cancelled: Generated<number>;
  completed_at: string | null;
}

export interface Database {
  accounts: AccountsTable;
  destinations: DestinationsTable;
  events: EventsTable;
  mappings: MappingsTable;
  mapping_versions: MappingVersionsTable;
  failing_streaks: FailingStreaksTable;
  connections: ConnectionsTable;
  oauth2_authorizations: OAuth2AuthorizationsTable;
  sessions: SessionsTable;
  key_failures: KeyFailuresTable;
  call_keys: CallKeysTable;
  call_deliveries: CallDeliveriesTable;
  call_erasures: CallErasuresTable;
  kysely_migration?: { name: string; timestamp: string; _?: Generated<never> };
}
