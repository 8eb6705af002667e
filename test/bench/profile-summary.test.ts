import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { moduleOf, profileMarkdown, summarizeProfiles } from '../../bench/lib/profile-summary.ts';

test('moduleOf names packages, our files (wherever the checkout is), node internals, GC and the core bridge', () => {
  const frame = (url: string, functionName = 'f') => ({ url, functionName, lineNumber: 0, columnNumber: 0 });
  assert.deepEqual(moduleOf(frame('file:///work/main/node_modules/@temporalio/core-bridge/index.js')), { module: 'node_modules/@temporalio/core-bridge', category: 'core bridge' });
  assert.deepEqual(moduleOf(frame('file:///x/node_modules/a/node_modules/kysely/dist/esm/index.js')), { module: 'node_modules/kysely', category: 'package' });
  assert.deepEqual(moduleOf(frame('file:///tmp/before/src/store/destinations.ts')), { module: 'src/store/destinations.ts', category: 'ours' });
  assert.deepEqual(moduleOf(frame('file:///srv/app/dist/src/ingest.js')), { module: 'src/ingest.js', category: 'ours' });
  assert.deepEqual(moduleOf(frame('node:internal/crypto/cipher')), { module: 'node:crypto', category: 'node internals' });
  assert.equal(moduleOf(frame('', '(garbage collector)')).category, 'gc');
  assert.equal(moduleOf(frame('', '(idle)')).category, 'idle');
  assert.equal(moduleOf(frame('file:///tmp/before/workflow-bundle-ef3b26.js')).category, 'workflow bundle');
  assert.equal(moduleOf(frame('file:///work/main/dist/workflow-bundle.js')).category, 'workflow bundle');
});

test('a real .cpuprofile is summarised by self time: the busy function of our file comes first', () => {
  const dir = mkdtempSync(join(tmpdir(), 'voiceoi-prof-'));
  try {
    const script = join(dir, 'src', 'spin.js');
    spawnSync('mkdir', ['-p', join(dir, 'src')]);
    writeFileSync(script, 'function spinForAWhile() { const t = Date.now(); let x = 0; while (Date.now() - t < 400) x += Math.sqrt(x + 1); return x; }\nspinForAWhile();\n');
    const r = spawnSync(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${join(dir, 'prof')}`, script]);
    assert.equal(r.status, 0, String(r.stderr));
    const [main] = summarizeProfiles([join(dir, 'prof')]);
    assert.ok(main, 'one profile');
    assert.equal(main.thread, 'main thread');
    assert.ok(main.busyMs > 200, `busy ${main.busyMs} ms`);
    const top = main.functions[0]!;
    assert.match(top.fn, /^spinForAWhile:1$/);
    assert.equal(top.module, 'src/spin.js');
    assert.ok(top.selfMs > 0.5 * main.busyMs);
    assert.equal(main.oursInclusive[0]?.module, 'src/spin.js');
    // A window after the profile's end keeps nothing.
    assert.equal(summarizeProfiles([join(dir, 'prof')], { fromS: 3600 }).length, 0);
    const md = profileMarkdown([main], { per: 10 });
    assert.match(md, /\| src\/spin\.js \| ours \|/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
