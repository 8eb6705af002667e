import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../src/temporal/dev-server.ts';
import { callAt } from '../support/api.ts';
import { markedBlocks, rewritten, runShell, type ShellRun } from '../support/doc-blocks.ts';
import { startReplica, type ProductProcess } from '../support/product-process.ts';
import { eventually } from '../support/stack.ts';

// The README's quickstart, run as a reader runs it: `npm start` (the build, every role in one
// process, a fresh data directory whose generated admin token the block reads), then the marked shell
// block with bash. Only its ports and paths move to free ones (the rewrites below); the commands,
// the receiver and the JSON are the page's.

const root = fileURLToPath(new URL('../..', import.meta.url));
const dirs: string[] = [];
let product: ProductProcess | undefined;
let shell: ShellRun | undefined;

after(async () => {
  shell?.end();
  await product?.kill();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test('the README quickstart runs as written against npm start, and its event is delivered', async () => {
  const [block, ...more] = markedBlocks(join(root, 'README.md'), 'quickstart');
  assert.ok(block, 'README.md has no `<!-- doc-test: quickstart -->` block');
  assert.equal(more.length, 0, 'README.md marks more than one quickstart block');

  const dataDir = mkdtempSync(join(tmpdir(), 'voiceoi-quickstart-'));
  const scratch = mkdtempSync(join(tmpdir(), 'voiceoi-quickstart-tmp-'));
  dirs.push(dataDir, scratch);
  assert.ok(process.env.TEMPORAL_ADDRESS, 'TEMPORAL_ADDRESS is not set: run the tests with `npm test`');
  // `npm start` as the reader starts it, but on the test run's Temporal (a second dev server would want
  // the reader's fixed ports) and its own task queue; the console is not under test (an empty directory
  // spares a console build). No allow-list: opening loopback for the account is the block's own step 2b.
  product = await startReplica('start', {
    VOICEOI_DATA_DIR: dataDir,
    VOICEOI_CONSOLE_DIR: dataDir,
    TEMPORAL_ADDRESS: process.env.TEMPORAL_ADDRESS,
    VOICEOI_TASK_QUEUE: `quickstart-${randomBytes(6).toString('hex')}`,
    LOG_LEVEL: 'warn',
    ...(process.env.VOICEOI_TEST_BUNDLE ? { VOICEOI_WORKFLOW_BUNDLE: process.env.VOICEOI_TEST_BUNDLE } : {}),
  });
  const apiPort = new URL(product.url).port;
  const receiverPort = String(await freePort());

  // In order: the scratch directory first, since the data directory's own path is under /tmp too.
  const script = rewritten(block, {
    '/tmp/': `${scratch}/`,
    'localhost:3000': `localhost:${apiPort}`,
    '.data/admin-token': join(dataDir, 'admin-token'),
    'listen(4000)': `listen(${receiverPort})`,
    '127.0.0.1:4000': `127.0.0.1:${receiverPort}`,
  });
  shell = await runShell(script, { cwd: root, env: { PATH: process.env.PATH, HOME: process.env.HOME } });
  assert.equal(shell.code, 0, `the quickstart block failed (exit ${shell.code}):\n${shell.stdout}\n${shell.stderr}\n--- npm start:\n${product.output()}`);

  // What the reader sees at step 4: the ingest answer with one delivery.
  const ingest = JSON.parse(readFileSync(join(scratch, 'ingest.json'), 'utf8')) as { event_id: string; deliveries: { id: string }[] };
  assert.equal(ingest.deliveries.length, 1, `the event started ${ingest.deliveries.length} deliveries: ${JSON.stringify(ingest)}`);
  const deliveryId = ingest.deliveries[0]!.id;

  // Step 5: the receiver printed the signed request (on a loaded machine it may land after the
  // block's `sleep 1`, so the log is read until it does).
  const crmLog = join(scratch, 'crm.log');
  const line = await eventually(
    async () => (existsSync(crmLog) ? readFileSync(crmLog, 'utf8').split('\n').find((l) => l.includes('evt_quickstart_1')) : undefined),
    'the quickstart receiver to print evt_quickstart_1',
    60_000,
  );
  assert.match(line, /^\d+ evt_quickstart_1 v1,\S+ \{.*"call_id":"call_42"/);

  // Step 6: the API says delivered, with the attempt the receiver answered.
  const account = JSON.parse(readFileSync(join(scratch, 'account.json'), 'utf8')) as { api_key: string };
  const delivery = await eventually(
    async () => {
      const r = await callAt(product!.url, 'GET', `/v1/deliveries/${encodeURIComponent(deliveryId)}`, { token: account.api_key });
      return r.body?.status === 'delivered' ? r.body : undefined;
    },
    `delivery ${deliveryId} to read delivered`,
    60_000,
  );
  assert.equal(delivery.attempts.at(-1).response.status, 200);
  assert.match(shell.stdout, /namespaces\/default\/workflows\/delivery:/, 'step 6 printed no Temporal UI link');
});
