import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('../../..', import.meta.url).pathname;
export const consoleDist = join(root, 'console', 'dist');

/**
 * The API serves console/dist; `npm ci` builds it (the prepare script). When it is missing, build
 * it now, or fail saying how.
 */
export function ensureConsoleBuilt(): void {
  if (existsSync(join(consoleDist, 'index.html'))) return;
  process.stderr.write('# console/dist is missing: running npm run build:console\n');
  const r = spawnSync('npm', ['run', 'build:console'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0 || !existsSync(join(consoleDist, 'index.html'))) {
    throw new Error(`console/dist is missing and \`npm run build:console\` failed (exit ${r.status}): build the console before the browser tests`);
  }
}
