import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../src/temporal/dev-server.ts';
import { callAt } from '../support/api.ts';
import { markedBlocks, rewritten, runShell, type ShellRun } from '../support/doc-blocks.ts';
import { freeTemporalPort } from '../support/temporal-ports.ts';
import { startReplica, type ProductProcess } from '../support/product-process.ts';
import { eventually } from '../support/stack.ts';

// The README's quickstart, run as a reader runs it: `npm start` (the build, every role in one
// process, a fresh data directory whose generated admin token the block reads), then the marked shell
// block with bash. Only its ports and paths move to free ones (the rewrites below); the commands,
// the receiver and the JSON are the page's. Then the guides' blocks marked `after-quickstart`, in the
// quickstart's terminal as their pages say (its variables, its receiver).

/** The guides whose marked blocks continue the quickstart, in the order a reader meets them. */
// The erasure goes last: it erases the quickstart's call.
const AFTER_QUICKSTART = ['docs/guides/first-mapping.md', 'docs/guides/streams-and-listen.md', 'docs/guides/debug-a-delivery.md', 'docs/guides/erase-a-call.md'];

const root = fileURLToPath(new URL('../..', import.meta.url));
const dirs: string[] = [];
let product: ProductProcess | undefined;
let shell: ShellRun | undefined;
/** What the quickstart left for the guides: its scratch directory and the rewrites of its ports and paths. */
let quickstart: { scratch: string; rewrites: Record<string, string> } | undefined;

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
  // `npm start` as the reader starts it, its own Temporal dev server included, on free ports
  // (TEMPORAL_PORT: the machine's own npm start may hold 7233/8233); the console is not under test (an
  // empty directory spares a console build). No allow-list: opening loopback for the account is the
  // block's own step 2b.
  product = await startReplica('start', {
    VOICEOI_DATA_DIR: dataDir,
    VOICEOI_CONSOLE_DIR: dataDir,
    TEMPORAL_PORT: String(await freeTemporalPort()),
    LOG_LEVEL: 'warn',
    ...(process.env.VOICEOI_TEST_BUNDLE ? { VOICEOI_WORKFLOW_BUNDLE: process.env.VOICEOI_TEST_BUNDLE } : {}),
  });
  const apiPort = new URL(product.url).port;
  const receiverPort = String(await freePort());

  // In order: the scratch directory first, since the data directory's own path is under /tmp too.
  const rewrites = {
    '/tmp/': `${scratch}/`,
    'localhost:3000': `localhost:${apiPort}`,
    '.data/admin-token': join(dataDir, 'admin-token'),
    'listen(4000)': `listen(${receiverPort})`,
    '127.0.0.1:4000': `127.0.0.1:${receiverPort}`,
  };
  const script = rewritten(block, rewrites);
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
  quickstart = { scratch, rewrites: { '/tmp/': rewrites['/tmp/'], 'localhost:3000': rewrites['localhost:3000'] } };
});

test('the guides that continue the quickstart run as written in its terminal', async (t) => {
  if (!quickstart) return t.skip('the quickstart did not run');
  const { scratch } = quickstart;
  const marked = (file: string) => markedBlocks(join(root, file), 'after-quickstart');
  const unlisted = readdirSync(join(root, 'docs'), { recursive: true, encoding: 'utf8' })
    .map((f) => join('docs', f))
    .filter((f) => f.endsWith('.md') && !AFTER_QUICKSTART.includes(f) && marked(f).length > 0);
  assert.deepEqual(unlisted, [], 'pages with after-quickstart blocks that this test does not run: add them to AFTER_QUICKSTART');

  // The quickstart's terminal: the variables it set, read back from the files it wrote.
  const json = (name: string) => JSON.parse(readFileSync(join(scratch, name), 'utf8'));
  const terminal = [
    `API_KEY='${json('account.json').api_key}'`,
    `ACCOUNT='${json('account.json').id}'`,
    `DESTINATION='${json('destination.json').id}'`,
    `DELIVERY='${json('ingest.json').deliveries[0].id}'`,
  ].join('\n');
  for (const file of AFTER_QUICKSTART) {
    const blocks = marked(file);
    assert.ok(blocks.length > 0, `${file} has no after-quickstart block`);
    // Each rewrite must occur in the page as a whole, not in every block.
    const script = rewritten(blocks.join('\n'), Object.fromEntries(Object.entries(quickstart.rewrites).filter(([from]) => blocks.join('\n').includes(from))));
    const run = await runShell(`${terminal}\n${script}`, { cwd: root, env: { PATH: process.env.PATH, HOME: process.env.HOME } });
    assert.equal(run.code, 0, `${file} failed (exit ${run.code}):\n${run.stdout}\n${run.stderr}\n--- npm start:\n${product!.output()}`);
    if (file.endsWith('first-mapping.md')) {
      // The JSONata test answered the mapped body of the quickstart's event, without sending it; or, as
      // the page warns, the first run in a cold sandbox on a loaded machine hit the 50 ms limit.
      if (/\{"code":"timeout"/.test(run.stdout)) t.diagnostic('the mapping test hit the 50 ms limit on its cold first run, as the guide warns');
      else assert.match(run.stdout, /"result":\{"method":"POST","body":\{"lead":"884","minutes":3\.1,"outcome":"qualified"/);
      // Both mappings reached the receiver, as the page says they print.
      const log = join(scratch, 'crm.log');
      const jsonata = await eventually(async () => readFileSync(log, 'utf8').split('\n').find((l) => l.includes(' evt_mapping_1 ')), 'evt_mapping_1 at the receiver', 60_000);
      assert.ok(jsonata.endsWith('{"lead":"885","minutes":1.6,"outcome":"callback","summary":"Asked for a brochure."}'), jsonata);
      const typescript = await eventually(async () => readFileSync(log, 'utf8').split('\n').find((l) => l.includes(' evt_mapping_2 ')), 'evt_mapping_2 at the receiver', 60_000);
      assert.ok(typescript.endsWith('{"stage":"sales-ready","talk_seconds":240,"note":"Ready to sign."}'), typescript);
    }
    if (file.endsWith('streams-and-listen.md')) assert.match(run.stdout, /\{"items":\[/, 'the pull destination answered no page');
    if (file.endsWith('debug-a-delivery.md')) {
      // Temporal visibility lists the quickstart's delivery under its lead (it trails by a moment: the
      // guides before this one took seconds).
      assert.ok(run.stdout.includes(`"id":"${json('ingest.json').deliveries[0].id}"`), `the lead's deliveries did not list the quickstart's:\n${run.stdout}`);
    }
    if (file.endsWith('erase-a-call.md')) {
      assert.match(run.stdout, /"call_id":"call_42","erased_at":"[^"]+","deliveries":1/);
      // The quickstart's delivery now shows what erasure leaves: no request or response content.
      const erased = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
      assert.equal(erased.erased, true);
      assert.equal(erased.status, 'delivered');
      assert.doesNotMatch(JSON.stringify(erased), /Booked a site survey/);
    }
  }
});
