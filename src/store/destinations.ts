import type { Kysely, Selectable } from 'kysely';
import type { KeyRing } from '../crypto/keyring.ts';
import { newSigningSecret, publicKeyOf, type SignatureScheme } from '../delivery/signing.ts';
import { isOperationalEventType } from '../events/catalog.ts';
import { newId, nowIso } from '../ids.ts';
import { parseNetworks } from './accounts.ts';
import type { ConfigCache, ConfigCheck, ConfigScope } from './config-cache.ts';
import type { Database, DestinationsTable } from './schema.ts';

const DEFAULT_RETRY_SCHEDULE_S = [0, 5, 30, 120, 600, 1800, 3600, 10800, 21600, 43200, 86400, 86400, 86400];
const DEFAULT_TIMEOUT_MS = 15_000;
/** docs/concepts/delivery-controls.md ("Attempts in flight") says why 20. */
export const DEFAULT_MAX_IN_FLIGHT = 20;

export interface Destination {
  id: string;
  account_id: string;
  url: string;
  description: string | null;
  event_types: string[];
  mapping_id: string | null;
  /** The pinned version of the mapping; null = its current version when each delivery starts. */
  mapping_version: number | null;
  connection_id: string | null;
  enabled: boolean;
  paused: boolean;
  disabled_reason: string | null;
  timeout_ms: number;
  retry_schedule_s: number[];
  /** At most this many attempts start per second to this destination; null = unlimited. */
  rate_limit_per_s: number | null;
  /** per_call: deliveries of one data.call_id reach it one at a time, in acceptance order. */
  ordering: DestinationOrdering;
  /** A JSONata expression; an event for which it is not truthy starts no delivery here. */
  filter: string | null;
  signature_scheme: SignatureScheme;
  /** The `whpk_` key receivers verify ed25519 signatures with; null with HMAC. */
  signing_public_key: string | null;
  /** At most this many attempts in flight at once, across workers; the rest wait in acceptance order. */
  max_in_flight: number;
  /** pull: deliveries become messages the consumer reads (src/delivery/pull.ts); such a destination has no url (''). */
  mode: DestinationMode;
  /** Browser origins whose pages may read a pull destination's stream (CORS). */
  stream_origins: string[];
  /** false: attempt records keep the bodies' sizes and SHA-256 digests, never the bodies. */
  record_bodies: boolean;
  created_at: string;
  updated_at: string;
}

export type DestinationMode = 'push' | 'pull';

export type DestinationOrdering = 'none' | 'per_call';

export interface DestinationInput {
  url: string;
  description?: string | null;
  event_types: string[];
  mapping_id?: string | null;
  mapping_version?: number | null;
  connection_id?: string | null;
  enabled?: boolean;
  timeout_ms?: number;
  retry_schedule_s?: number[] | null;
  rate_limit_per_s?: number | null;
  ordering?: DestinationOrdering;
  filter?: string | null;
  signature_scheme?: SignatureScheme;
  max_in_flight?: number;
  mode?: DestinationMode;
  stream_origins?: string[] | null;
  record_bodies?: boolean;
}

interface StoredSecret {
  ciphertext: string;
  created_at: string;
  /** Set on a secret that was rotated out: it keeps signing until then. */
  expires_at: string | null;
}

export interface DestinationStore {
  /** `signing_secret`: the new secret (the route shows an HMAC one once, and never an ed25519 private key). */
  create(accountId: string, input: DestinationInput): Promise<Destination & { signing_secret: string }>;
  get(accountId: string, id: string): Promise<Destination | undefined>;
  /** For the worker, which acts for whichever account owns the destination. */
  getById(id: string): Promise<Destination | undefined>;
  list(accountId: string): Promise<Destination[]>;
  /** Enabled, unpaused-or-paused destinations of the account subscribed to this event type. */
  listSubscribed(accountId: string, eventType: string): Promise<Destination[]>;
  update(accountId: string, id: string, patch: Partial<DestinationInput> & { paused?: boolean; disabled_reason?: string | null }): Promise<Destination | undefined>;
  /**
   * Disables an enabled destination with the reason an automatic rule gives; false when it was
   * already disabled (or is gone), so of two attempts that disable it at once only one alerts.
   */
  disable(accountId: string, id: string, reason: string): Promise<boolean>;
  delete(accountId: string, id: string): Promise<boolean>;
  /** A new secret of `scheme` (default: the destination's); the previous ones keep signing for the grace. */
  rotateSecret(accountId: string, id: string, graceSeconds: number, scheme?: SignatureScheme): Promise<string | undefined>;
  /**
   * What one delivery attempt needs, in one read: the destination and every secret that signs at
   * `at` (the current one first, then those still in their grace period), and the networks the
   * operator opened for its account.
   */
  getForAttempt(id: string, at: Date): Promise<AttemptView | undefined>;
  /**
   * The worker's getForAttempt, served from the config cache (src/store/config-cache.ts) while nothing
   * of the account changed; `check` is the version it was validated under, for the attempt's other reads.
   * Another account's destination is returned (its owner tells) but never cached for this one.
   */
  forAttempt(scope: ConfigScope, id: string, at: Date): Promise<(AttemptView & { check: ConfigCheck }) | undefined>;
}

export interface AttemptView {
  destination: Destination;
  signingSecrets: string[];
  allowedNetworks: string[];
}

/** What the cache keeps of a destination: every stored secret decrypted (memory only), with when it stops signing. */
interface AttemptConfig {
  destination: Destination;
  secrets: { secret: string; expiresAt: number | null }[];
  allowedNetworks: string[];
}

// The current secret first, then those still in their grace period at `at`.
const activeAt = (config: AttemptConfig, at: Date): AttemptView => ({
  destination: config.destination,
  signingSecrets: config.secrets.filter((s) => s.expiresAt === null || s.expiresAt > at.getTime()).map((s) => s.secret),
  allowedNetworks: config.allowedNetworks,
});

function toDestination(row: Selectable<DestinationsTable>): Destination {
  return {
    id: row.id,
    account_id: row.account_id,
    url: row.url,
    description: row.description,
    event_types: JSON.parse(row.event_types) as string[],
    mapping_id: row.mapping_id,
    mapping_version: row.mapping_version ?? null,
    connection_id: row.connection_id,
    enabled: row.enabled === 1,
    paused: row.paused === 1,
    disabled_reason: row.disabled_reason,
    timeout_ms: row.timeout_ms,
    retry_schedule_s: row.retry_schedule_s ? (JSON.parse(row.retry_schedule_s) as number[]) : [...DEFAULT_RETRY_SCHEDULE_S],
    rate_limit_per_s: row.rate_limit_per_s,
    ordering: row.ordering === 'per_call' ? 'per_call' : 'none',
    filter: row.filter,
    signature_scheme: row.signature_scheme === 'ed25519' ? 'ed25519' : 'hmac-sha256',
    signing_public_key: row.signing_public_key ?? null,
    max_in_flight: row.max_in_flight,
    mode: row.mode === 'pull' ? 'pull' : 'push',
    stream_origins: row.stream_origins ? (JSON.parse(row.stream_origins) as string[]) : [],
    record_bodies: row.record_bodies !== 0,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

export function createDestinationStore(deps: { db: Kysely<Database>; keyRing: KeyRing; cache: ConfigCache }): DestinationStore {
  const { db, keyRing, cache } = deps;
  const aad = (id: string) => `destination:${id}:signing_secret`;
  const seal = (id: string, secret: string): string => keyRing.encrypt(secret, aad(id));

  const openSecrets = (id: string, stored: string, at: Date): AttemptConfig['secrets'] =>
    (JSON.parse(stored) as StoredSecret[])
      .filter((s) => s.expires_at === null || new Date(s.expires_at) > at)
      .map((s) => ({ secret: keyRing.decryptString(s.ciphertext, aad(id)), expiresAt: s.expires_at === null ? null : Date.parse(s.expires_at) }));

  async function attemptConfig(id: string, at: Date): Promise<AttemptConfig | undefined> {
    const row = await db
      .selectFrom('destinations')
      .innerJoin('accounts', 'accounts.id', 'destinations.account_id')
      .selectAll('destinations')
      .select('accounts.allowed_networks')
      .where('destinations.id', '=', id)
      .executeTakeFirst();
    if (!row) return undefined;
    const { allowed_networks, ...destination } = row;
    return { destination: toDestination(destination), secrets: openSecrets(id, row.signing_secrets, at), allowedNetworks: parseNetworks(allowed_networks) };
  }

  const byAccount = (accountId: string, id: string) =>
    db.selectFrom('destinations').selectAll().where('account_id', '=', accountId).where('id', '=', id);

  return {
    async create(accountId, input) {
      const id = newId('dst');
      const now = nowIso();
      const scheme = input.signature_scheme ?? 'hmac-sha256';
      const signing_secret = newSigningSecret(scheme);
      const secrets: StoredSecret[] = [{ ciphertext: seal(id, signing_secret), created_at: now, expires_at: null }];
      const row = {
        id,
        account_id: accountId,
        url: input.url,
        description: input.description ?? null,
        event_types: JSON.stringify(input.event_types),
        mapping_id: input.mapping_id ?? null,
        mapping_version: input.mapping_id ? (input.mapping_version ?? null) : null,
        connection_id: input.connection_id ?? null,
        enabled: input.enabled === false ? 0 : 1,
        paused: 0,
        disabled_reason: null,
        timeout_ms: input.timeout_ms ?? DEFAULT_TIMEOUT_MS,
        retry_schedule_s: input.retry_schedule_s ? JSON.stringify(input.retry_schedule_s) : null,
        rate_limit_per_s: input.rate_limit_per_s ?? null,
        ordering: input.ordering ?? 'none',
        filter: input.filter ?? null,
        signature_scheme: scheme,
        signing_public_key: publicKeyOf(signing_secret) ?? null,
        max_in_flight: input.max_in_flight ?? DEFAULT_MAX_IN_FLIGHT,
        mode: input.mode ?? 'push',
        stream_origins: input.stream_origins?.length ? JSON.stringify(input.stream_origins) : null,
        record_bodies: input.record_bodies === false ? 0 : 1,
        signing_secrets: JSON.stringify(secrets),
        created_at: now,
        updated_at: now,
      };
      await db.insertInto('destinations').values(row).execute();
      return { ...toDestination(row), signing_secret };
    },
    async get(accountId, id) {
      const row = await byAccount(accountId, id).executeTakeFirst();
      return row && toDestination(row);
    },
    async getById(id) {
      const row = await db.selectFrom('destinations').selectAll().where('id', '=', id).executeTakeFirst();
      return row && toDestination(row);
    },
    async list(accountId) {
      const rows = await db
        .selectFrom('destinations')
        .selectAll()
        .where('account_id', '=', accountId)
        .orderBy('created_at')
        .orderBy('id')
        .execute();
      return rows.map(toDestination);
    },
    async listSubscribed(accountId, eventType) {
      // Read for every ingested event: from the config cache while nothing of the account changed.
      const check = await cache.check(accountId);
      const enabled = await cache.read(check, 'enabled-destinations', async () => {
        const rows = await db
          .selectFrom('destinations')
          .selectAll()
          .where('account_id', '=', accountId)
          .where('enabled', '=', 1)
          .orderBy('created_at')
          .orderBy('id')
          .execute();
        return { account_id: accountId, destinations: rows.map(toDestination) };
      }, (e) => e.account_id);
      // `*` is every call event: an operational event (hook.*) reaches only destinations that name it,
      // so a CRM subscribed to everything is not sent alerts about itself.
      const all = !isOperationalEventType(eventType);
      return (enabled?.destinations ?? []).filter((d) => (all && d.event_types.includes('*')) || d.event_types.includes(eventType));
    },
    async update(accountId, id, patch) {
      const values: Partial<DestinationsTable> = { updated_at: nowIso() };
      if (patch.url !== undefined) values.url = patch.url;
      if (patch.description !== undefined) values.description = patch.description;
      if (patch.event_types !== undefined) values.event_types = JSON.stringify(patch.event_types);
      if (patch.mapping_id !== undefined) values.mapping_id = patch.mapping_id;
      if (patch.mapping_version !== undefined) values.mapping_version = patch.mapping_version;
      // A pinned version belongs to its mapping: no mapping, no version.
      if (patch.mapping_id === null) values.mapping_version = null;
      if (patch.connection_id !== undefined) values.connection_id = patch.connection_id;
      if (patch.enabled !== undefined) {
        values.enabled = patch.enabled ? 1 : 0;
        // Re-enabling by hand clears the reason it was disabled automatically.
        if (patch.enabled) values.disabled_reason = null;
      }
      if (patch.paused !== undefined) values.paused = patch.paused ? 1 : 0;
      if (patch.disabled_reason !== undefined) values.disabled_reason = patch.disabled_reason;
      if (patch.timeout_ms !== undefined) values.timeout_ms = patch.timeout_ms;
      if (patch.retry_schedule_s !== undefined)
        values.retry_schedule_s = patch.retry_schedule_s ? JSON.stringify(patch.retry_schedule_s) : null;
      if (patch.rate_limit_per_s !== undefined) values.rate_limit_per_s = patch.rate_limit_per_s;
      if (patch.ordering !== undefined) values.ordering = patch.ordering;
      if (patch.filter !== undefined) values.filter = patch.filter;
      if (patch.max_in_flight !== undefined) values.max_in_flight = patch.max_in_flight;
      if (patch.stream_origins !== undefined) values.stream_origins = patch.stream_origins?.length ? JSON.stringify(patch.stream_origins) : null;
      if (patch.record_bodies !== undefined) values.record_bodies = patch.record_bodies ? 1 : 0;
      const res = await db
        .updateTable('destinations')
        .set(values)
        .where('account_id', '=', accountId)
        .where('id', '=', id)
        .executeTakeFirst();
      if (res.numUpdatedRows === 0n) return undefined;
      const row = await byAccount(accountId, id).executeTakeFirstOrThrow();
      return toDestination(row);
    },
    async disable(accountId, id, reason) {
      const res = await db
        .updateTable('destinations')
        .set({ enabled: 0, disabled_reason: reason, updated_at: nowIso() })
        .where('account_id', '=', accountId)
        .where('id', '=', id)
        .where('enabled', '=', 1)
        .executeTakeFirst();
      return res.numUpdatedRows > 0n;
    },
    async delete(accountId, id) {
      const res = await db.deleteFrom('destinations').where('account_id', '=', accountId).where('id', '=', id).executeTakeFirst();
      return res.numDeletedRows > 0n;
    },
    async rotateSecret(accountId, id, graceSeconds, scheme) {
      return db.transaction().execute(async (trx) => {
        const row = await trx
          .selectFrom('destinations')
          .select(['signing_secrets', 'signature_scheme'])
          .where('account_id', '=', accountId)
          .where('id', '=', id)
          // Locked until commit: a concurrent rotation must not drop this one's secret.
          .forUpdate()
          .executeTakeFirst();
        if (!row) return undefined;
        const now = new Date();
        const expires_at = new Date(now.getTime() + graceSeconds * 1000).toISOString();
        const kept = (JSON.parse(row.signing_secrets) as StoredSecret[])
          .filter((s) => s.expires_at === null || new Date(s.expires_at) > now)
          .map((s) => ({
            // Old secrets are re-sealed under the current key while we hold them anyway.
            ciphertext: keyRing.isCurrent(s.ciphertext) ? s.ciphertext : seal(id, keyRing.decryptString(s.ciphertext, aad(id))),
            created_at: s.created_at,
            expires_at: s.expires_at === null || s.expires_at > expires_at ? expires_at : s.expires_at,
          }));
        const nextScheme = scheme ?? (row.signature_scheme === 'ed25519' ? 'ed25519' : 'hmac-sha256');
        const secret = newSigningSecret(nextScheme);
        const secrets: StoredSecret[] = [{ ciphertext: seal(id, secret), created_at: now.toISOString(), expires_at: null }, ...kept];
        if (graceSeconds === 0) secrets.splice(1);
        await trx
          .updateTable('destinations')
          .set({ signing_secrets: JSON.stringify(secrets), signature_scheme: nextScheme, signing_public_key: publicKeyOf(secret) ?? null, updated_at: now.toISOString() })
          .where('id', '=', id)
          .execute();
        return secret;
      });
    },
    async getForAttempt(id, at) {
      const config = await attemptConfig(id, at);
      return config && activeAt(config, at);
    },
    async forAttempt(scope, id, at) {
      const check = await cache.check(scope);
      const config = await cache.read(check, `destination:${id}`, () => attemptConfig(id, at), (c) => c.destination.account_id);
      return config && { ...activeAt(config, at), check };
    },
  };
}
