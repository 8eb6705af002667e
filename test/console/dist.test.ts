import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { consoleDist, ensureConsoleBuilt } from './support/console-build.ts';

// What `npm run build:console` leaves in console/dist (console/vite.config.ts).

describe('the console build', () => {
  let files: string[];
  before(() => {
    ensureConsoleBuilt();
    files = readdirSync(consoleDist, { recursive: true, encoding: 'utf8' }).filter((f) => statSync(join(consoleDist, f)).isFile());
  });

  test('every compressible file over 1 KiB has a .br and a .gz beside it, each decompressing to it', () => {
    const compressible = files.filter((f) => /\.(js|css|html|svg|json|ttf)$/.test(f) && statSync(join(consoleDist, f)).size >= 1024);
    assert.ok(compressible.some((f) => /^assets[\\/]ts\.worker-/.test(f)), 'the TypeScript worker is among them');
    for (const f of compressible) {
      const raw = readFileSync(join(consoleDist, f));
      assert.ok(brotliDecompressSync(readFileSync(join(consoleDist, `${f}.br`))).equals(raw), `${f}.br`);
      assert.ok(gunzipSync(readFileSync(join(consoleDist, `${f}.gz`))).equals(raw), `${f}.gz`);
    }
  });

  test('emits no worker for a language the console does not edit (CSS, HTML)', () => {
    const workers = files.filter((f) => /\.worker-[^.]+\.js$/.test(f)).map((f) => /([a-z]+)\.worker-/.exec(f)![1]).sort();
    assert.deepEqual(workers, ['editor', 'json', 'ts']);
    assert.deepEqual(files.filter((f) => /(css|html)Mode-/.test(f)), []);
  });
});
