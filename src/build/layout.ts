import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// Where things are, whether this module runs from its source (src/build/layout.ts, under tsx: tests,
// benchmarks) or from the build (dist/src/build/layout.js: `npm start`, `npm run api|worker`). Code
// that reads files of the project at run time asks here instead of counting `..` from its own URL.

/** True in a process started from dist/ (no TypeScript loader). */
export const runningFromBuild = !import.meta.url.endsWith('.ts');

/** The repository root: package.json, src/, console/, dist/. */
export const projectRoot = fileURLToPath(new URL(runningFromBuild ? '../../../' : '../../', import.meta.url));

/** The product's TypeScript: compiled file by file into dist/<dir>/. */
export const SOURCE_DIRS = ['src', 'workflows', 'sandboxes'] as const;

export const distDirOf = (root: string): string => join(root, 'dist');

/** The workflow bundle the build makes once, so a worker never runs webpack at start. */
export const workflowBundleOf = (root: string): string => join(distDirOf(root), 'workflow-bundle.js');

export const builtWorkflowBundle = workflowBundleOf(projectRoot);
