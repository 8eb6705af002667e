import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { appendFileSync, cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { bundleInputs } from '../src/build/bundle-inputs.ts';
import { buildCurrent } from '../src/build/build.ts';
import { projectRoot, SOURCE_DIRS, workflowBundleOf } from '../src/build/layout.ts';
import { callAt } from './support/api.ts';
import { callCompleted } from './support/events.ts';
import { startReceiver, type Receiver } from './support/receiver.ts';
import { startReplica, type ProductProcess } from './support/product-process.ts';

// The build is tested on a copy of the product's sources (with this checkout's node_modules), so that
// editing a source file, as a user would, touches nothing of the tree the other tests run from.

const RELATIVE_SPECIFIER = /(?:from\s*|import\s*\(\s*|import\s+)["'](\.{1,2}\/[^"']+)["']/g;

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)]));
}

describe('the JS build (dist/)', () => {
  const root = mkdtempSync(join(tmpdir(), 'voiceoi-build-'));
  before(() => {
    for (const dir of SOURCE_DIRS) cpSync(join(projectRoot, dir), join(root, dir), { recursive: true });
    cpSync(join(projectRoot, 'package.json'), join(root, 'package.json'));
    symlinkSync(join(projectRoot, 'node_modules'), join(root, 'node_modules'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  test('compiles every source of src/, workflows/ and sandboxes/ into dist/, each relative import naming a built .js file, and bundles the workflows', async () => {
    const report = await buildCurrent(root);
    assert.equal(report.bundled, true);
    assert.ok(readFileSync(workflowBundleOf(root), 'utf8').includes('deliveryWorkflow'));
    const dist = join(root, 'dist');
    for (const dir of SOURCE_DIRS) {
      for (const source of filesUnder(join(root, dir)).filter((f) => !f.endsWith('.test.ts'))) {
        const rel = relative(root, source);
        const built = join(dist, rel.endsWith('.d.ts') || !rel.endsWith('.ts') ? rel : rel.replace(/\.ts$/, '.js'));
        assert.ok(existsSync(built), `${rel} has no output in dist/`);
      }
    }
    // The sandbox's user-facing types are read as text at run time, beside the compiled checker.
    assert.equal(readFileSync(join(dist, 'sandboxes', 'voiceoi.d.ts'), 'utf8'), readFileSync(join(root, 'sandboxes', 'voiceoi.d.ts'), 'utf8'));
    for (const file of filesUnder(dist).filter((f) => f.endsWith('.js') && f !== workflowBundleOf(root))) {
      for (const [, specifier] of readFileSync(file, 'utf8').matchAll(RELATIVE_SPECIFIER)) {
        assert.match(specifier!, /\.js$/, `${relative(root, file)} imports ${specifier}`);
        assert.ok(existsSync(join(dirname(file), specifier!)), `${relative(root, file)} imports ${specifier}, which is not built`);
      }
    }

    const again = await buildCurrent(root);
    assert.deepEqual({ rebuilt: again.rebuilt, removed: again.removed, bundled: again.bundled }, { rebuilt: [], removed: [], bundled: false });
  });

  test('a touched file compiles nothing; a changed workflow source recompiles that file and rebundles; a removed source loses its output', async () => {
    await buildCurrent(root);
    const later = Date.now() / 1000 + 60;
    utimesSync(join(root, 'src', 'app.ts'), later, later);
    const touched = await buildCurrent(root);
    assert.deepEqual([touched.rebuilt, touched.bundled], [[], false]);

    appendFileSync(join(root, 'workflows', 'retry-schedule.ts'), '\n// edited by test/build.test.ts\n');
    const edited = await buildCurrent(root);
    assert.deepEqual([edited.rebuilt, edited.bundled], [['workflows/retry-schedule.ts'], true]);
    assert.match(readFileSync(join(root, 'dist', 'workflows', 'retry-schedule.js'), 'utf8'), /edited by test\/build\.test\.ts/);

    writeFileSync(join(root, 'src', 'extra.ts'), 'export const extra = 1;\n');
    assert.deepEqual((await buildCurrent(root)).rebuilt, ['src/extra.ts']);
    rmSync(join(root, 'src', 'extra.ts'));
    const removed = await buildCurrent(root);
    assert.deepEqual([removed.removed, removed.bundled], [['src/extra.ts'], false]);
    assert.equal(existsSync(join(root, 'dist', 'src', 'extra.js')), false);
  });

  test('a source that does not compile fails the build naming the file, and is compiled again once fixed', async () => {
    writeFileSync(join(root, 'src', 'broken.ts'), 'export const = ;\n');
    await assert.rejects(buildCurrent(root), /the build failed:\n {2}src\/broken\.ts: /);
    writeFileSync(join(root, 'src', 'broken.ts'), 'export const fixed = true;\n');
    assert.deepEqual((await buildCurrent(root)).rebuilt, ['src/broken.ts']);
    rmSync(join(root, 'src', 'broken.ts'));
    await buildCurrent(root);
  });

  test('only what workflows/index.ts reaches by value imports is a bundle input: type-only imports of src/ are not', () => {
    const inputs = bundleInputs(projectRoot, 'workflows/index.ts');
    assert.ok(inputs.includes('workflows/delivery.ts') && inputs.includes('workflows/retry-schedule.ts'), inputs.join(' '));
    assert.deepEqual(inputs.filter((f) => !f.startsWith('workflows/')), []);
  });

  describe('`npm start` of the build', () => {
    let receiver: Receiver;
    let replica: ProductProcess | undefined;
    const data = mkdtempSync(join(tmpdir(), 'voiceoi-build-data-'));
    const admin = `admin-${randomBytes(16).toString('hex')}`;
    const env = {
      TEMPORAL_ADDRESS: process.env.TEMPORAL_ADDRESS ?? '',
      VOICEOI_TASK_QUEUE: `test-${randomBytes(6).toString('hex')}`,
      VOICEOI_ADMIN_TOKEN: admin,
      VOICEOI_DATA_DIR: data,
      // The copy has no console/: nothing to build or serve.
      VOICEOI_CONSOLE_DIR: data,
      VOICEOI_ALLOWED_NETWORKS: '127.0.0.0/8',
      LOG_LEVEL: 'warn',
    };
    before(async () => {
      assert.ok(env.TEMPORAL_ADDRESS, 'TEMPORAL_ADDRESS is not set: run the tests with `npm test`');
      receiver = await startReceiver();
    });
    after(async () => {
      await replica?.kill();
      await receiver?.close();
      rmSync(data, { recursive: true, force: true });
    });

    const call = (method: string, path: string, token: string, body?: unknown) => callAt(replica!.url, method, path, { token, body });

    test('delivers an event; after a source file is edited, the next start recompiles that file alone and runs the edited code', async () => {
      await buildCurrent(root);
      replica = await startReplica('start', env, { cwd: root });
      assert.doesNotMatch(replica.output(), /build:/);
      const account = await call('POST', '/v1/accounts', admin, { name: 'Build BPO' });
      assert.equal(account.status, 201, JSON.stringify(account.body));
      const key = account.body.api_key as string;
      const dest = await call('POST', '/v1/destinations', key, { url: `${receiver.url}/crm`, event_types: ['call_completed'] });
      assert.equal(dest.status, 201, JSON.stringify(dest.body));
      assert.equal((await call('POST', '/v1/events', key, callCompleted('evt_build_1'))).status, 202);
      const [first] = await receiver.waitFor(1, 30_000);
      assert.equal(first!.headers['user-agent'], 'VoiceOI-Hooks/0.1.0');
      await replica.kill();

      // The product's version, sent as its user-agent: what a user's edit changes, observably.
      const config = join(root, 'src', 'config.ts');
      const source = readFileSync(config, 'utf8');
      assert.match(source, /export const VERSION = '0\.1\.0';/);
      writeFileSync(config, source.replace("export const VERSION = '0.1.0';", "export const VERSION = '0.1.0-edited';"));
      replica = await startReplica('start', env, { cwd: root });
      assert.match(replica.output(), /build: recompiled 1 changed source file\(s\) \(src\/config\.ts\) in /);
      assert.doesNotMatch(replica.output(), /workflow bundle/);
      assert.equal((await call('POST', '/v1/events', key, callCompleted('evt_build_2'))).status, 202);
      const [, second] = await receiver.waitFor(2, 30_000);
      assert.equal(second!.headers['user-agent'], 'VoiceOI-Hooks/0.1.0-edited');
    });
  });
});
