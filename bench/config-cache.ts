// CPU of the worker's control-plane reads per delivery, before (every read from the database, every
// secret decrypted) and after the config cache (src/store/config-cache.ts: one version read per
// activity, the rest from memory). Two deliveries: a plain destination (the attempt's read alone) and
// one with a pinned mapping and a connection (the transform's reads and the attempt's). SQLite always;
// PostgreSQL too when DATABASE_URL is set (e.g. a scratch database of test/support/postgres.ts).
//
//   npx tsx bench/config-cache.ts
//   DATABASE_URL=postgres://… npx tsx bench/config-cache.ts
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadKeyRing, type KeyRing } from '../src/crypto/keyring.ts';
import type { ConfigCache } from '../src/store/config-cache.ts';
import { createConnectionStore } from '../src/store/connections.ts';
import type { DatabaseTarget } from '../src/store/db.ts';
import { createDestinationStore } from '../src/store/destinations.ts';
import { createMappingStore } from '../src/store/mappings.ts';
import { createStore, type KyselyStore } from '../src/store/index.ts';

const N = Number(process.env.BENCH_RUNS ?? 5000);

/** Mean CPU time of this process (user + system) per call, in µs, after a warm-up. */
async function cpuPerCall(f: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < Math.min(500, N); i++) await f();
  const c0 = process.cpuUsage();
  for (let i = 0; i < N; i++) await f();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / N;
}

async function measure(store: KyselyStore, keyRing: KeyRing): Promise<string[]> {
  const accountId = (await store.accounts.create('Bench BPO')).id;
  const plain = await store.destinations.create(accountId, { url: 'https://crm.example/hook', event_types: ['*'] });
  const m = await store.mappings.create(accountId, { name: 'm', language: 'jsonata', source: '{"call": data.call_id}' });
  const c = await store.connections.create(accountId, { name: 'c', spec: { kind: 'headers', settings: { header_names: ['x-key'] }, secrets: { headers: { 'x-key': 'k' } } }, status: 'connected' });
  const full = await store.destinations.create(accountId, { url: 'https://crm.example/full', event_types: ['*'], mapping_id: m.id, connection_id: c.id });

  // Before: the same stores over a cache that never holds anything (a check that finds no version),
  // so every read goes to the database and every secret is decrypted, as the code did before.
  const never: ConfigCache = { check: (s) => Promise.resolve(typeof s === 'string' ? { accountId: s, version: undefined } : s), read: (_c, _k, load) => load(), stats: () => ({ hits: 0, misses: 0, size: 0 }) };
  const uncached = {
    destinations: createDestinationStore({ db: store.db, keyRing, cache: never }),
    connections: createConnectionStore({ db: store.db, keyRing, cache: never }),
    mappings: createMappingStore({ db: store.db, cache: never }),
  };
  // Per delivery, what src/ingest.ts (API), src/transform/transform-step.ts and src/delivery/attempt.ts
  // with src/connections/credential-provider.ts (worker) read.
  const perDelivery = (s: Pick<KyselyStore, 'destinations' | 'connections' | 'mappings'>) => ({
    ingest: () => s.destinations.listSubscribed(accountId, 'call_completed'),
    plain: () => s.destinations.forAttempt(accountId, plain.id, new Date()),
    full: async () => {
      const v = await s.mappings.versionFor(accountId, m.id, 1);
      await s.destinations.forAttempt(v!.check, full.id, new Date());
      const a = await s.destinations.forAttempt(accountId, full.id, new Date());
      await s.connections.loadFor(a!.check, c.id);
    },
  });
  const before = perDelivery(uncached);
  const after = perDelivery(store);
  const rows: string[] = [];
  for (const [what, key] of [['ingest: subscribed destinations (API)', 'ingest'], ['plain destination (attempt)', 'plain'], ['mapping + connection (transform + attempt)', 'full']] as const) {
    const b = await cpuPerCall(before[key]);
    const a = await cpuPerCall(after[key]);
    rows.push(`| ${store.dialect} | ${what} | ${b.toFixed(0)} | ${a.toFixed(0)} | ${(b - a).toFixed(0)} |`);
  }
  return rows;
}

const dir = mkdtempSync(join(tmpdir(), 'voiceoi-bench-cache-'));
const keyRing = loadKeyRing({ masterKeys: `k1:${randomBytes(32).toString('base64')}`, dataDir: dir });
const targets: DatabaseTarget[] = [{ file: join(dir, 'voiceoi.db') }, ...(process.env.DATABASE_URL ? [{ url: process.env.DATABASE_URL, poolSize: 4 }] : [])];
const rows: string[] = [];
try {
  for (const target of targets) {
    const store = await createStore({ ...target, keyRing });
    try {
      rows.push(...(await measure(store, keyRing)));
    } finally {
      await store.close();
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(
  [
    `Control-plane reads per delivery, ${new Date().toISOString().slice(0, 16)}Z: Node ${process.version}, ${cpus().length} CPU, 1-min load ${loadavg()[0]!.toFixed(1)}; ${N} deliveries each, this process's CPU (the database server's own is not counted).`,
    '',
    '| database | delivery | µs CPU uncached | µs CPU cached | saved µs |',
    '|---|---|---:|---:|---:|',
    ...rows,
  ].join('\n'),
);
