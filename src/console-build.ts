import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot as root } from './build/layout.ts';

// `npm start` serves the console from console/dist: built by `npm install` (the prepare script), and
// rebuilt here when a checkout changed console/ since. The check compares modification times only, so
// it costs a directory walk, not a build.

function newestMtime(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const name of readdirSync(path)) {
    if (name === 'node_modules' || name === 'dist') continue;
    newest = Math.max(newest, newestMtime(join(path, name)));
  }
  return newest;
}

/** Why console/dist must be rebuilt, or undefined when it is current (or there is no source to build). */
export function consoleBuildReason(consoleRoot = join(root, 'console')): string | undefined {
  const builtIndex = join(consoleRoot, 'dist', 'index.html');
  const sources = ['src', 'index.html', 'vite.config.ts', 'public'].map((n) => join(consoleRoot, n)).filter((p) => existsSync(p));
  if (!existsSync(join(consoleRoot, 'src'))) return undefined;
  if (!existsSync(builtIndex)) return 'console/dist is missing';
  const built = statSync(builtIndex).mtimeMs;
  const changed = Math.max(...sources.map(newestMtime));
  return changed > built ? 'console/ changed since console/dist was built' : undefined;
}

/**
 * Rebuilds the console when it is missing or stale, saying so on `out`. A failed build does not stop
 * the API: /console then answers 503 console_not_built.
 */
export function ensureConsoleBuilt(out: (line: string) => void): void {
  const reason = consoleBuildReason();
  if (!reason) return;
  out(`console: ${reason}; building it with \`npm run build:console\`...`);
  const t0 = Date.now();
  const r = spawnSync('npm', ['run', 'build:console'], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status === 0) out(`console: built in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  else out(`console: the build failed (exit ${r.status ?? r.signal}); /console answers 503 until \`npm run build:console\` succeeds`);
}
