import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { consoleBuildReason } from '../src/console-build.ts';

describe('the start-time console staleness check', () => {
  const root = mkdtempSync(join(tmpdir(), 'voiceoi-console-src-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  const at = (path: string, seconds: number) => utimesSync(join(root, path), seconds, seconds);

  test('no console source: nothing to build', () => {
    assert.equal(consoleBuildReason(root), undefined);
  });

  test('a missing build, then a current one, then a source file changed after it', () => {
    mkdirSync(join(root, 'src', 'pages'), { recursive: true });
    writeFileSync(join(root, 'src', 'pages', 'Destinations.tsx'), 'export {}');
    writeFileSync(join(root, 'vite.config.ts'), 'export default {}');
    assert.equal(consoleBuildReason(root), 'console/dist is missing');

    mkdirSync(join(root, 'dist'));
    writeFileSync(join(root, 'dist', 'index.html'), '<!doctype html>');
    for (const p of ['src/pages/Destinations.tsx', 'src/pages', 'src', 'vite.config.ts']) at(p, 1_000);
    at('dist/index.html', 2_000);
    assert.equal(consoleBuildReason(root), undefined);

    at('src/pages/Destinations.tsx', 3_000);
    assert.equal(consoleBuildReason(root), 'console/ changed since console/dist was built');
  });
});
