import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ensureTemporalCli } from './cli.ts';
import { searchAttributeNames } from './search-attributes.ts';

export interface DevServerOptions {
  port?: number;
  uiPort?: number;
  /** The frontend's HTTP API; omitted: a free port. Fixed, so the network policy knows it (src/delivery/own-listeners.ts). */
  httpPort?: number;
  /** Omit for an in-memory server (tests). */
  dbFile?: string;
  namespace: string;
  headless?: boolean;
  codecEndpoint?: string;
  log?: (line: string) => void;
  /** SQLite `synchronous` beside WAL (VOICEOI_DEV_SERVER_SYNCHRONOUS); default full. */
  sqliteSynchronous?: 'full' | 'normal';
  /** More `temporal server start-dev` flags (the benchmark's variants: pragmas, dynamic config). */
  extraArgs?: string[];
}

export interface DevServer {
  address: string;
  uiUrl?: string;
  /** The server process, for resource accounting. */
  pid?: number;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Flags that must not be in the process's arguments, which every local user reads in
 * /proc/<pid>/cmdline: the UI's codec URL holds the install's codec secret (src/routes/codec.ts).
 * The CLI takes any flag's value from its environment settings file (`--env-file`, `--env`), so they
 * go there, in a file only this user can read, in a directory only this user can list.
 */
function privateSettingsFile(flags: Record<string, string>): { args: string[]; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'voiceoi-temporal-'));
  const file = join(dir, 'settings.yaml');
  // JSON is YAML: every value quoted and escaped.
  writeFileSync(file, JSON.stringify({ env: { 'voiceoi-hooks': flags } }), { mode: 0o600 });
  return { args: ['--env-file', file, '--env', 'voiceoi-hooks'], remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Starts `temporal server start-dev` and resolves once its frontend answers. */
export async function startDevServer(opts: DevServerOptions): Promise<DevServer> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const cli = await ensureTemporalCli(log);
  const port = opts.port ?? (await freePort());
  const args = [
    'server',
    'start-dev',
    '--ip', '127.0.0.1',
    '--port', String(port),
    // Left to itself the CLI picks a random port, which nothing here would know to protect.
    '--http-port', String(opts.httpPort ?? (await freePort())),
    '--namespace', opts.namespace,
    '--log-level', 'error',
    // Activities start on the worker that completes the workflow task, skipping a matching round trip.
    '--dynamic-config-value', 'system.enableActivityEagerExecution=true',
    '--dynamic-config-value', 'frontend.enableExecuteMultiOperation=true',
    // Task dispatch shared between fairness keys (each delivery carries its account's, src/ingest.ts):
    // a backlog of one account's tasks no longer queues every other account's behind it (issue 19).
    // Server 1.29 has it behind this flag (it implies matching.useNewMatcher).
    '--dynamic-config-value', 'matching.enableFairness=true',
    ...searchAttributeNames.flatMap((name) => ['--search-attribute', `${name}=Keyword`]),
  ];
  if (opts.dbFile) {
    mkdirSync(dirname(opts.dbFile), { recursive: true });
    args.push('--db-filename', opts.dbFile);
    // WAL: one fsync per commit instead of the rollback journal's several, with the same durability
    // (synchronous stays FULL). On the shared 2-core machine p50 propagation at 10 events/s fell from
    // 7.6 s (saturated) to 131 ms with this change alone (bench/results/tuning.md, sqlite-wal).
    args.push('--sqlite-pragma', 'journal_mode=wal');
    // normal: the WAL is synced at checkpoints, not at each commit (the operator's choice, see .env.example).
    if (opts.sqliteSynchronous === 'normal') args.push('--sqlite-pragma', 'synchronous=NORMAL');
  }
  if (opts.headless) args.push('--headless');
  else args.push('--ui-port', String(opts.uiPort ?? port + 1000));
  const settings = opts.codecEndpoint ? privateSettingsFile({ 'ui-codec-endpoint': opts.codecEndpoint }) : undefined;
  if (settings) args.push(...settings.args);
  if (opts.extraArgs) args.push(...opts.extraArgs);

  const child: ChildProcess = spawn(cli, args, { stdio: ['ignore', 'ignore', 'pipe'], detached: false });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => {
    stderr = (stderr + c.toString()).slice(-8000);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // The CLI reads its settings file once, at start: nothing needs it on disk after that.
  void exited.then(() => settings?.remove());
  const address = `127.0.0.1:${port}`;

  // Loaded while the server boots: the client's modules take a few hundred ms that start-up would wait for.
  const { Connection } = await import('@temporalio/client');
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`The Temporal dev server exited (${child.exitCode}) while starting:\n${stderr}`);
    try {
      // A refused TCP connect is a cheap "not yet"; the gRPC call says the frontend really serves.
      if (!(await listening(port))) throw new Error(`nothing listens on ${address} yet`);
      const conn = await Connection.connect({ address, connectTimeout: 1000 });
      await conn.workflowService.getSystemInfo({});
      await conn.close();
      break;
    } catch (err) {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`The Temporal dev server did not answer on ${address} within 60 s: ${String(err)}\n${stderr}`, { cause: err });
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  settings?.remove();

  return {
    address,
    uiUrl: opts.headless ? undefined : `http://127.0.0.1:${opts.uiPort ?? port + 1000}`,
    pid: child.pid,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
