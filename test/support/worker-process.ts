// A delivery worker in a process of its own, on a stack's data directory, task queue and Temporal
// server: a test can kill -9 it mid-attempt, as a crash would. Run as a script, it is that process.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Config } from '../../src/config.ts';
import type { Stack } from './stack.ts';

const CONFIG_ENV = 'VOICEOI_TEST_WORKER_CONFIG';
const READY = 'worker ready\n';

export interface WorkerProcess {
  pid: number;
  /** SIGKILL: no shutdown, no activity completion, as a crashed host. Resolves once it exited. */
  kill(): Promise<void>;
}

/** Starts the worker process for `stack` and resolves once it polls its task queue. */
export async function spawnWorker(stack: Stack): Promise<WorkerProcess> {
  const child: ChildProcess = spawn(process.execPath, ['--no-node-snapshot', '--import', 'tsx', fileURLToPath(import.meta.url)], {
    // The stack's own configuration (its allow-lists and keys included), not a copy of its env.
    env: { ...process.env, [CONFIG_ENV]: JSON.stringify(stack.config) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('the worker process did not start within 30 s')), 30_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes(READY)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the worker process exited (${code}) before it was ready`));
    });
  });
  return {
    pid: child.pid!,
    async kill() {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { createCore, startWorker } = await import('../../src/runtime.ts');
  const { targetFromConfig } = await import('../../src/temporal/connection.ts');
  const config = JSON.parse(process.env[CONFIG_ENV] ?? '') as Config;
  const core = await createCore(config);
  const bundlePath = process.env.VOICEOI_TEST_BUNDLE;
  await startWorker(core, targetFromConfig(config, config.TEMPORAL_ADDRESS!), {
    workflowBundle: bundlePath ? { code: readFileSync(bundlePath, 'utf8') } : undefined,
  });
  process.stdout.write(READY);
}
