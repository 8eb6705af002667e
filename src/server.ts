import { buildCurrent, describeBuild } from './build/build.ts';
import { projectRoot, runningFromBuild } from './build/layout.ts';

// The one process entry point (`npm start`, `npm run api`, `npm run worker`). Started from the build
// (dist/src/server.js), it first brings dist/ up to date with the sources, so a source file edited
// since `npm install` never runs stale: only this module and src/build/ are loaded before that check,
// and the product's modules are imported after it. Under tsx (benchmarks) there is nothing to build.

try {
  if (runningFromBuild) {
    const line = describeBuild(await buildCurrent(projectRoot));
    if (line) process.stdout.write(`${line}\n`);
  }
  const { runRoles } = await import('./roles.ts');
  await runRoles();
} catch (err) {
  process.stderr.write(`VoiceOI Hooks failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
