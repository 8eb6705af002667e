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
  /** How long this account's pull messages are kept (src/store/messages.ts); null: the install default. */
  stream_retention_hours: number | null;
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
  signature_scheme: string; // 'hmac-sha256' | 'ed25519'
  signing_public_key: string | null; // whpk_… of the current ed25519 key; null with HMAC
  max_in_flight: number; // attempts in flight at once, across workers (src/store/destination-slots.ts)
  mode: string; // 'push' | 'pull'; a pull destination's url is ''
  stream_origins: string | null; // JSON string[] of browser origins allowed to read its stream; null: none
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
  tls: string | null; // key-ring ciphertext of JSON TlsMaterial (src/connections/tls.ts), write-only
  tls_info: string | null; // JSON TlsInfo, shown by the API
  created_at: string;
  updated_at: string;
}

export interface CertificateNoticesTable {
  connection_id: string;
  fingerprint: string;
  day: string; // YYYY-MM-DD (UTC) the notice was sent
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

/** One account's ingest quota state (src/store/ingest-quotas.ts): GCRA, times in epoch µs. */
export interface IngestQuotasTable {
  account_id: string;
  /** The admin's override; null: the install default (VOICEOI_INGEST_RATE_PER_S / _BURST). */
  rate_per_s: number | null;
  burst: number | null;
  /** Derived from the override: µs between events (0: no quota), and how far ahead the account may run. */
  interval_us: number | null;
  tolerance_us: number | null;
  /** The theoretical arrival time of the account's next event. */
  tat_us: number;
  /** The last take's answer: 0 admitted, else when it could have been. */
  retry_at_us: number;
}
/** An attempt holding one of its destination's `max_in_flight` slots (src/store/destination-slots.ts). */
export interface SlotLeasesTable {
  destination_id: string;
  delivery_id: string;
  account_id: string;
  /** Epoch ms past which the slot counts as free again (the attempt's worker stopped or stalled). */
  expires_ms: number;
}

/** A delivery waiting for a slot at its destination; served oldest accepted_at (then delivery id) first. */
export interface SlotWaitersTable {
  destination_id: string;
  delivery_id: string;
  account_id: string;
  accepted_at: string;
}

/** A pull destination's stream position (src/store/messages.ts). */
export interface StreamHeadsTable {
  destination_id: string;
  last_seq: number;
  /** Every message up to this cursor was removed by retention. */
  pruned_through: number;
}

/** One delivery to a pull destination, as the consumer reads it. */
export interface StreamMessagesTable {
  destination_id: string;
  seq: number;
  account_id: string;
  delivery_id: string;
  event_id: string;
  event_type: string;
  call_id: string | null;
  headers: string; // JSON {webhook-id, webhook-timestamp, webhook-signature}
  body: string; // exactly as signed
  created_ms: number;
}

/** What a pull consumer reported for a message (POST .../messages/:cursor/ack). */
export interface StreamAcksTable {
  destination_id: string;
  seq: number;
  delivery_id: string;
  status: number;
  duration_ms: number;
  consumer: string | null;
  acked_at: string;
}

/** One open live stream, counted against its account's bound by every API replica. */
export interface StreamLeasesTable {
  id: string;
  account_id: string;
  expires_ms: number;
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
  certificate_notices: CertificateNoticesTable;
  ingest_quotas: IngestQuotasTable;
  slot_leases: SlotLeasesTable;
  slot_waiters: SlotWaitersTable;
  stream_heads: StreamHeadsTable;
  stream_messages: StreamMessagesTable;
  stream_acks: StreamAcksTable;
  stream_leases: StreamLeasesTable;
  call_keys: CallKeysTable;
  call_deliveries: CallDeliveriesTable;
  call_erasures: CallErasuresTable;
  kysely_migration?: { name: string; timestamp: string; _?: Generated<never> };
}
