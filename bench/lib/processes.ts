import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export const repoRoot = new URL('../..', import.meta.url).pathname;

// Every process and directory the benchmark creates registers its clean-up here; the first of
// Ctrl-C, SIGTERM, an uncaught error or the normal end runs them all, newest first.
const cleanups: { name: string; fn: () => Promise<void> | void }[] = [];
let cleaning: Promise<void> | undefined;

export function onCleanup(name: string, fn: () => Promise<void> | void): () => void {
  const entry = { name, fn };
  cleanups.push(entry);
  return () => {
    const i = cleanups.indexOf(entry);
    if (i >= 0) cleanups.splice(i, 1);
  };
}

export function cleanupAll(): Promise<void> {
  cleaning ??= (async () => {
    while (cleanups.length > 0) {
      const { name, fn } = cleanups.pop()!;
      try {
        await fn();
      } catch (err) {
        process.stderr.write(`[bench] clean-up of ${name} failed: ${(err as Error).message}\n`);
      }
    }
  })();
  return cleaning;
}

export function installExitHandlers(): void {
  const bail = (why: string, code: number) => {
    process.stderr.write(`\n[bench] ${why}: stopping every process the benchmark started…\n`);
    // A second signal while cleaning up forces the exit.
    process.once('SIGINT', () => process.exit(code));
    void cleanupAll().finally(() => process.exit(code));
  };
  process.once('SIGINT', () => bail('interrupted', 130));
  process.once('SIGTERM', () => bail('terminated', 143));
  process.once('SIGHUP', () => bail('hung up', 129));
  process.on('uncaughtException', (err) => {
    process.stderr.write(`[bench] ${err.stack ?? String(err)}\n`);
    bail('uncaught error', 1);
  });
  process.on('unhandledRejection', (err) => {
    process.stderr.write(`[bench] ${(err as Error)?.stack ?? String(err)}\n`);
    bail('unhandled rejection', 1);
  });
}

export interface ChildHandle {
  name: string;
  pid: number;
  process: ChildProcess;
  logFile: string;
  /** The last lines of the child's output, for error messages. */
  tail(lines?: number): string;
  stop(): Promise<void>;
}

/**
 * Starts `node <script>` the way `npm start` does (in `cwd`, this checkout by default), output to a log
 * file; a TypeScript script runs through tsx.
 */
export function spawnNode(name: string, script: string, env: Record<string, string>, logFile: string, nodeArgs: string[] = [], cwd = repoRoot): ChildHandle {
  const fd = openSync(logFile, 'a');
  const loader = script.endsWith('.ts') ? ['--import', 'tsx'] : [];
  const child = spawn(process.execPath, ['--no-node-snapshot', ...nodeArgs, ...loader, script], {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`could not start ${name}`);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const handle: ChildHandle = {
    name,
    pid: child.pid,
    process: child,
    logFile,
    tail(lines = 30) {
      try {
        return readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
      } catch {
        return '';
      }
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      // The product shuts down gracefully (worker grace time 10 s); past that it is killed.
      const forced = await Promise.race([exited.then(() => false), sleep(15_000).then(() => true)]);
      if (forced) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
  onCleanup(name, () => handle.stop());
  return handle;
}

/** Polls `url` until it answers 200; fails early with the log tail if the child exits. */
export async function waitForHttp(url: string, child: ChildHandle, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.process.exitCode !== null) throw new Error(`${child.name} exited (${child.process.exitCode}) while starting:\n${child.tail()}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${child.name} did not answer ${url} within ${timeoutMs / 1000} s:\n${child.tail()}`);
    await sleep(200);
  }
}

/**
 * What `npm start` runs in a checkout: the script and node flags of its package.json `start` script
 * (`node [flags] <script>`), so the benchmark follows a JS build (`dist/src/server.js`) or tsx alike.
 */
export function productEntry(root: string): { script: string; nodeArgs: string[] } {
  const fallback = { script: 'src/server.ts', nodeArgs: [] };
  let start: string | undefined;
  try {
    start = (JSON.parse(readFileSync(`${root}/package.json`, 'utf8')) as { scripts?: Record<string, string> }).scripts?.start;
  } catch {
    return fallback;
  }
  const words = (start ?? '').split(/\s+/).filter(Boolean);
  const node = words.lastIndexOf('node');
  const script = words.at(-1);
  if (node < 0 || !script || script.startsWith('-')) return fallback;
  const flags = words.slice(node + 1, -1);
  // spawnNode adds these two itself.
  const nodeArgs = flags.filter((w, i) => w !== '--no-node-snapshot' && !(w === '--import' && flags[i + 1] === 'tsx') && !(w === 'tsx' && flags[i - 1] === '--import'));
  return { script, nodeArgs };
}
