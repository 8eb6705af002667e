// Warm isolated-vm isolates, one run at a time each, a fresh context per run. Loaded only inside
// the sandbox process (sandbox-child.ts): that process needs `node --no-node-snapshot`.
//
// Why a fresh context per run: contexts do not share built-ins, so `Object.prototype.x = 1` or a
// global left behind by one run cannot be seen by the next. Creating a context costs ~0.55 ms, so
// each isolate prepares its next context right after a run, off the critical path of the next.
//
// Why isolates are retired: released contexts are collected lazily, and (isolated-vm 5.0.4, no
// snapshot) a context whose global holds a function was never collected at all. Whatever a
// mapping leaves behind must not eat into the next run's memory limit, so the pool checks heap use
// every few runs and replaces an isolate past half its limit, and any isolate after N runs.
import ivm from 'isolated-vm';
import { LruCache } from './lru-cache.ts';
import { PENDING, RUNNER_RUNTIME, RUNTIME_FILENAME } from './runner-runtime.ts';
import type { RawOutcome } from './sandbox-protocol.ts';
import { SANDBOX_FILENAME } from './sandbox-names.ts';

export interface IsolateJob {
  compileId: number;
  script: string;
  input: string;
  timeoutMs: number;
  deadlineMs: number;
}

export interface IsolateResult {
  outcome: RawOutcome;
  durationMs: number;
}

const HEAP_CHECK_EVERY = 8;
const RETIRE_AT_HEAP_FRACTION = 0.5;
const LOGS_AFTER_TIMEOUT_MS = 20;

let runtimeSnapshot: ivm.ExternalCopy<ArrayBuffer> | undefined;

/**
 * Isolates start from a V8 snapshot with the runtime already installed: every context created in
 * them is a copy of that context, so no per-context setup script runs, and creation is ~20% cheaper.
 */
function snapshot(): ivm.ExternalCopy<ArrayBuffer> {
  runtimeSnapshot ??= ivm.Isolate.createSnapshot([{ code: RUNNER_RUNTIME, filename: RUNTIME_FILENAME }]);
  return runtimeSnapshot;
}

class PooledIsolate {
  readonly isolate: ivm.Isolate;
  readonly collect: ivm.Script;
  readonly logs: ivm.Script;
  readonly scripts: LruCache<number, ivm.Script>;
  runs = 0;
  /** The context the next run will use, being prepared. */
  spare: Promise<ivm.Context> | null = null;
  /** The spare context is ready: a run here starts without waiting. */
  spareReady = false;

  constructor(
    readonly memoryMb: number,
    scriptCacheSize: number,
    onCatastrophicError: (message: string) => void,
  ) {
    this.isolate = new ivm.Isolate({ memoryLimit: memoryMb, onCatastrophicError, snapshot: snapshot() });
    this.collect = this.isolate.compileScriptSync('__voiceoi.collect()', { filename: RUNTIME_FILENAME });
    this.logs = this.isolate.compileScriptSync('__voiceoi.logs()', { filename: RUNTIME_FILENAME });
    this.scripts = new LruCache(scriptCacheSize, (_id, script) => script.release());
  }

  prepareSpare(): void {
    const spare = this.createContext();
    this.spareReady = false;
    // Failure surfaces when a run takes the context; the catch only keeps the rejection handled.
    spare.then(
      () => {
        if (this.spare === spare) this.spareReady = true;
      },
      () => {},
    );
    this.spare = spare;
  }

  takeContext(): Promise<ivm.Context> {
    const spare = this.spare ?? this.createContext();
    this.spare = null;
    this.spareReady = false;
    return spare;
  }

  private createContext(): Promise<ivm.Context> {
    return this.isolate.createContext();
  }

  async script(job: IsolateJob): Promise<ivm.Script> {
    let script = this.scripts.get(job.compileId);
    if (!script) {
      script = await this.isolate.compileScript(job.script, { filename: SANDBOX_FILENAME });
      this.scripts.set(job.compileId, script);
    }
    return script;
  }

  dispose(): void {
    this.scripts.clear();
    if (!this.isolate.isDisposed) this.isolate.dispose();
  }
}

/**
 * Runs a job on one isolate; the isolate may be disposed afterwards (memory limit, deadline).
 * isolated-vm's own timeout cannot fire while V8 is busy outside JavaScript (splitting a huge
 * string, a GC storm), and the run's promise only settles when V8 gets control back: the deadline
 * disposes the isolate and answers at once, without waiting for that.
 */
async function runOn(worker: PooledIsolate, job: IsolateJob): Promise<IsolateResult> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const state = { deadlineHit: false };
  const deadline = new Promise<IsolateResult>((resolve) => {
    timer = setTimeout(() => {
      state.deadlineHit = true;
      worker.dispose();
      resolve({ outcome: { kind: 'timeout', wall: true }, durationMs: performance.now() - started });
    }, job.deadlineMs);
  });
  try {
    // execute() never rejects; when the deadline wins, it settles later and is ignored.
    return await Promise.race([execute(worker, job, state, started), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

async function execute(worker: PooledIsolate, job: IsolateJob, state: { deadlineHit: boolean }, started: number): Promise<IsolateResult> {
  const elapsed = () => performance.now() - started;
  let context: ivm.Context | undefined;
  try {
    context = await worker.takeContext();
    let script: ivm.Script;
    try {
      script = await worker.script(job);
    } catch (err) {
      if (state.deadlineHit || worker.isolate.isDisposed) throw err;
      // swc accepted what V8 does not: still the mapping's syntax, not a sandbox failure.
      const message = err instanceof Error ? err.message : String(err);
      return { outcome: { kind: 'json', json: JSON.stringify({ ok: false, error: { code: 'syntax_error', message }, logs: [] }) }, durationMs: elapsed() };
    }
    context.global.setSync('__voiceoi_input', job.input);
    let out: unknown = await script.run(context, { timeout: job.timeoutMs });
    // Microtasks ran before run() returned (under its timeout); "pending" now means never.
    if (out === PENDING) out = await worker.collect.run(context, { timeout: job.timeoutMs });
    if (typeof out !== 'string') {
      return { outcome: { kind: 'internal', message: 'the sandbox runtime returned no outcome' }, durationMs: elapsed() };
    }
    return { outcome: { kind: 'json', json: out }, durationMs: elapsed() };
  } catch (err) {
    const durationMs = elapsed();
    if (state.deadlineHit) return { outcome: { kind: 'timeout', wall: true }, durationMs };
    const message = err instanceof Error ? err.message : String(err);
    if (worker.isolate.isDisposed || /memory limit/i.test(message)) {
      return { outcome: { kind: 'memory_limit' }, durationMs };
    }
    if (/timed out/i.test(message)) {
      return { outcome: { kind: 'timeout', wall: false, logs: context ? await logsAfterTimeout(worker, context) : undefined }, durationMs };
    }
    return { outcome: { kind: 'internal', message }, durationMs };
  } finally {
    if (!worker.isolate.isDisposed) context?.release();
  }
}

async function logsAfterTimeout(worker: PooledIsolate, context: ivm.Context): Promise<string[] | undefined> {
  try {
    const json: unknown = await worker.logs.run(context, { timeout: LOGS_AFTER_TIMEOUT_MS });
    const parsed: unknown = typeof json === 'string' ? JSON.parse(json) : undefined;
    return Array.isArray(parsed) ? parsed.filter((l): l is string => typeof l === 'string') : undefined;
  } catch {
    return undefined;
  }
}

export interface IsolatePoolOptions {
  memoryMb: number;
  size: number;
  maxRunsPerIsolate: number;
  scriptCacheSize: number;
  onCatastrophicError: (message: string) => void;
}

/** `size` warm isolates with one memory limit; runs wait for a free one in arrival order. */
export class IsolatePool {
  private readonly idle: PooledIsolate[] = [];
  private readonly waiting: ((worker: PooledIsolate) => void)[] = [];
  private closed = false;

  constructor(private readonly options: IsolatePoolOptions) {
    for (let i = 0; i < options.size; i++) this.idle.push(this.spawn());
  }

  async run(job: IsolateJob): Promise<IsolateResult> {
    let worker = await this.acquire();
    if (worker.isolate.isDisposed) {
      // Died between runs (its spare context hit the memory limit): not this run's doing.
      worker.dispose();
      worker = this.spawn();
    }
    try {
      return await runOn(worker, job);
    } finally {
      this.release(worker);
    }
  }

  close(): void {
    this.closed = true;
    for (const worker of this.idle.splice(0)) worker.dispose();
  }

  private spawn(): PooledIsolate {
    const worker = new PooledIsolate(this.options.memoryMb, this.options.scriptCacheSize, this.options.onCatastrophicError);
    worker.prepareSpare();
    return worker;
  }

  private acquire(): Promise<PooledIsolate> {
    if (this.closed) return Promise.reject(new Error('isolate pool closed'));
    // Prefer an isolate whose next context is ready; else the one idle longest, whose context
    // is the closest to ready.
    const ready = this.idle.findIndex((w) => w.spareReady);
    const [worker] = this.idle.splice(ready === -1 ? 0 : ready, 1);
    if (worker) return Promise.resolve(worker);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(worker: PooledIsolate): void {
    worker.runs++;
    let next = worker;
    if (worker.isolate.isDisposed || worker.runs >= this.options.maxRunsPerIsolate) {
      worker.dispose();
      next = this.spawn();
    } else {
      worker.prepareSpare();
      if (worker.runs % HEAP_CHECK_EVERY === 0) this.checkHeap(worker);
    }
    if (this.closed) {
      next.dispose();
      return;
    }
    const waiter = this.waiting.shift();
    if (waiter) waiter(next);
    else this.idle.push(next);
  }

  /** Marks an isolate for replacement at its next release when it holds on to too much heap. */
  private checkHeap(worker: PooledIsolate): void {
    worker.isolate
      .getHeapStatistics()
      .then((stats) => {
        if (stats.used_heap_size + stats.externally_allocated_size > worker.memoryMb * 1024 * 1024 * RETIRE_AT_HEAP_FRACTION) {
          worker.runs = Number.MAX_SAFE_INTEGER - 1;
        }
      })
      .catch(() => {});
  }
}

/** One isolate for one run, then disposed: the baseline the warm pool is measured against. */
export async function runInFreshIsolate(job: IsolateJob, memoryMb: number, onCatastrophicError: (message: string) => void): Promise<IsolateResult> {
  const started = performance.now();
  const worker = new PooledIsolate(memoryMb, 1, onCatastrophicError);
  try {
    const result = await runOn(worker, job);
    return { outcome: result.outcome, durationMs: performance.now() - started };
  } finally {
    worker.dispose();
  }
}
