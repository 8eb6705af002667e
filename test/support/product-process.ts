// A product process of its own beside the test's: the build as an operator starts it (`npm start`,
// `npm run api`, `npm run worker`), or a worker or API from source on a stack's configuration
// (test/support/source-role.ts). A test kills it -9 as a host that dies, or stops it as an operator does.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../src/temporal/dev-server.ts';
import type { Stack } from './stack.ts';

export interface ProductProcess {
  /** http://127.0.0.1:<port>: the API, or a worker's /metrics. */
  url: string;
  /** The pid of what was started (npm, or node itself from source), which leads its own process group. */
  pid: number;
  /** The last 64 KiB of its stdout and stderr, for failure messages. */
  output(): string;
  /** SIGKILL to the whole group (npm, the shell, node, its sandbox child): no shutdown. Resolves once it exited. */
  kill(): Promise<void>;
  /** SIGTERM to the group, as Ctrl-C; SIGKILL if it has not exited within 15 s. */
  stop(): Promise<void>;
}

const root = fileURLToPath(new URL('../..', import.meta.url));
const sourceRole = fileURLToPath(new URL('./source-role.ts', import.meta.url));
// A loaded 2-core machine starts a process in seconds, some runs in a minute.
const START_TIMEOUT_MS = 120_000;
const STOP_GRACE_MS = 15_000;
const KEEP = 64 * 1024;

// A test that fails or times out may never reach its cleanup, and --test-force-exit ends the file's
// process then: detached groups would outlive it, so whatever is still running dies with the process.
const running = new Set<number>();
process.once('exit', () => {
  for (const pid of running) signalGroup(pid, 'SIGKILL');
});

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

// The test runner's own variables (its Temporal, PostgreSQL, node:test's context, the outer npm run)
// are not the child's: it gets exactly what the test hands it.
const inherited = (): NodeJS.ProcessEnv =>
  Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(VOICEOI_|TEMPORAL_|DATABASE_URL$|NODE_TEST|npm_)/.test(k)));

/** `npm run <script>` of the build in `cwd` (default: this checkout), with `env` on top of the inherited basics. */
export function startReplica(script: 'start' | 'api' | 'worker', env: Record<string, string>, opts: { cwd?: string } = {}): Promise<ProductProcess> {
  return start(`npm run ${script}`, 'npm', ['run', '--silent', script], script === 'worker' ? '/metrics' : '/healthz', env, opts.cwd ?? root);
}

/** A worker from source on `stack`'s configuration, data, task queue and Temporal, with its own token cache and pid. */
export function spawnWorker(stack: Stack): Promise<ProductProcess> {
  return fromSource('worker', stack);
}

/** A second HTTP API from source beside `stack`'s, on its configuration. */
export function spawnApi(stack: Stack): Promise<ProductProcess> {
  return fromSource('api', stack);
}

function fromSource(role: 'api' | 'worker', stack: Stack): Promise<ProductProcess> {
  const bundle = process.env.VOICEOI_TEST_BUNDLE;
  // The stack's own configuration (its allow-lists and keys included), not a copy of its env.
  const env = { VOICEOI_TEST_ROLE: role, VOICEOI_TEST_CONFIG: JSON.stringify(stack.config), ...(bundle ? { VOICEOI_TEST_BUNDLE: bundle } : {}) };
  return start(`the ${role} from source`, process.execPath, ['--no-node-snapshot', '--import', 'tsx', sourceRole], role === 'worker' ? '/metrics' : '/healthz', env, root);
}

/**
 * Starts `command` on a free loopback port (PORT, HOST) and resolves once it serves `readyPath`:
 * /healthz answers 200 for an API (database and Temporal reachable), /metrics for a worker (served
 * only after its worker polls). Fails with its output if it exits first or is not ready in time.
 */
async function start(name: string, command: string, args: string[], readyPath: string, env: Record<string, string>, cwd: string): Promise<ProductProcess> {
  const port = await freePort();
  const child = spawn(command, args, {
    cwd,
    env: { ...inherited(), ...env, PORT: String(port), HOST: '127.0.0.1' },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pid = child.pid!;
  running.add(pid);
  let out = '';
  const keep = (chunk: Buffer) => {
    out = (out + chunk.toString()).slice(-KEEP);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let exitedWith: string | undefined;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      exitedWith = signal ?? String(code);
      running.delete(pid);
      resolve();
    }),
  );
  const proc: ProductProcess = {
    url: `http://127.0.0.1:${port}`,
    pid,
    output: () => out,
    async kill() {
      if (exitedWith === undefined) signalGroup(pid, 'SIGKILL');
      await exited;
    },
    async stop() {
      if (exitedWith === undefined) signalGroup(pid, 'SIGTERM');
      const timer = setTimeout(() => signalGroup(pid, 'SIGKILL'), STOP_GRACE_MS);
      await exited;
      clearTimeout(timer);
    },
  };

  const deadline = Date.now() + START_TIMEOUT_MS;
  let last: string | undefined;
  for (;;) {
    if (exitedWith !== undefined) throw new Error(`${name} exited (${exitedWith}) before it served ${readyPath}; its output:\n${out}`);
    try {
      const res = await fetch(proc.url + readyPath, { signal: AbortSignal.timeout(5_000) });
      await res.arrayBuffer();
      if (res.status === 200) return proc;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > deadline) {
      await proc.kill();
      throw new Error(`${name} did not serve ${readyPath} within ${START_TIMEOUT_MS / 1000} s (last: ${last}); its output:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
