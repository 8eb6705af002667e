// `npm test`: type-check, lint, then the whole suite against one real Temporal dev server that this
// script starts (in memory, on a free port) and stops. TEMPORAL_ADDRESS set: that cluster is used.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { startDevServer } from '../src/temporal/dev-server.ts';
import { buildCurrent, describeBuild } from '../src/build/build.ts';
import { projectRoot as root, workflowBundleOf } from '../src/build/layout.ts';
import { startPostgres } from './support/postgres.ts';

const filter = process.argv.slice(2);

function run(cmd: string, args: string[]): void {
  const t0 = Date.now();
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    process.stderr.write(`\n${cmd} ${args.join(' ')} failed (exit ${r.status})\n`);
    process.exit(r.status ?? 1);
  }
  process.stdout.write(`# ${[cmd, ...args].join(' ')}: ok in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
}

function testFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return name === 'support' || name === 'fixtures' ? [] : testFiles(p);
    return name.endsWith('.test.ts') ? [relative(root, p)] : [];
  });
}

if (!process.env.SKIP_CHECKS && filter.length === 0) {
  run('npx', ['tsc', '--noEmit', '-p', '.']);
  run('npx', ['tsc', '--noEmit', '-p', 'console']);
  run('npx', ['eslint', '.']);
}

// The files that take 10 s or more, longest first (measured on a 2-core machine): started first, so
// that no long file is left running alone at the end of the run. The rest follow in name order.
const LONG_FIRST = [
  'test/workflows/per-call-ordering.test.ts',
  'test/workflows/worker-crash.test.ts',
  'test/deliveries/resume.test.ts',
  'test/replicas-failover.test.ts',
  'test/console/console.test.ts',
  'test/erasure/erase.test.ts',
  'test/routes/mappings-type-check.test.ts',
  'test/workflows/bounded-history.test.ts',
  'test/workflows/rate-limit.test.ts',
  'test/replicas-streams.test.ts',
  'test/workflows/delivery-retries.test.ts',
  'test/cli/listen.test.ts',
  'test/connections/refresh-lease.test.ts',
  'test/routes/events-batch.test.ts',
  'test/erasure/erase-durable.test.ts',
  'test/workflows/operational-events.test.ts',
  'test/connections/authorization-code.test.ts',
  'test/connections/credential-provider.test.ts',
  'test/sandboxes/type-check-thread.test.ts',
  'test/docs/quickstart.test.ts',
  'test/build.test.ts',
  'test/routes/codec-temporal-ui.test.ts',
];
const rank = (f: string) => (LONG_FIRST.includes(f) ? LONG_FIRST.indexOf(f) : LONG_FIRST.length);

const files = testFiles(join(root, 'test'))
  .concat(testFiles(join(root, 'sandboxes')))
  .filter((f) => filter.length === 0 || filter.some((x) => f.includes(x)))
  .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));

const dataDir = join(root, '.test-data');
mkdirSync(dataDir, { recursive: true });

// The store and the routes that read and write it run on both dialects: once as they are (SQLite),
// once through a generated twin under .test-data/postgres/ that selects PostgreSQL first
// (test/support/postgres.ts, testDialect). Suites that are about one dialect (SQLite's lock, its
// statement cache) or that loop over both themselves are not listed.
const ON_BOTH = [
  'test/connections/store.test.ts',
  'test/routes/accounts.test.ts',
  'test/routes/connections.test.ts',
  'test/routes/destinations.test.ts',
  'test/routes/events.test.ts',
  'test/routes/mappings.test.ts',
  'test/routes/session.test.ts',
  'test/routes/stream-tokens.test.ts',
  'test/routes/streams.test.ts',
];
const twins = files.filter((f) => ON_BOTH.includes(f)).map((f) => {
  const twin = join(dataDir, 'postgres', f.replace(/\.test\.ts$/, '.postgres.test.mts'));
  mkdirSync(dirname(twin), { recursive: true });
  writeFileSync(twin, `process.env.VOICEOI_TEST_DATABASE = 'postgres';\nawait import(${JSON.stringify(join(root, f))});\n`);
  return relative(root, twin);
});

// One PostgreSQL server for the run; each test file creates its own databases on it.
const postgres = process.env.VOICEOI_TEST_DATABASE_URL ? undefined : await startPostgres();
const stopPostgres = () => postgres?.stop();
process.once('exit', stopPostgres);
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
const databaseUrl = process.env.VOICEOI_TEST_DATABASE_URL ?? postgres!.url;
// The product's build, brought up to date once: the tests that start `npm start`, `npm run api` and
// `npm run worker` run it, and its workflow bundle is the one every test worker loads (bundling per
// worker costs seconds each; the build rebundles only when a workflow source changed).
const built = await buildCurrent(root).catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
process.stdout.write(`# ${describeBuild(built) ?? 'build: dist/ is up to date'}\n`);
const bundlePath = workflowBundleOf(root);

let address = process.env.TEMPORAL_ADDRESS;
const server = address ? undefined : await startDevServer({ namespace: 'default', headless: true });
address ??= server!.address;
process.stdout.write(`# Temporal at ${address}; PostgreSQL at ${databaseUrl}; ${files.length} test files, ${twins.length} of them also on PostgreSQL\n`);

const child = spawn(
  process.execPath,
  ['--no-node-snapshot', '--import', 'tsx', '--test', `--test-concurrency=${process.env.VOICEOI_TEST_CONCURRENCY ?? 2}`, '--test-force-exit', '--test-timeout=600000', '--test-reporter=spec', ...files, ...twins],
  { cwd: root, stdio: 'inherit', env: { ...process.env, TEMPORAL_ADDRESS: address, VOICEOI_TEST_BUNDLE: bundlePath, VOICEOI_TEST_DATABASE_URL: databaseUrl } },
);
const code: number = await new Promise((resolve) => child.on('exit', (c, sig) => resolve(c ?? (sig ? 1 : 0))));
await server?.stop();
process.exit(code);
