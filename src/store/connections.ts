import type { Kysely, Selectable, Updateable } from 'kysely';
import type { TlsInfo, TlsMaterial } from '../connections/tls.ts';
import type { KeyRing } from '../crypto/keyring.ts';
import type { ConfigCache, ConfigScope } from './config-cache.ts';
import { newId, nowIso } from '../ids.ts';
import type { ConnectionsTable, Database, OAuth2AuthorizationsTable } from './schema.ts';

export const CONNECTION_KINDS = ['headers', 'basic', 'oauth2_client_credentials', 'oauth2_authorization_code'] as const;
export type ConnectionKind = (typeof CONNECTION_KINDS)[number];
export type ConnectionStatus = 'connected' | 'needs_reauth' | 'error';
export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post';

/** What a connection is, split into what may be shown (settings) and what is write-only (secrets). */
export type ConnectionSpec =
  | { kind: 'headers'; settings: { header_names: string[] }; secrets: { headers: Record<string, string> } }
  | { kind: 'basic'; settings: { username: string }; secrets: { password: string } }
  | {
      kind: 'oauth2_client_credentials';
      settings: { token_url: string; client_id: string; scope: string | null; audience: string | null; auth_method: ClientAuthMethod };
      secrets: { client_secret: string };
    }
  | { kind: 'oauth2_authorization_code'; settings: { provider: string; scope: string | null }; secrets: Record<string, never> };

export type ConnectionSecrets = ConnectionSpec['secrets'];

export interface ConnectionError {
  code: string;
  message: string;
  at: string;
}

type WithoutSecrets<T> = T extends unknown ? Omit<T, 'secrets'> : never;

/** A connection as the API may show it: no secret, no token. */
export type Connection = WithoutSecrets<ConnectionSpec> & {
  id: string;
  account_id: string;
  name: string;
  status: ConnectionStatus;
  last_error: ConnectionError | null;
  authorized_at: string | null;
  token_expires_at: string | null;
  /** What is set of the connection's TLS (src/connections/tls.ts); null: the system's trust, no client certificate. */
  tls: TlsInfo | null;
  created_at: string;
  updated_at: string;
};

/** A connection's TLS as stored: the PEM (encrypted) and what the view shows of it. */
export type ConnectionTls = { material: TlsMaterial; info: TlsInfo };

export interface OAuth2Tokens {
  access_token: string;
  refresh_token?: string;
  token_type?: string;
  /** ISO time the token was requested: with expires_at, its lifetime. */
  issued_at?: string;
  /** ISO time; absent when the provider gave no lifetime. */
  expires_at?: string;
  scope?: string;
}

/** The worker's view: secrets and tokens decrypted, and `rev`, which changes whenever they are replaced. */
export type ConnectionRecord = Connection & { secrets: ConnectionSecrets; tokens: OAuth2Tokens | null; rev: number; tlsMaterial: TlsMaterial | null };

export type PendingAuthorization = Omit<Selectable<OAuth2AuthorizationsTable>, 'created_at'>;

export interface ConnectionPatch {
  name?: string;
  /** Replaces settings and secrets together (the caller merges what the user did not resend). */
  spec?: ConnectionSpec;
  /** Forget stored OAuth2 tokens (the provider or scope changed): the connection needs re-authorization. */
  clearTokens?: boolean;
  status?: ConnectionStatus;
  last_error?: ConnectionError | null;
  /** Replaces the connection's TLS; null removes it. */
  tls?: ConnectionTls | null;
}

export interface ConnectionStore {
  create(accountId: string, input: { name: string; spec: ConnectionSpec; status: ConnectionStatus; tls?: ConnectionTls }): Promise<Connection>;
  get(accountId: string, id: string): Promise<Connection | undefined>;
  list(accountId: string): Promise<Connection[]>;
  /** With secrets, for the API's PATCH (merging) only; never serialized. */
  getRecord(accountId: string, id: string): Promise<ConnectionRecord | undefined>;
  update(accountId: string, id: string, patch: ConnectionPatch): Promise<Connection | undefined>;
  delete(accountId: string, id: string): Promise<boolean>;
  /** Destinations of the account that use the connection. */
  usedBy(accountId: string, id: string): Promise<string[]>;

  /** The worker's read, by id alone (the caller checks the account). */
  load(id: string): Promise<ConnectionRecord | undefined>;
  /**
   * load, served from the config cache (src/store/config-cache.ts) while nothing of the account
   * changed; for an attempt, not for a read that waits on another process's write (the refresh lease).
   * Another account's connection is returned (its owner tells) but never cached for this one.
   */
  loadFor(scope: ConfigScope, id: string): Promise<ConnectionRecord | undefined>;
  /** Records the outcome of a token request; a no-op when nothing changes. */
  setStatus(id: string, status: ConnectionStatus, error: Omit<ConnectionError, 'at'> | null): Promise<void>;
  /** Stores refreshed tokens unless the connection was re-authorized (rev changed) meanwhile. */
  saveTokens(id: string, rev: number, tokens: OAuth2Tokens): Promise<boolean>;
  /** Marks the stored tokens unusable (invalid_grant): the connection needs re-authorization. */
  requireReauth(id: string, rev: number, error: Omit<ConnectionError, 'at'>): Promise<void>;
  /** One refresh at a time across processes: true when this caller holds the lease until `untilMs`. */
  acquireRefreshLease(id: string, untilMs: number): Promise<boolean>;
  releaseRefreshLease(id: string): Promise<void>;

  createAuthorization(pending: PendingAuthorization): Promise<void>;
  /** The pending authorization, left in place (the callback checks its browser before using it up). */
  findAuthorization(stateHash: string): Promise<PendingAuthorization | undefined>;
  /** Removes and returns the pending authorization: a state can be used once, even if it has expired. */
  consumeAuthorization(stateHash: string): Promise<PendingAuthorization | undefined>;
  /** Stores the first tokens of an authorization-code connection and marks it connected. */
  completeAuthorization(accountId: string, id: string, tokens: OAuth2Tokens): Promise<Connection | undefined>;
  /** Every connection with TLS certificates, of every account (the expiry job's scan). */
  listWithTls(): Promise<Connection[]>;
  /** Whether the expiry notice of this certificate was sent on `day` (YYYY-MM-DD), by any worker. */
  hasCertificateNotice(connectionId: string, fingerprint: string, day: string): Promise<boolean>;
  recordCertificateNotice(connectionId: string, fingerprint: string, day: string): Promise<void>;
}

export function createConnectionStore(deps: { db: Kysely<Database>; keyRing: KeyRing; cache: ConfigCache }): ConnectionStore {
  const { db, keyRing, cache } = deps;
  // The AAD binds each ciphertext to its record and field: a value copied into another connection's
  // row, another account's row, or the other column does not decrypt.
  type Field = 'secrets' | 'tokens' | 'tls';
  const aad = (row: { id: string; account_id: string }, field: Field) => `connection:${row.account_id}:${row.id}:${field}`;
  const seal = (row: { id: string; account_id: string }, field: Field, value: unknown) =>
    keyRing.encrypt(JSON.stringify(value), aad(row, field));
  const open = <T>(row: { id: string; account_id: string }, field: Field, ct: string): T =>
    JSON.parse(keyRing.decryptString(ct, aad(row, field))) as T;
  // Every write re-encrypts what it keeps under the current key, so a key rotation converges as
  // connections are used, without a separate migration pass.
  const reseal = (row: Selectable<ConnectionsTable>): Pick<ConnectionsTable, 'secrets' | 'tokens' | 'tls'> => ({
    tls: row.tls === null || keyRing.isCurrent(row.tls) ? row.tls : keyRing.encrypt(keyRing.decrypt(row.tls, aad(row, 'tls')), aad(row, 'tls')),
    secrets: keyRing.isCurrent(row.secrets) ? row.secrets : keyRing.encrypt(keyRing.decrypt(row.secrets, aad(row, 'secrets')), aad(row, 'secrets')),
    tokens:
      row.tokens === null || keyRing.isCurrent(row.tokens)
        ? row.tokens
        : keyRing.encrypt(keyRing.decrypt(row.tokens, aad(row, 'tokens')), aad(row, 'tokens')),
  });

  const toConnection = (row: Selectable<ConnectionsTable>): Connection =>
    ({
      id: row.id,
      account_id: row.account_id,
      name: row.name,
      kind: row.kind,
      settings: JSON.parse(row.settings),
      status: row.status as ConnectionStatus,
      last_error: row.last_error ? (JSON.parse(row.last_error) as ConnectionError) : null,
      authorized_at: row.authorized_at,
      token_expires_at: row.token_expires_at,
      tls: row.tls_info ? (JSON.parse(row.tls_info) as TlsInfo) : null,
      created_at: row.created_at,
      updated_at: row.updated_at,
    }) as Connection;

  const toRecord = (row: Selectable<ConnectionsTable>): ConnectionRecord => ({
    ...toConnection(row),
    secrets: open<ConnectionSecrets>(row, 'secrets', row.secrets),
    tokens: row.tokens ? open<OAuth2Tokens>(row, 'tokens', row.tokens) : null,
    rev: row.rev,
    tlsMaterial: row.tls ? open<TlsMaterial>(row, 'tls', row.tls) : null,
  });

  const owned = (accountId: string, id: string) =>
    db.selectFrom('connections').selectAll().where('account_id', '=', accountId).where('id', '=', id);
  const byId = (id: string) => db.selectFrom('connections').selectAll().where('id', '=', id);

  /**
   * Read-modify-write of one row in a transaction, re-sealing its ciphertexts. `select` locks the row
   * (`forUpdate`): on PostgreSQL two replicas would otherwise both read and the later write win.
   */
  async function write(
    select: (trx: Kysely<Database>) => Promise<Selectable<ConnectionsTable> | undefined>,
    change: (row: Selectable<ConnectionsTable>) => Updateable<ConnectionsTable> | undefined,
  ): Promise<Selectable<ConnectionsTable> | undefined> {
    return db.transaction().execute(async (trx) => {
      const row = await select(trx);
      if (!row) return undefined;
      const values = change(row);
      if (!values) return row;
      const next = { ...reseal(row), ...values, updated_at: nowIso() };
      await trx.updateTable('connections').set(next).where('id', '=', row.id).execute();
      return { ...row, ...next } as Selectable<ConnectionsTable>;
    });
  }

  const load = async (id: string): Promise<ConnectionRecord | undefined> => {
    const row = await byId(id).executeTakeFirst();
    return row && toRecord(row);
  };

  const errorJson = (e: Omit<ConnectionError, 'at'> | null) => (e ? JSON.stringify({ code: e.code, message: e.message, at: nowIso() }) : null);

  return {
    async create(accountId, input) {
      const now = nowIso();
      const ids = { id: newId('con'), account_id: accountId };
      const row: Selectable<ConnectionsTable> = {
        ...ids,
        name: input.name,
        kind: input.spec.kind,
        settings: JSON.stringify(input.spec.settings),
        secrets: seal(ids, 'secrets', input.spec.secrets),
        rev: 1,
        tokens: null,
        token_expires_at: null,
        status: input.status,
        last_error: null,
        authorized_at: null,
        refresh_lease_until: null,
        tls: input.tls ? seal(ids, 'tls', input.tls.material) : null,
        tls_info: input.tls ? JSON.stringify(input.tls.info) : null,
        created_at: now,
        updated_at: now,
      };
      await db.insertInto('connections').values(row).execute();
      return toConnection(row);
    },
    async get(accountId, id) {
      const row = await owned(accountId, id).executeTakeFirst();
      return row && toConnection(row);
    },
    async list(accountId) {
      const rows = await db.selectFrom('connections').selectAll().where('account_id', '=', accountId).orderBy('created_at').orderBy('id').execute();
      return rows.map(toConnection);
    },
    async getRecord(accountId, id) {
      const row = await owned(accountId, id).executeTakeFirst();
      return row && toRecord(row);
    },
    async update(accountId, id, patch) {
      const row = await write(
        (trx) => trx.selectFrom('connections').selectAll().where('account_id', '=', accountId).where('id', '=', id).forUpdate().executeTakeFirst(),
        (row) => {
          const values: Updateable<ConnectionsTable> = {};
          if (patch.name !== undefined) values.name = patch.name;
          if (patch.spec) {
            values.settings = JSON.stringify(patch.spec.settings);
            values.secrets = seal(row, 'secrets', patch.spec.secrets);
          }
          if (patch.tls !== undefined) {
            values.tls = patch.tls ? seal(row, 'tls', patch.tls.material) : null;
            values.tls_info = patch.tls ? JSON.stringify(patch.tls.info) : null;
          }
          // A token fetched with other TLS settings is kept: the token is the same whoever fetched it.
          if (patch.spec || patch.clearTokens) values.rev = row.rev + 1;
          if (patch.clearTokens) Object.assign(values, { tokens: null, token_expires_at: null, authorized_at: null });
          if (patch.status !== undefined) values.status = patch.status;
          if (patch.last_error !== undefined) values.last_error = patch.last_error && JSON.stringify(patch.last_error);
          return values;
        },
      );
      return row && toConnection(row);
    },
    async delete(accountId, id) {
      const res = await db.deleteFrom('connections').where('account_id', '=', accountId).where('id', '=', id).executeTakeFirst();
      return res.numDeletedRows > 0n;
    },
    async usedBy(accountId, id) {
      const rows = await db
        .selectFrom('destinations')
        .select('id')
        .where('account_id', '=', accountId)
        .where('connection_id', '=', id)
        .orderBy('id')
        .execute();
      return rows.map((r) => r.id);
    },

    load,
    async loadFor(scope, id) {
      const check = await cache.check(scope);
      return cache.read(check, `connection:${id}`, () => load(id), (rec) => rec.account_id);
    },
    async setStatus(id, status, error) {
      await write(
        (trx) => trx.selectFrom('connections').selectAll().where('id', '=', id).forUpdate().executeTakeFirst(),
        (row) => {
          const same = row.status === status && (error === null ? row.last_error === null : row.last_error !== null && JSON.parse(row.last_error).message === error.message);
          if (same) return undefined;
          return { status, last_error: errorJson(error) };
        },
      );
    },
    async saveTokens(id, rev, tokens) {
      let saved = false;
      await write(
        (trx) => trx.selectFrom('connections').selectAll().where('id', '=', id).forUpdate().executeTakeFirst(),
        (row) => {
          if (row.rev !== rev) return undefined;
          saved = true;
          return { tokens: seal(row, 'tokens', tokens), token_expires_at: tokens.expires_at ?? null, status: 'connected', last_error: null };
        },
      );
      return saved;
    },
    async requireReauth(id, rev, error) {
      await write(
        (trx) => trx.selectFrom('connections').selectAll().where('id', '=', id).forUpdate().executeTakeFirst(),
        (row) =>
          row.rev !== rev ? undefined : { tokens: null, token_expires_at: null, status: 'needs_reauth', last_error: errorJson(error), rev: row.rev + 1 },
      );
    },
    async acquireRefreshLease(id, untilMs) {
      const res = await db
        .updateTable('connections')
        .set({ refresh_lease_until: untilMs })
        .where('id', '=', id)
        .where((eb) => eb.or([eb('refresh_lease_until', 'is', null), eb('refresh_lease_until', '<', Date.now())]))
        .executeTakeFirst();
      return res.numUpdatedRows > 0n;
    },
    async releaseRefreshLease(id) {
      await db.updateTable('connections').set({ refresh_lease_until: null }).where('id', '=', id).execute();
    },

    async createAuthorization(p) {
      // Expired, never-completed authorizations are swept here rather than by a timer.
      await db.deleteFrom('oauth2_authorizations').where('expires_at', '<', nowIso()).execute();
      await db.insertInto('oauth2_authorizations').values({ ...p, created_at: nowIso() }).execute();
    },
    async findAuthorization(stateHash) {
      const row = await db.selectFrom('oauth2_authorizations').selectAll().where('state_hash', '=', stateHash).executeTakeFirst();
      if (!row) return undefined;
      const { created_at: _c, ...pending } = row;
      return pending;
    },
    async consumeAuthorization(stateHash) {
      const row = await db.deleteFrom('oauth2_authorizations').where('state_hash', '=', stateHash).returningAll().executeTakeFirst();
      if (!row) return undefined;
      const { created_at: _c, ...pending } = row;
      return pending;
    },
    async completeAuthorization(accountId, id, tokens) {
      const row = await write(
        (trx) => trx.selectFrom('connections').selectAll().where('account_id', '=', accountId).where('id', '=', id).forUpdate().executeTakeFirst(),
        (row) => ({
          tokens: seal(row, 'tokens', tokens),
          token_expires_at: tokens.expires_at ?? null,
          rev: row.rev + 1,
          status: 'connected',
          last_error: null,
          authorized_at: nowIso(),
          refresh_lease_until: null,
        }),
      );
      return row && toConnection(row);
    },
    async listWithTls() {
      const rows = await db.selectFrom('connections').selectAll().where('tls_info', 'is not', null).orderBy('id').execute();
      return rows.map(toConnection);
    },
    async hasCertificateNotice(connectionId, fingerprint, day) {
      const row = await db
        .selectFrom('certificate_notices')
        .select('day')
        .where('connection_id', '=', connectionId)
        .where('fingerprint', '=', fingerprint)
        .where('day', '=', day)
        .executeTakeFirst();
      return row !== undefined;
    },
    async recordCertificateNotice(connectionId, fingerprint, day) {
      await db.insertInto('certificate_notices').values({ connection_id: connectionId, fingerprint, day }).onConflict((oc) => oc.doNothing()).execute();
      // The table holds the last weeks only: a notice is about a certificate within 14 days of expiring.
      const monthAgo = new Date(Date.parse(`${day}T00:00:00Z`) - 31 * 86_400_000).toISOString().slice(0, 10);
      await db.deleteFrom('certificate_notices').where('day', '<', monthAgo).execute();
    },
  };
}
