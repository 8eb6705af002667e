import assert from 'node:assert/strict';
import { test } from 'node:test';
import SQLite from 'better-sqlite3';
import { Kysely, SqliteDialect, sql, type Generated } from 'kysely';
import { withStatementCache } from '../../src/store/statement-cache.ts';

const open = () => {
  const raw = new SQLite(':memory:');
  raw.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
  return raw;
};

test('the same SQL text is prepared once and its statement reused', () => {
  const db = withStatementCache(open());
  const a = db.prepare('SELECT v FROM t WHERE id = ?');
  const b = db.prepare('SELECT v FROM t WHERE id = ?');
  assert.equal(a, b);
  assert.notEqual(db.prepare('SELECT id FROM t'), a);
});

test('a statement still being iterated is not handed out again', () => {
  const raw = open();
  raw.exec("INSERT INTO t (v) VALUES ('a'), ('b')");
  const db = withStatementCache(raw);
  const text = 'SELECT v FROM t ORDER BY id';
  const first = db.prepare(text);
  const rows = first.iterate([]);
  rows.next();
  const second = db.prepare(text);
  assert.notEqual(second, first);
  assert.deepEqual(second.all([]), [{ v: 'a' }, { v: 'b' }]);
  rows.return?.();
});

test('the least recently used text is evicted beyond the capacity', () => {
  const db = withStatementCache(open(), 2);
  const a = db.prepare('SELECT 1');
  db.prepare('SELECT 2');
  assert.equal(db.prepare('SELECT 1'), a, 'a hit refreshes the entry');
  db.prepare('SELECT 3'); // evicts SELECT 2, the least recently used
  assert.equal(db.prepare('SELECT 1'), a);
});

test('Kysely reads what it wrote through the cache, also after a schema change', async () => {
  const raw = open();
  const db = new Kysely<{ t: { id: Generated<number>; v: string } }>({ dialect: new SqliteDialect({ database: withStatementCache(raw) }) });
  for (const v of ['x', 'y']) await db.insertInto('t').values({ v }).execute();
  assert.deepEqual((await db.selectFrom('t').select('v').orderBy('id').execute()).map((r) => r.v), ['x', 'y']);
  await sql`ALTER TABLE t ADD COLUMN w TEXT DEFAULT 'z'`.execute(db);
  assert.deepEqual(await sql`SELECT * FROM t WHERE id = ${1}`.execute(db).then((r) => r.rows), [{ id: 1, v: 'x', w: 'z' }]);
  assert.equal((await db.selectFrom('t').select('v').orderBy('id').execute()).length, 2);
  await db.destroy();
});
