import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';

/** The one tag that installs with `go install` (later tags carry a replace directive that breaks it). */
const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal@v1.5.1';

export const cacheDir = (): string =>
  join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'voiceoi-hooks');

const isExecutable = (file: string): boolean => {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && isExecutable(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

const installHelp = `Install the Temporal CLI in one of these ways, then run the command again:
  - install Go (1.24 or later) and let this script build it, or build it yourself:
      GOBIN=${join(cacheDir(), 'bin')} go install ${TEMPORAL_CLI_MODULE}
  - or put a 'temporal' binary (CLI 1.4+) on PATH, or point TEMPORAL_CLI at it
  - or skip the dev server altogether: set TEMPORAL_ADDRESS to an existing Temporal cluster`;

/**
 * Finds the Temporal CLI: TEMPORAL_CLI, then PATH, then this project's cache outside the clone;
 * builds it into the cache once with `go install` when none is found (several minutes, shown live).
 */
export async function ensureTemporalCli(log: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Promise<string> {
  const fromEnv = process.env.TEMPORAL_CLI;
  if (fromEnv) {
    if (!isExecutable(fromEnv)) throw new Error(`TEMPORAL_CLI=${fromEnv} is not an executable file.\n${installHelp}`);
    return fromEnv;
  }
  const found = onPath('temporal');
  if (found) return found;
  const binDir = join(cacheDir(), 'bin');
  const cached = join(binDir, 'temporal');
  if (isExecutable(cached)) return cached;

  const go = onPath('go');
  if (!go) throw new Error(`The Temporal CLI was not found and Go is not installed to build it.\n${installHelp}`);
  mkdirSync(binDir, { recursive: true });
  log(`[temporal] building the Temporal CLI once with 'go install ${TEMPORAL_CLI_MODULE}' into ${binDir}`);
  log('[temporal] this takes several minutes the first time (about 6 min on 2 cores); later starts reuse it');
  const started = Date.now();
  const ticker = setInterval(() => log(`[temporal] still building… ${Math.round((Date.now() - started) / 1000)} s`), 20_000);
  try {
    await new Promise<void>((resolve, reject) => {
      // -x would flood the terminal; -v prints each package as it compiles, which is the progress.
      const child = spawn(go, ['install', '-v', TEMPORAL_CLI_MODULE], {
        env: { ...process.env, GOBIN: binDir, GOFLAGS: `${process.env.GOFLAGS ?? ''} -buildvcs=false`.trim() },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let count = 0;
      let tail = '';
      const onData = (chunk: Buffer) => {
        const text = chunk.toString();
        tail = (tail + text).slice(-4000);
        count += text.split('\n').filter(Boolean).length;
        if (count % 50 < text.split('\n').length) log(`[temporal] go install: ${count} packages/modules so far`);
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.on('error', reject);
      child.on('close', (code) =>
        code === 0 ? resolve() : reject(new Error(`go install failed (exit ${code}):\n${tail}\n${installHelp}`)),
      );
    });
  } finally {
    clearInterval(ticker);
  }
  log(`[temporal] built in ${Math.round((Date.now() - started) / 1000)} s: ${cached}`);
  const version = spawnSync(cached, ['--version'], { encoding: 'utf8' });
  if (version.status !== 0) throw new Error(`The built Temporal CLI does not run: ${version.stderr}\n${installHelp}`);
  return cached;
}
