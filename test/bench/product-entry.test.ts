import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { productEntry } from '../../bench/lib/processes.ts';

test('the benchmark runs what the checkout\'s npm start runs: the JS build, tsx, or its extra node flags', () => {
  const dir = mkdtempSync(join(tmpdir(), 'voiceoi-entry-'));
  const entry = (start: string | undefined) => {
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ scripts: start === undefined ? {} : { start } }));
    return productEntry(dir);
  };
  try {
    assert.deepEqual(entry('node --no-node-snapshot dist/src/server.js'), { script: 'dist/src/server.js', nodeArgs: [] });
    assert.deepEqual(entry('node --no-node-snapshot --import tsx src/server.ts'), { script: 'src/server.ts', nodeArgs: [] });
    assert.deepEqual(entry('npm run build && node --no-node-snapshot --max-old-space-size=512 dist/src/server.js'), { script: 'dist/src/server.js', nodeArgs: ['--max-old-space-size=512'] });
    // Nothing recognisable: the source entry point, as before the JS build.
    assert.deepEqual(entry(undefined), { script: 'src/server.ts', nodeArgs: [] });
    assert.deepEqual(entry('vite'), { script: 'src/server.ts', nodeArgs: [] });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
