import type { Kysely, Selectable } from 'kysely';
import { newId, nowIso } from '../ids.ts';
import type { ConfigCache, ConfigCheck, ConfigScope } from './config-cache.ts';
import type { Database, MappingsTable } from './schema.ts';

export type MappingLanguage = 'jsonata' | 'typescript';

export interface Mapping {
  id: string;
  account_id: string;
  name: string;
  language: MappingLanguage;
  version: number;
  timeout_ms: number | null;
  memory_mb: number | null;
  created_at: string;
  updated_at: string;
}

export interface MappingVersion {
  mapping_id: string;
  version: number;
  source: string;
  created_at: string;
}

export interface MappingStore {
  create(accountId: string, input: { name: string; language: MappingLanguage; source: string; timeout_ms?: number | null; memory_mb?: number | null }): Promise<Mapping>;
  /** Adds a version and makes it current; versions are immutable, so a pinned delivery replays the same code. */
  addVersion(accountId: string, id: string, input: { source: string; timeout_ms?: number | null; memory_mb?: number | null }): Promise<Mapping | undefined>;
  get(accountId: string, id: string): Promise<Mapping | undefined>;
  list(accountId: string): Promise<Mapping[]>;
  /**
   * One page of the mapping's versions, newest first, without their sources (one version of up to
   * 256 KiB each is fetched by `version`): those older than `before`, `limit` at most. Undefined when
   * the account has no such mapping.
   */
  versions(accountId: string, id: string, page: { before?: number; limit: number }): Promise<{ items: { version: number; created_at: string }[]; more: boolean } | undefined>;
  /** The worker's read: by id alone (the destination already proved ownership). */
  version(id: string, version: number): Promise<(MappingVersion & { mapping: Mapping }) | undefined>;
  /**
   * version, served from the config cache (src/store/config-cache.ts) while nothing of the account
   * changed; `check` is the version it was validated under, for the transform's other reads. Another
   * account's mapping is returned (its owner tells) but never cached for this one.
   */
  versionFor(scope: ConfigScope, id: string, version: number): Promise<(MappingVersion & { mapping: Mapping; check: ConfigCheck }) | undefined>;
  delete(accountId: string, id: string): Promise<boolean>;
}

const toMapping = (r: Selectable<MappingsTable>): Mapping => ({
  id: r.id,
  account_id: r.account_id,
  name: r.name,
  language: r.language as MappingLanguage,
  version: r.current_version,
  timeout_ms: r.timeout_ms,
  memory_mb: r.memory_mb,
  created_at: r.created_at,
  updated_at: r.updated_at,
});

export function createMappingStore(deps: { db: Kysely<Database>; cache: ConfigCache }): MappingStore {
  const { db, cache } = deps;
  const owned = (accountId: string, id: string) =>
    db.selectFrom('mappings').selectAll().where('account_id', '=', accountId).where('id', '=', id);
  const versionOf = async (id: string, version: number): Promise<(MappingVersion & { mapping: Mapping }) | undefined> => {
    const m = await db.selectFrom('mappings').selectAll().where('id', '=', id).executeTakeFirst();
    if (!m) return undefined;
    const v = await db.selectFrom('mapping_versions').selectAll().where('mapping_id', '=', id).where('version', '=', version).executeTakeFirst();
    return v && { ...v, mapping: toMapping(m) };
  };
  return {
    async create(accountId, input) {
      const now = nowIso();
      const row = {
        id: newId('map'),
        account_id: accountId,
        name: input.name,
        language: input.language,
        current_version: 1,
        timeout_ms: input.timeout_ms ?? null,
        memory_mb: input.memory_mb ?? null,
        created_at: now,
        updated_at: now,
      };
      await db.transaction().execute(async (trx) => {
        await trx.insertInto('mappings').values(row).execute();
        await trx.insertInto('mapping_versions').values({ mapping_id: row.id, version: 1, source: input.source, created_at: now }).execute();
      });
      return toMapping(row);
    },
    async addVersion(accountId, id, input) {
      return db.transaction().execute(async (trx) => {
        // Locked until commit: two concurrent uploads must not both take the next version number.
        const row = await trx.selectFrom('mappings').selectAll().where('account_id', '=', accountId).where('id', '=', id).forUpdate().executeTakeFirst();
        if (!row) return undefined;
        const now = nowIso();
        const version = row.current_version + 1;
        await trx.insertInto('mapping_versions').values({ mapping_id: id, version, source: input.source, created_at: now }).execute();
        const patch: Partial<MappingsTable> = { current_version: version, updated_at: now };
        if (input.timeout_ms !== undefined) patch.timeout_ms = input.timeout_ms;
        if (input.memory_mb !== undefined) patch.memory_mb = input.memory_mb;
        await trx.updateTable('mappings').set(patch).where('id', '=', id).execute();
        return toMapping({ ...row, ...patch });
      });
    },
    async get(accountId, id) {
      const row = await owned(accountId, id).executeTakeFirst();
      return row && toMapping(row);
    },
    async list(accountId) {
      return (await db.selectFrom('mappings').selectAll().where('account_id', '=', accountId).orderBy('created_at').execute()).map(toMapping);
    },
    async versions(accountId, id, page) {
      if (!(await owned(accountId, id).executeTakeFirst())) return undefined;
      let query = db.selectFrom('mapping_versions').select(['version', 'created_at']).where('mapping_id', '=', id);
      if (page.before !== undefined) query = query.where('version', '<', page.before);
      // One more than asked: whether another page follows, without counting.
      const rows = await query.orderBy('version', 'desc').limit(page.limit + 1).execute();
      return { items: rows.slice(0, page.limit), more: rows.length > page.limit };
    },
    version: versionOf,
    async versionFor(scope, id, version) {
      const check = await cache.check(scope);
      const found = await cache.read(check, `mapping:${id}@${version}`, () => versionOf(id, version), (v) => v.mapping.account_id);
      return found && { ...found, check };
    },
    async delete(accountId, id) {
      const res = await db.deleteFrom('mappings').where('account_id', '=', accountId).where('id', '=', id).executeTakeFirst();
      return res.numDeletedRows > 0n;
    },
  };
}
