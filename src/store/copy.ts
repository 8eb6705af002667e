// `npm run db:copy -- --to "$DATABASE_URL" [--from .data/voiceoi.db] [--replace]`: moves an existing
// SQLite install to PostgreSQL. Stop every process of the install first; it reads a still file.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { Kysely } from 'kysely';
import { openDatabase } from './db.ts';
import { isPostgresUrl } from './postgres.ts';
import type { Database } from './schema.ts';

/** Every table, parents before children (foreign keys). A table missing here stops the copy. */
const TABLES = [
  'accounts',
  'destinations',
  'mappings',
  'mapping_versions',
  'connections',
  'oauth2_authorizations',
  'failing_streaks',
  'events',
  'sessions',
  'key_failures',
  'stream_heads',
  'stream_messages',
  'stream_acks',
  'stream_leases',
  // Deliveries waiting for a slot keep their place, and slots in flight stay counted, across the move.
  'slot_leases',
  'slot_waiters',
  'ingest_quotas',
  'certificate_notices',
  'call_keys',
  'call_deliveries',
  'call_erasures',
] as const satisfies readonly (keyof Database)[];

type Table = (typeof TABLES)[number];
const BATCH = 500;

async function counts(db: Kysely<Database>): Promise<Record<Table, number>> {
  const out = {} as Record<Table, number>;
  for (const t of TABLES) {
    const row = await db.selectFrom(t).select((eb) => eb.fn.countAll<string | number>().as('n')).executeTakeFirstOrThrow();
    out[t] = Number(row.n);
  }
  return out;
}

async function sqliteTables(db: Kysely<Database>): Promise<string[]> {
  const tables = await db.introspection.getTables();
  return tables.map((t) => t.name).filter((n) => !n.startsWith('kysely_') && !n.startsWith('sqlite_'));
}

/**
 * Copies every row of the SQLite file `from` into the PostgreSQL database `to` (both brought to the
 * latest schema first), in one transaction: the target holds all of it or none. A target with rows
 * is refused unless `replace`, which empties it inside the same transaction. Returns the row counts,
 * checked equal on both sides before the commit.
 */
export async function copyDatabase(opts: { from: string; to: string; replace?: boolean }): Promise<Record<Table, number>> {
  if (!existsSync(opts.from)) throw new Error(`--from ${opts.from}: no such SQLite file`);
  if (!isPostgresUrl(opts.to)) throw new Error('--to must be a postgres:// or postgresql:// URL');
  const source = await openDatabase({ file: opts.from });
  try {
    const unknown = (await sqliteTables(source)).filter((t) => !(TABLES as readonly string[]).includes(t));
    if (unknown.length) throw new Error(`the source has tables this copy does not know (${unknown.join(', ')}): add them to TABLES in src/store/copy.ts`);
    const want = await counts(source);
    const target = await openDatabase({ url: opts.to, poolSize: 1 });
    try {
      await target.transaction().execute(async (trx) => {
        const existing = await counts(trx);
        const filled = TABLES.filter((t) => existing[t] > 0);
        if (filled.length && !opts.replace) {
          throw new Error(`the target database is not empty (${filled.map((t) => `${t}: ${existing[t]}`).join(', ')}); pass --replace to overwrite it`);
        }
        for (const t of [...TABLES].reverse()) await trx.deleteFrom(t).execute();
        for (const t of TABLES) {
          // Read in key order, one batch at a time: memory stays flat however large the events table is.
          for (let offset = 0; offset < want[t]; offset += BATCH) {
            const rows = await source.selectFrom(t).selectAll().orderBy(source.dynamic.ref('rowid')).limit(BATCH).offset(offset).execute();
            if (rows.length) await trx.insertInto(t).values(rows as never).execute();
          }
        }
        const got = await counts(trx);
        const wrong = TABLES.filter((t) => got[t] !== want[t]);
        if (wrong.length) throw new Error(`row counts differ after the copy, nothing was committed: ${wrong.map((t) => `${t} ${want[t]} → ${got[t]}`).join(', ')}`);
      });
    } finally {
      await target.destroy();
    }
    return want;
  } finally {
    await source.destroy();
  }
}

const redact = (url: string): string => {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
};

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { from: { type: 'string' }, to: { type: 'string' }, replace: { type: 'boolean', default: false } },
  });
  const to = values.to ?? process.env.DATABASE_URL;
  if (!to) throw new Error('say where to copy to: --to postgres://user:password@host:5432/db (or set DATABASE_URL)');
  const from = values.from ?? join(process.env.VOICEOI_DATA_DIR || '.data', 'voiceoi.db');
  const copied = await copyDatabase({ from, to, replace: values.replace });
  process.stdout.write(`copied ${from} to ${redact(to)}:\n${Object.entries(copied).map(([t, n]) => `  ${t.padEnd(22)} ${n}`).join('\n')}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`db:copy failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
