import { createHash, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { newId, nowIso } from '../ids.ts';
import type { Database } from './schema.ts';

export interface Account {
  id: string;
  name: string;
  created_at: string;
}

/** What the admin sees of an account. */
export interface AccountDetail extends Account {
  /** CIDRs an operator opened for this account's destinations and token URLs. */
  allowed_networks: string[];
  /** Hours its pull messages are kept (src/store/messages.ts); null: the install default. */
  stream_retention_hours: number | null;
  /** Days a call's data is kept before its key is shredded; null: the install's VOICEOI_DATA_RETENTION_DAYS. */
  data_retention_days: number | null;
}

export interface AccountStore {
  /** Returns the plaintext API key once; only its hash is kept. */
  create(name: string): Promise<Account & { api_key: string }>;
  findByApiKey(apiKey: string): Promise<Account | undefined>;
  get(id: string): Promise<Account | undefined>;
  detail(id: string): Promise<AccountDetail | undefined>;
  /** The account's own allow-list; empty when none is set (or the account is gone). */
  allowedNetworks(id: string): Promise<string[]>;
  setAllowedNetworks(id: string, networks: string[]): Promise<AccountDetail | undefined>;
  /** False when there is no such account. */
  setStreamRetention(id: string, hours: number | null): Promise<boolean>;
  setDataRetentionDays(id: string, days: number | null): Promise<AccountDetail | undefined>;
}

export const parseNetworks = (stored: string | null): string[] => (stored ? (JSON.parse(stored) as string[]) : []);

// API keys carry 192 random bits, so a fast hash is safe for them; a slow KDF would only add
// latency to every ingest request.
const hashApiKey = (key: string): string => createHash('sha256').update(key).digest('hex');

export function createAccountStore(deps: { db: Kysely<Database> }): AccountStore {
  const { db } = deps;
  const detail = async (id: string): Promise<AccountDetail | undefined> => {
    const row = await db
      .selectFrom('accounts')
      .select(['id', 'name', 'created_at', 'allowed_networks', 'stream_retention_hours', 'data_retention_days'])
      .where('id', '=', id)
      .executeTakeFirst();
    return row && { ...row, allowed_networks: parseNetworks(row.allowed_networks) };
  };
  return {
    async create(name) {
      const account = { id: newId('acc'), name, created_at: nowIso() };
      const api_key = `vk_${randomBytes(24).toString('base64url')}`;
      await db
        .insertInto('accounts')
        .values({ ...account, api_key_hash: hashApiKey(api_key), api_key_prefix: api_key.slice(0, 7), data_retention_days: null })
        .execute();
      return { ...account, api_key };
    },
    async findByApiKey(apiKey) {
      return db
        .selectFrom('accounts')
        .select(['id', 'name', 'created_at'])
        .where('api_key_hash', '=', hashApiKey(apiKey))
        .executeTakeFirst();
    },
    async get(id) {
      return db.selectFrom('accounts').select(['id', 'name', 'created_at']).where('id', '=', id).executeTakeFirst();
    },
    detail,
    async allowedNetworks(id) {
      const row = await db.selectFrom('accounts').select('allowed_networks').where('id', '=', id).executeTakeFirst();
      return parseNetworks(row?.allowed_networks ?? null);
    },
    async setStreamRetention(id, hours) {
      const res = await db.updateTable('accounts').set({ stream_retention_hours: hours }).where('id', '=', id).executeTakeFirst();
      return res.numUpdatedRows > 0n;
    },
    async setAllowedNetworks(id, networks) {
      const res = await db
        .updateTable('accounts')
        .set({ allowed_networks: networks.length ? JSON.stringify(networks) : null })
        .where('id', '=', id)
        .executeTakeFirst();
      return res.numUpdatedRows === 0n ? undefined : detail(id);
    },
    async setDataRetentionDays(id, days) {
      const res = await db.updateTable('accounts').set({ data_retention_days: days }).where('id', '=', id).executeTakeFirst();
      return res.numUpdatedRows === 0n ? undefined : detail(id);
    },
  };
}
