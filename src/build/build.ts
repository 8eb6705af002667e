import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, sep } from 'node:path';
import { bundleInputs } from './bundle-inputs.ts';
import { declarationOf, declarationOutputOf, declaresTypes } from './declarations.ts';
import { distDirOf, SOURCE_DIRS, workflowBundleOf } from './layout.ts';

// The JS build: every source file of src/, workflows/ and sandboxes/ compiled on its own by swc into
// dist/ (relative `.ts` imports rewritten to `.js`), other files copied beside them, and the workflow
// bundle. dist/build-stamp.json records each source's mtime, size and hash, so the check that runs at
// every start costs a few hundred stat calls when nothing changed, and a change recompiles only its
// own file (and rebundles the workflows when it is one of theirs). The typed client's files also get
// their declarations (src/build/declarations.ts), for the package's `voiceoi-hooks/client` export.

/** Bump when the compiled output of an unchanged source would differ: everything is rebuilt. */
const FORMAT = 1;

interface StampEntry {
  mtimeMs: number;
  size: number;
  sha256: string;
}

interface Stamp {
  format: string;
  files: Record<string, StampEntry>;
  /** The hash of the workflow bundle's inputs when it was written. */
  bundle?: string;
}

export interface BuildReport {
  /** Sources (relative to the root) compiled or copied again. */
  rebuilt: string[];
  /** Sources gone since the last build, whose outputs were removed. */
  removed: string[];
  bundled: boolean;
  ms: number;
}

const require = createRequire(import.meta.url);
const versionOf = (pkg: string, root: string): string =>
  (JSON.parse(readFileSync(require.resolve(`${pkg}/package.json`, { paths: [root] }), 'utf8')) as { version: string }).version;

// The compiler and the bundler take part in the output: another version of either rebuilds all.
const formatOf = (root: string): string => `${FORMAT} swc ${versionOf('@swc/core', root)} temporal ${versionOf('@temporalio/workflow', root)}`;

const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');

const isSource = (name: string): boolean => name.endsWith('.ts') && !name.endsWith('.d.ts');

/** What a source file becomes under dist/: `x.ts` → `x.js`; anything else (`.d.ts` read as text) as is. */
export const outputOf = (rel: string): string => (isSource(rel) ? rel.replace(/\.ts$/, '.js') : rel);

function listSources(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      const rel = join(dir, entry.name);
      if (entry.isDirectory()) walk(rel);
      // Tests are run from source by `npm test`, never from the build.
      else if (entry.isFile() && !entry.name.endsWith('.test.ts')) out.push(rel.split(sep).join('/'));
    }
  };
  for (const dir of SOURCE_DIRS) if (existsSync(join(root, dir))) walk(dir);
  return out.sort();
}

function readStamp(file: string, format: string): Stamp {
  try {
    const stamp = JSON.parse(readFileSync(file, 'utf8')) as Stamp;
    if (stamp.format === format && stamp.files && typeof stamp.files === 'object') return stamp;
  } catch {
    // missing or unreadable: a full build
  }
  return { format, files: {} };
}

/** Written beside its final name, then renamed: a process starting meanwhile never reads half a file. */
function writeAtomically(file: string, data: string | Buffer): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, file);
}

type Swc = typeof import('@swc/core');

async function compile(swc: Swc, root: string, rel: string, code: string): Promise<{ js: string; map: string }> {
  const out = join(distDirOf(root), outputOf(rel));
  // rewriteRelativeImportExtensions is in swc 1.16 but not yet in its option types.
  const jsc = { parser: { syntax: 'typescript' }, target: 'es2022', transform: { verbatimModuleSyntax: true, useDefineForClassFields: true }, rewriteRelativeImportExtensions: true };
  const result = await swc.transform(code, {
    filename: join(root, rel),
    jsc: jsc as import('@swc/core').JscConfig,
    module: { type: 'es6' },
    sourceMaps: true,
    swcrc: false,
    configFile: false,
  });
  const map = JSON.parse(result.map ?? '{}') as { sources?: string[] };
  map.sources = [relative(dirname(out), join(root, rel))];
  const name = outputOf(rel).split('/').pop()!;
  return { js: `${result.code}\n//# sourceMappingURL=${name}.map\n`, map: JSON.stringify(map) };
}

async function writeBundle(root: string): Promise<void> {
  const { bundleWorkflowCode } = await import('@temporalio/worker');
  const quiet = { info() {}, warn() {}, error: console.error, debug() {}, trace() {}, log() {} } as never;
  // From the sources, not dist/: the bundle then depends on nothing but the inputs it is stamped with.
  const { code } = await bundleWorkflowCode({ workflowsPath: join(root, 'workflows', 'index.ts'), logger: quiet });
  writeAtomically(workflowBundleOf(root), code);
}

/**
 * Brings dist/ up to date with the sources under `root` and returns what it did; nothing when it is
 * current. A source that does not compile throws, naming the file; the others are still written.
 */
export async function buildCurrent(root: string): Promise<BuildReport> {
  const t0 = performance.now();
  const dist = distDirOf(root);
  const stampFile = join(dist, 'build-stamp.json');
  const format = formatOf(root);
  const previous = readStamp(stampFile, format);
  const next: Stamp = { format, files: {}, bundle: previous.bundle };
  const stale: { rel: string; data: Buffer }[] = [];
  let touched = false;

  for (const rel of listSources(root)) {
    const st = statSync(join(root, rel));
    const was = previous.files[rel];
    const built = existsSync(join(dist, outputOf(rel))) && (!declaresTypes(rel) || existsSync(join(dist, declarationOutputOf(rel))));
    if (was && built && was.mtimeMs === st.mtimeMs && was.size === st.size) {
      next.files[rel] = was;
      continue;
    }
    touched = true;
    const data = readFileSync(join(root, rel));
    next.files[rel] = { mtimeMs: st.mtimeMs, size: st.size, sha256: sha256(data) };
    // Touched but not changed (a checkout back and forth): a new stamp, nothing to compile.
    if (!(was && built && was.sha256 === next.files[rel].sha256)) stale.push({ rel, data });
  }
  const removed = Object.keys(previous.files).filter((rel) => !(rel in next.files));
  if (!touched && removed.length === 0 && existsSync(workflowBundleOf(root)) && previous.bundle) {
    return { rebuilt: [], removed: [], bundled: false, ms: performance.now() - t0 };
  }

  const failures: string[] = [];
  if (stale.length > 0) {
    const swc = await import('@swc/core');
    await Promise.all(
      stale.map(async ({ rel, data }) => {
        const out = join(dist, outputOf(rel));
        try {
          if (isSource(rel)) {
            const { js, map } = await compile(swc, root, rel, data.toString('utf8'));
            writeAtomically(out, js);
            writeAtomically(`${out}.map`, map);
            if (declaresTypes(rel)) writeAtomically(join(dist, declarationOutputOf(rel)), await declarationOf(join(root, rel), data.toString('utf8')));
          } else {
            writeAtomically(out, data);
          }
        } catch (err) {
          // Left out of the stamp: the next start tries this file again.
          delete next.files[rel];
          failures.push(`${rel}: ${err instanceof Error ? err.message : String(err)}`);
        }
      }),
    );
  }
  for (const rel of removed) {
    rmSync(join(dist, outputOf(rel)), { force: true });
    rmSync(join(dist, `${outputOf(rel)}.map`), { force: true });
    if (declaresTypes(rel)) rmSync(join(dist, declarationOutputOf(rel)), { force: true });
  }

  let bundled = false;
  if (failures.length === 0) {
    const inputs = bundleInputs(root, join('workflows', 'index.ts'));
    const bundleHash = sha256(inputs.map((rel) => `${rel} ${next.files[rel]?.sha256 ?? 'missing'}`).join('\n'));
    if (bundleHash !== previous.bundle || !existsSync(workflowBundleOf(root))) {
      await writeBundle(root);
      next.bundle = bundleHash;
      bundled = true;
    }
  }
  writeAtomically(stampFile, JSON.stringify(next));
  if (failures.length > 0) throw new Error(`the build failed:\n  ${failures.sort().join('\n  ')}`);
  return { rebuilt: stale.map((s) => s.rel).sort(), removed, bundled, ms: performance.now() - t0 };
}

/** One line for a person: what was rebuilt and how long it took, or undefined when nothing was. */
export function describeBuild(report: BuildReport): string | undefined {
  const parts: string[] = [];
  const names = (list: string[]) => (list.length <= 3 ? list.join(', ') : `${list.slice(0, 3).join(', ')} and ${list.length - 3} more`);
  if (report.rebuilt.length > 0) parts.push(`recompiled ${report.rebuilt.length} changed source file(s) (${names(report.rebuilt)})`);
  if (report.removed.length > 0) parts.push(`removed the output of ${names(report.removed)}`);
  if (report.bundled) parts.push('rebuilt the workflow bundle');
  return parts.length > 0 ? `build: ${parts.join('; ')} in ${(report.ms / 1000).toFixed(1)} s` : undefined;
}
