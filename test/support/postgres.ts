import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { DatabaseTarget, DialectName } from '../../src/store/db.ts';
import { freePort } from '../../src/temporal/dev-server.ts';
import { installDebianPackage } from './debian-package.ts';

/**
 * One real PostgreSQL server for the whole test run (test/run.ts starts it and exports its URL as
 * VOICEOI_TEST_DATABASE_URL); each test file gets databases of its own from it (testDatabase).
 */

const ENV = 'VOICEOI_TEST_DATABASE_URL';

function lookupBin(name: string): string | undefined {
  const onPath = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).stdout.trim();
  if (onPath) return onPath;
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base) ? readdirSync(base).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) if (existsSync(join(base, v, 'bin', name))) return join(base, v, 'bin', name);
  return undefined;
}

function findBin(name: string): string {
  installDebianPackage('postgresql', () => lookupBin(name) !== undefined);
  const found = lookupBin(name);
  if (found) return found;
  throw new Error(
    `PostgreSQL's ${name} was not found (PATH, /usr/lib/postgresql/*/bin): the store and route suites run against a real PostgreSQL server. Install it (Debian: apt-get install postgresql; .ci/run does) or point ${ENV} at a server`,
  );
}

export interface PostgresServer {
  /** The superuser's URL, to its `postgres` database. */
  url: string;
  stop(): void;
}

/**
 * initdb + pg_ctl in a temporary directory, on a free loopback port; as `postgres` when run as root
 * (initdb refuses root). `durable` keeps PostgreSQL's fsync defaults, for benchmarks of a production
 * set-up (bench/temporal-postgres.ts); tests run without fsync.
 */
export async function startPostgres(o: { durable?: boolean } = {}): Promise<PostgresServer & { pid(): number | undefined }> {
  const initdb = findBin('initdb');
  const pgCtl = findBin('pg_ctl');
  const dir = mkdtempSync(join(tmpdir(), 'voiceoi-pg-'));
  const asRoot = process.getuid?.() === 0;
  const run = (cmd: string, args: string[]) => {
    const argv = asRoot ? ['runuser', '-u', 'postgres', '--', cmd, ...args] : [cmd, ...args];
    const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', cwd: dir });
    if (r.status !== 0) throw new Error(`${[cmd, ...args].join(' ')} failed (exit ${r.status}): ${r.stderr || r.stdout || r.error?.message}`);
  };
  if (asRoot) {
    const id = (flag: string) => Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim());
    if (!Number.isInteger(id('-u')) || spawnSync('id', ['postgres']).status !== 0) {
      throw new Error('running as root, and there is no `postgres` user to run PostgreSQL as (initdb refuses root); the Debian postgresql package creates it');
    }
    chownSync(dir, id('-u'), id('-g'));
  }
  const data = join(dir, 'data');
  const port = await freePort();
  run(initdb, ['-D', data, '-U', 'voiceoi', '--auth=trust', '--no-sync', '-E', 'UTF8']);
  // Durability is not what a test run checks: no fsync keeps CREATE DATABASE per file cheap.
  const relaxed = o.durable ? '' : ' -c fsync=off -c synchronous_commit=off -c full_page_writes=off';
  const opts = `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir}${relaxed} -c max_connections=300`;
  run(pgCtl, ['-D', data, '-l', join(dir, 'server.log'), '-o', opts, '-w', '-t', '60', 'start']);
  let stopped = false;
  return {
    url: `postgres://voiceoi@127.0.0.1:${port}/postgres`,
    /** The postmaster's pid (its first line of postmaster.pid), for resource accounting. */
    pid() {
      try {
        return Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]) || undefined;
      } catch {
        return undefined;
      }
    },
    stop() {
      if (stopped) return;
      stopped = true;
      try {
        run(pgCtl, ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/** A fresh, empty database on the run's server; its URL. */
export async function createTestDatabase(): Promise<string> {
  const admin = process.env[ENV];
  if (!admin) throw new Error(`${ENV} is not set: run the tests with \`npm test\`, which starts PostgreSQL`);
  const name = `voiceoi_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  try {
    await client.query(`create database ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return url.toString();
}

/** The dialect a suite runs on when it does not say: VOICEOI_TEST_DATABASE (test/run.ts runs some files on both). */
export const testDialect = (): DialectName => (process.env.VOICEOI_TEST_DATABASE === 'postgres' ? 'postgres' : 'sqlite');

/** Where a test's store lives: a SQLite file under `dir`, or a fresh PostgreSQL database. */
export async function testDatabase(dialect: DialectName, dir: string): Promise<DatabaseTarget> {
  return dialect === 'postgres' ? { url: await createTestDatabase(), poolSize: 4 } : { file: join(dir, 'voiceoi.db') };
}
