// `npm run build` (and `npm install`, through the prepare script): brings dist/ up to date. A start
// from dist/ runs the same check itself (src/server.ts), so this is only needed ahead of time.
import { buildCurrent, describeBuild } from './build.ts';
import { projectRoot } from './layout.ts';

try {
  const report = await buildCurrent(projectRoot);
  process.stdout.write(`${describeBuild(report) ?? 'build: dist/ is up to date'}\n`);
} catch (err) {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
