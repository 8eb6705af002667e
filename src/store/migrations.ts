import { PostgresAdapter, sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';

// Migrations live in code (not files on disk) so the same list ships inside any bundle or process.
const migrations: Record<string, Migration> = {
  '0001_accounts_destinations_events': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('accounts')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('api_key_hash', 'text', (c) => c.notNull().unique())
        .addColumn('api_key_prefix', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('destinations')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
        .addColumn('url', 'text', (c) => c.notNull())
        .addColumn('description', 'text')
        .addColumn('event_types', 'text', (c) => c.notNull())
        .addColumn('mapping_id', 'text')
        .addColumn('connection_id', 'text')
        .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(1))
        .addColumn('paused', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('disabled_reason', 'text')
        .addColumn('timeout_ms', 'integer', (c) => c.notNull())
        .addColumn('retry_schedule_s', 'text')
        .addColumn('signing_secrets', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('destinations_account').on('destinations').column('account_id').execute();
      await db.schema
        .createTable('events')
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('event_id', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('received_at', 'text', (c) => c.notNull())
        .addColumn('deliveries', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('events_pk', ['account_id', 'event_id'])
        .execute();
      await sql`select 1`.execute(db);
    },
  },
  '0002_mappings': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('mappings')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('language', 'text', (c) => c.notNull())
        .addColumn('current_version', 'integer', (c) => c.notNull())
        .addColumn('timeout_ms', 'integer')
        .addColumn('memory_mb', 'integer')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('mappings_account').on('mappings').column('account_id').execute();
      await db.schema
        .createTable('mapping_versions')
        .addColumn('mapping_id', 'text', (c) => c.notNull().references('mappings.id').onDelete('cascade'))
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('mapping_versions_pk', ['mapping_id', 'version'])
        .execute();
    },
  },
  // Numbered high so it sorts after the migrations of work landing in parallel (Kysely refuses a
  // new migration that sorts before one a database already ran).
  '0010_failing_streaks': {
    async up(db: Kysely<unknown>) {
      // A row exists while every attempt to the destination fails (src/delivery/failing-streak.ts).
      await db.schema
        .createTable('failing_streaks')
        .addColumn('destination_id', 'text', (c) => c.primaryKey().references('destinations.id').onDelete('cascade'))
        .addColumn('failing_since', 'text', (c) => c.notNull())
        .addColumn('last_failure', 'text', (c) => c.notNull())
        .execute();
    },
  },
  '0020_connections': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('connections')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('settings', 'text', (c) => c.notNull())
        .addColumn('secrets', 'text', (c) => c.notNull())
        .addColumn('rev', 'integer', (c) => c.notNull().defaultTo(1))
        .addColumn('tokens', 'text')
        .addColumn('token_expires_at', 'text')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('last_error', 'text')
        .addColumn('authorized_at', 'text')
        // Epoch ms: past PostgreSQL's 32-bit integer. On SQLite both names are the same 64-bit INTEGER,
        // so a database that already ran this migration holds the same column.
        .addColumn('refresh_lease_until', 'bigint')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('connections_account').on('connections').column('account_id').execute();
      // Pending OAuth2 authorizations: one row per started flow, deleted when its state is used.
      await db.schema
        .createTable('oauth2_authorizations')
        .addColumn('state_hash', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('connection_id', 'text', (c) => c.notNull().references('connections.id').onDelete('cascade'))
        .addColumn('provider', 'text', (c) => c.notNull())
        .addColumn('redirect_uri', 'text', (c) => c.notNull())
        .addColumn('code_challenge', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
    },
  },
  '0030_events_received_at': {
    async up(db: Kysely<unknown>) {
      // The retention prune deletes by age; without this index it would scan every event ever seen.
      await db.schema.createIndex('events_received_at').on('events').column('received_at').execute();
    },
  },
  '0050_console_sessions': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('sessions')
        .addColumn('id_hash', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('last_seen_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('sessions_account').on('sessions').column('account_id').execute();
    },
  },
  '0060_account_allowed_networks': {
    async up(db: Kysely<unknown>) {
      // JSON string[] of CIDRs an operator opened for this account (src/delivery/network-policy.ts).
      await db.schema.alterTable('accounts').addColumn('allowed_networks', 'text').execute();
    },
  },
  '0090_destination_delivery_controls': {
    async up(db: Kysely<unknown>) {
      // Issue 13: a per-destination attempt rate, per-call ordering and an ingest filter.
      await db.schema.alterTable('destinations').addColumn('rate_limit_per_s', 'integer').execute();
      await db.schema.alterTable('destinations').addColumn('ordering', 'text', (c) => c.notNull().defaultTo('none')).execute();
      await db.schema.alterTable('destinations').addColumn('filter', 'text').execute();
    },
  },
  '0100_destination_mapping_version': {
    async up(db: Kysely<unknown>) {
      // Issue 15: a destination may pin one version of its mapping; null follows the current one.
      await db.schema.alterTable('destinations').addColumn('mapping_version', 'integer').execute();
    },
  },
  '0110_account_config_version': {
    async up(db: Kysely<unknown>) {
      // Issue 12: the number the worker's config cache validates against (src/store/config-cache.ts),
      // bumped by the database itself in the transaction of every write that changes what an
      // attempt or transform reads, whoever writes.
      await db.schema.alterTable('accounts').addColumn('config_version', 'integer', (c) => c.notNull().defaultTo(0)).execute();
      const statements = db.getExecutor().adapter instanceof PostgresAdapter ? postgresConfigTriggers() : sqliteConfigTriggers();
      for (const statement of statements) await sql.raw(statement).execute(db);
    },
  },
  '0120_key_failures': {
    async up(db: Kysely<unknown>) {
      // Issue 14: failed API-key attempts counted in the database, so every API replica sees them.
      await db.schema
        .createTable('key_failures')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('failures', 'integer', (c) => c.notNull())
        .addColumn('window_started_ms', 'bigint', (c) => c.notNull())
        .execute();
      // The prune deletes ended windows by their start.
      await db.schema.createIndex('key_failures_window').on('key_failures').column('window_started_ms').execute();
    },
  },
  '0220_destination_signature_scheme': {
    async up(db: Kysely<unknown>) {
      // Issue 22: ed25519 signatures. The public key is public: stored in clear, shown in the view.
      await db.schema.alterTable('destinations').addColumn('signature_scheme', 'text', (c) => c.notNull().defaultTo('hmac-sha256')).execute();
      await db.schema.alterTable('destinations').addColumn('signing_public_key', 'text').execute();
    },
  },
  '0221_connection_tls': {
    async up(db: Kysely<unknown>) {
      // Issue 22: a connection's CA certificates and client certificate (src/connections/tls.ts): the
      // PEM encrypted like its other secrets, and what the view shows of it (subjects, expiries).
      await db.schema.alterTable('connections').addColumn('tls', 'text').execute();
      await db.schema.alterTable('connections').addColumn('tls_info', 'text').execute();
      // One expiry notice per certificate and day, whichever worker's job sends it.
      await db.schema
        .createTable('certificate_notices')
        .addColumn('connection_id', 'text', (c) => c.notNull())
        .addColumn('fingerprint', 'text', (c) => c.notNull())
        .addColumn('day', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('certificate_notices_pk', ['connection_id', 'fingerprint', 'day'])
        .execute();
    },
  },
  '0210_ingest_quotas': {
    async up(db: Kysely<unknown>) {
      // Issue 19: per-account ingest quotas counted in the database, so every API replica meets one
      // limit. Not columns of accounts: a write there bumps config_version and empties caches.
      await db.schema
        .createTable('ingest_quotas')
        .addColumn('account_id', 'text', (c) => c.primaryKey().references('accounts.id').onDelete('cascade'))
        .addColumn('rate_per_s', 'integer')
        .addColumn('burst', 'integer')
        .addColumn('interval_us', 'bigint')
        .addColumn('tolerance_us', 'bigint')
        .addColumn('tat_us', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('retry_at_us', 'bigint', (c) => c.notNull().defaultTo(0))
        .execute();
    },
  },
  '0200_destination_slots': {
    async up(db: Kysely<unknown>) {
      // Issue 19: attempts in flight per destination, bounded across every worker (src/store/destination-slots.ts).
      await db.schema.alterTable('destinations').addColumn('max_in_flight', 'integer', (c) => c.notNull().defaultTo(20)).execute();
      // One row per attempt holding a slot; a crashed worker's row stops counting at expires_ms.
      await db.schema
        .createTable('slot_leases')
        .addColumn('destination_id', 'text', (c) => c.notNull())
        .addColumn('delivery_id', 'text', (c) => c.notNull())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('expires_ms', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('slot_leases_pk', ['destination_id', 'delivery_id'])
        .execute();
      // Deliveries waiting for a slot, served in acceptance order.
      await db.schema
        .createTable('slot_waiters')
        .addColumn('destination_id', 'text', (c) => c.notNull())
        .addColumn('delivery_id', 'text', (c) => c.notNull())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('accepted_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('slot_waiters_pk', ['destination_id', 'delivery_id'])
        .execute();
      await db.schema.createIndex('slot_waiters_order').on('slot_waiters').columns(['destination_id', 'accepted_at', 'delivery_id']).execute();
    },
  },
  '0230_pull_streams': {
    async up(db: Kysely<unknown>) {
      // Issue 20: pull destinations keep their deliveries as messages the consumer reads (src/store/messages.ts).
      await db.schema.alterTable('destinations').addColumn('mode', 'text', (c) => c.notNull().defaultTo('push')).execute();
      await db.schema.alterTable('destinations').addColumn('stream_origins', 'text').execute();
      await db.schema.alterTable('accounts').addColumn('stream_retention_hours', 'integer').execute();
      // One row per destination that has messages: its last cursor and what retention removed. Appends
      // lock it, so cursors are committed in the order they are given (a reader never skips one).
      await db.schema
        .createTable('stream_heads')
        .addColumn('destination_id', 'text', (c) => c.primaryKey().references('destinations.id').onDelete('cascade'))
        .addColumn('last_seq', 'bigint', (c) => c.notNull())
        .addColumn('pruned_through', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('stream_messages')
        .addColumn('destination_id', 'text', (c) => c.notNull().references('destinations.id').onDelete('cascade'))
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('delivery_id', 'text', (c) => c.notNull())
        .addColumn('event_id', 'text', (c) => c.notNull())
        .addColumn('event_type', 'text', (c) => c.notNull())
        .addColumn('call_id', 'text')
        .addColumn('headers', 'text', (c) => c.notNull())
        .addColumn('body', 'text', (c) => c.notNull())
        .addColumn('created_ms', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('stream_messages_pk', ['destination_id', 'seq'])
        .execute();
      // A retried attempt finds the message its delivery already made.
      await db.schema.createIndex('stream_messages_delivery').on('stream_messages').columns(['destination_id', 'delivery_id']).unique().execute();
      await db.schema.createIndex('stream_messages_created').on('stream_messages').column('created_ms').execute();
      await db.schema
        .createTable('stream_acks')
        .addColumn('destination_id', 'text', (c) => c.notNull().references('destinations.id').onDelete('cascade'))
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('delivery_id', 'text', (c) => c.notNull())
        .addColumn('status', 'integer', (c) => c.notNull())
        .addColumn('duration_ms', 'double precision', (c) => c.notNull())
        .addColumn('consumer', 'text')
        .addColumn('acked_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('stream_acks_delivery').on('stream_acks').column('delivery_id').execute();
      // Open streams per account, shared by every API replica; a lease a killed replica left expires.
      await db.schema
        .createTable('stream_leases')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
        .addColumn('expires_ms', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('stream_leases_account').on('stream_leases').columns(['account_id', 'expires_ms']).execute();
    },
  },
  '0240_call_keys': {
    async up(db: Kysely<unknown>) {
      // Issue 21 (crypto-shredding): one data key per (account, call), wrapped by the master key ring;
      // deleting the row erases every Temporal payload written under it (src/erasure/).
      await db.schema
        .createTable('call_keys')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('call_id', 'text', (c) => c.notNull())
        .addColumn('wrapped_key', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('erasing_since', 'text')
        .execute();
      await db.schema.createIndex('call_keys_call').on('call_keys').columns(['account_id', 'call_id']).execute();
      await db.schema.createIndex('call_keys_created').on('call_keys').column('created_at').execute();
      // Which key each delivery (workflow id) is encrypted under; outlives the key, so an erased
      // delivery still answers with its non-personal summary.
      await db.schema
        .createTable('call_deliveries')
        .addColumn('delivery_id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('call_id', 'text', (c) => c.notNull())
        .addColumn('key_id', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('erased_summary', 'text')
        .execute();
      await db.schema.createIndex('call_deliveries_call').on('call_deliveries').columns(['account_id', 'call_id']).execute();
      await db.schema.createIndex('call_deliveries_key').on('call_deliveries').column('key_id').execute();
      // One row per erasure; completed_at null: its steps still have to run (resumed by the worker).
      await db.schema
        .createTable('call_erasures')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('call_id', 'text', (c) => c.notNull())
        .addColumn('erased_at', 'text', (c) => c.notNull())
        .addColumn('erased_by', 'text', (c) => c.notNull())
        .addColumn('key_ids', 'text', (c) => c.notNull())
        .addColumn('deliveries', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('cancelled', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('completed_at', 'text')
        .execute();
      await db.schema.createIndex('call_erasures_call').on('call_erasures').columns(['account_id', 'call_id']).execute();
      await db.schema.createIndex('call_erasures_pending').on('call_erasures').column('completed_at').execute();
      // Days a call's data is kept; null: the install's VOICEOI_DATA_RETENTION_DAYS.
      await db.schema.alterTable('accounts').addColumn('data_retention_days', 'integer').execute();
    },
  },
  '0241_destination_record_bodies': {
    async up(db: Kysely<unknown>) {
      // 0: attempt records keep sizes and SHA-256 digests of the bodies, never the bodies (card data).
      await db.schema.alterTable('destinations').addColumn('record_bodies', 'integer', (c) => c.notNull().defaultTo(1)).execute();
    },
  },
};

// The tables whose rows carry an account_id and feed an attempt or a transform.
const CONFIG_TABLES = ['destinations', 'connections', 'mappings'];
const bump = (where: string) => `update accounts set config_version = config_version + 1 where ${where}`;

function sqliteConfigTriggers(): string[] {
  const ofMapping = (ref: string) => `id in (select account_id from mappings where id = ${ref}.mapping_id)`;
  return [
    ...CONFIG_TABLES.flatMap((t) => [
      `create trigger ${t}_config_insert after insert on ${t} begin ${bump('id = NEW.account_id')}; end`,
      `create trigger ${t}_config_update after update on ${t} begin ${bump('id in (OLD.account_id, NEW.account_id)')}; end`,
      `create trigger ${t}_config_delete after delete on ${t} begin ${bump('id = OLD.account_id')}; end`,
    ]),
    `create trigger mapping_versions_config_insert after insert on mapping_versions begin ${bump(ofMapping('NEW'))}; end`,
    `create trigger mapping_versions_config_update after update on mapping_versions begin ${bump(ofMapping('OLD'))}; ${bump(ofMapping('NEW'))}; end`,
    `create trigger mapping_versions_config_delete after delete on mapping_versions begin ${bump(ofMapping('OLD'))}; end`,
    // Any other change of the account row itself (its allow-list): the bumps above set the number, so they do not count twice.
    `create trigger accounts_config_update after update on accounts when NEW.config_version = OLD.config_version begin ${bump('id = NEW.id')}; end`,
  ];
}

function postgresConfigTriggers(): string[] {
  const ofMapping = (ref: string) => `id = (select account_id from mappings where id = ${ref}.mapping_id)`;
  return [
    `create function voiceoi_config_changed() returns trigger language plpgsql as $$
     begin
       if TG_OP in ('UPDATE', 'DELETE') then ${bump('id = OLD.account_id')}; end if;
       if TG_OP = 'INSERT' or (TG_OP = 'UPDATE' and NEW.account_id is distinct from OLD.account_id) then ${bump('id = NEW.account_id')}; end if;
       return null;
     end $$`,
    `create function voiceoi_mapping_version_changed() returns trigger language plpgsql as $$
     begin
       if TG_OP in ('UPDATE', 'DELETE') then ${bump(ofMapping('OLD'))}; end if;
       if TG_OP in ('INSERT', 'UPDATE') then ${bump(ofMapping('NEW'))}; end if;
       return null;
     end $$`,
    `create function voiceoi_account_changed() returns trigger language plpgsql as $$
     begin
       if NEW.config_version = OLD.config_version then NEW.config_version := OLD.config_version + 1; end if;
       return NEW;
     end $$`,
    ...CONFIG_TABLES.map((t) => `create trigger ${t}_config after insert or update or delete on ${t} for each row execute function voiceoi_config_changed()`),
    'create trigger mapping_versions_config after insert or update or delete on mapping_versions for each row execute function voiceoi_mapping_version_changed()',
    'create trigger accounts_config before update on accounts for each row execute function voiceoi_account_changed()',
  ];
}

export const migrationProvider: MigrationProvider = {
  getMigrations: () => Promise.resolve(migrations),
};
