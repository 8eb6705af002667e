// `npm test`: type-check, lint, then the whole suite against one real Temporal dev server that this
// script starts (in memory, on a free port) and stops. TEMPORAL_ADDRESS set: that cluster is used.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { startDevServer } from '../src/temporal/dev-server.ts';
import { workflowsPath } from '../src/runtime.ts';

const root = new URL('..', import.meta.url).pathname;
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
  run('npx', ['eslint', '.']);
}

const files = testFiles(join(root, 'test'))
  .concat(testFiles(join(root, 'sandboxes')))
  .filter((f) => filter.length === 0 || filter.some((x) => f.includes(x)))
  .sort();

const dataDir = join(root, '.test-data');
mkdirSync(dataDir, { recursive: true });
// One prebuilt workflow bundle for every test worker: bundling per worker costs seconds each.
const bundle = await bundleWorkflowCode({ workflowsPath, logger: { info() {}, warn() {}, error: console.error, debug() {}, trace() {}, log() {} } as never });
const bundlePath = join(dataDir, 'workflow-bundle.js');
writeFileSync(bundlePath, bundle.code);

let address = process.env.TEMPORAL_ADDRESS;
const server = address ? undefined : await startDevServer({ namespace: 'default', headless: true });
address ??= server!.address;
process.stdout.write(`# Temporal at ${address}; ${files.length} test files\n`);

const child = spawn(
  process.execPath,
  ['--no-node-snapshot', '--import', 'tsx', '--test', '--test-concurrency=2', '--test-reporter=spec', ...files],
  { cwd: root, stdio: 'inherit', env: { ...process.env, TEMPORAL_ADDRESS: address, VOICEOI_TEST_BUNDLE: bundlePath } },
);
const code: number = await new Promise((resolve) => child.on('exit', (c, sig) => resolve(c ?? (sig ? 1 : 0))));
await server?.stop();
process.exit(code);
