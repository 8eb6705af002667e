// Runs TypeScript uploads through the checker in a worker thread (type-check-worker.ts), one check
// at a time, each bounded in time; a thread that outlives a check's time is terminated and
// replaced, already warm, for the next one.
//
// Why a thread: the checker is synchronous, and a few kilobytes of recursive conditional or mapped
// types make it work for minutes. On the API's event loop that stalled every other request.
import { Worker } from 'node:worker_threads';
import { TYPE_CHECK_TIMEOUT_MS } from './limits.ts';
import type { CheckerMessage, CheckRequest } from './type-check-protocol.ts';
import type { EngineStats, SourceProblem, ValidationResult } from './types.ts';

export interface TypeCheckThreadOptions {
  /** A check running longer is abandoned with type_check_timeout. */
  timeoutMs?: number;
  /** Checks waiting beyond which check() answers type_checker_unavailable. */
  maxWaiting?: number;
  /** Old-generation heap of the thread, MB: past it the check ends with type_check_out_of_memory. */
  heapMb?: number;
}

interface Job {
  request: CheckRequest;
  resolve: (result: ValidationResult) => void;
  timer?: NodeJS.Timeout;
}

const MAX_FAILED_STARTS = 3;

export class TypeCheckThread {
  private worker: Worker | null = null;
  private ready = false;
  private readyWaiters: (() => void)[] = [];
  private readonly queue: Job[] = [];
  private current: Job | null = null;
  private nextId = 1;
  private failedStarts = 0;
  private closing = false;
  private readonly timeoutMs: number;
  private readonly maxWaiting: number;
  private readonly heapMb: number;
  private replacements = 0;

  constructor(options: TypeCheckThreadOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? TYPE_CHECK_TIMEOUT_MS;
    this.maxWaiting = options.maxWaiting ?? 8;
    this.heapMb = options.heapMb ?? 512;
  }

  check(source: string): Promise<ValidationResult> {
    if (this.closing) return Promise.resolve(unavailable('The type checker is shutting down.'));
    if (this.queue.length >= this.maxWaiting) {
      return Promise.resolve(unavailable(`${this.queue.length} uploads are already waiting for the type checker; try again shortly.`));
    }
    return new Promise((resolve) => {
      this.queue.push({ request: { id: this.nextId++, source }, resolve });
      this.ensureStarted();
      this.pump();
    });
  }

  stats(): Pick<EngineStats, 'typeChecksRunning' | 'typeChecksQueued' | 'typeCheckerReplacements'> {
    return { typeChecksRunning: this.current ? 1 : 0, typeChecksQueued: this.queue.length, typeCheckerReplacements: this.replacements };
  }

  /** Resolves once a thread has loaded TypeScript and checked a sample mapping. */
  warmup(): Promise<void> {
    if (this.closing) return Promise.resolve();
    this.ensureStarted();
    if (this.ready) return Promise.resolve();
    return new Promise((resolve) => {
      this.readyWaiters.push(resolve);
      this.updateRef();
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    for (const job of this.queue.splice(0)) job.resolve(unavailable('The type checker is shutting down.'));
    if (this.current) this.settle(this.current, unavailable('The type checker is shutting down.'));
    this.releaseReadyWaiters();
    const worker = this.worker;
    this.worker = null;
    await worker?.terminate();
  }

  private ensureStarted(): void {
    if (this.worker || this.closing) return;
    const worker = spawnWorker(this.heapMb);
    this.worker = worker;
    this.ready = false;
    worker.on('message', (m: CheckerMessage) => this.onMessage(worker, m));
    worker.on('error', (err) => this.onExit(worker, err));
    worker.on('exit', () => this.onExit(worker, undefined));
    this.updateRef();
  }

  private onMessage(worker: Worker, m: CheckerMessage): void {
    if (worker !== this.worker) return;
    if (m.t === 'ready') {
      this.ready = true;
      this.failedStarts = 0;
      this.releaseReadyWaiters();
      this.pump();
    } else if (this.current?.request.id === m.id) {
      this.settle(this.current, m.result);
      this.pump();
    }
  }

  /** 'error' and then 'exit' both arrive for one death: only the first counts. */
  private onExit(worker: Worker, err: Error | undefined): void {
    if (worker !== this.worker) return;
    this.worker = null;
    const wasReady = this.ready;
    this.ready = false;
    if (this.closing) return;
    this.replacements++;
    if (this.current) {
      const outOfMemory = (err as NodeJS.ErrnoException | undefined)?.code === 'ERR_WORKER_OUT_OF_MEMORY';
      this.settle(
        this.current,
        outOfMemory
          ? problem('type_check_out_of_memory', `The type checker ran out of memory (${this.heapMb} MB) checking this mapping: simplify its types (deeply recursive or exponentially expanding conditional or mapped types?).`)
          : unavailable(`The type checker failed while checking this mapping${err ? ` (${err.message})` : ''}; try again.`),
      );
    }
    if (!wasReady && ++this.failedStarts >= MAX_FAILED_STARTS) {
      // Cannot start (broken install): fail fast instead of looping; the next check tries again.
      this.failedStarts = 0;
      const message = `The type checker failed to start${err ? ` (${err.message})` : ''}.`;
      for (const job of this.queue.splice(0)) job.resolve(unavailable(message));
      this.releaseReadyWaiters();
      return;
    }
    if (this.queue.length > 0 || this.readyWaiters.length > 0 || wasReady) this.ensureStarted();
    this.updateRef();
  }

  private pump(): void {
    const worker = this.worker;
    if (!worker || !this.ready || this.current) return this.updateRef();
    const job = this.queue.shift();
    if (!job) return this.updateRef();
    this.current = job;
    // The time runs from dispatch: waiting behind another upload is not this one's fault.
    job.timer = setTimeout(() => this.onTimeout(worker, job), this.timeoutMs);
    worker.postMessage(job.request);
    this.updateRef();
  }

  private onTimeout(worker: Worker, job: Job): void {
    if (this.current !== job) return;
    this.settle(
      job,
      problem('type_check_timeout', `Type-checking this mapping took longer than ${this.timeoutMs / 1000} s and was stopped: simplify its types (deeply recursive or exponentially expanding conditional or mapped types?).`),
    );
    // terminate() interrupts the checker mid-computation; the replacement warms up at once.
    this.worker = null;
    this.ready = false;
    this.replacements++;
    void worker.terminate();
    this.ensureStarted();
  }

  private settle(job: Job, result: ValidationResult): void {
    clearTimeout(job.timer);
    if (this.current === job) this.current = null;
    job.resolve(result);
  }

  private releaseReadyWaiters(): void {
    for (const waiter of this.readyWaiters.splice(0)) waiter();
    this.updateRef();
  }

  /** An idle thread must not keep the process alive; a busy one must. */
  private updateRef(): void {
    const worker = this.worker;
    if (!worker) return;
    if (this.current || this.queue.length > 0 || this.readyWaiters.length > 0) worker.ref();
    else worker.unref();
  }
}

function spawnWorker(heapMb: number): Worker {
  const here = import.meta.url;
  const options = { resourceLimits: { maxOldGenerationSizeMb: heapMb }, stdout: false, stderr: false };
  if (!here.endsWith('.ts')) return new Worker(new URL('./type-check-worker.js', here), options);
  // Run from source (tsx): Node 20 applies no loader hooks to a worker's entry, so the thread
  // registers tsx itself before importing the TypeScript entry.
  const entry = new URL('./type-check-worker.ts', here).href;
  const bootstrap = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(bootstrap, { ...options, eval: true });
}

function problem(code: SourceProblem['code'], message: string): ValidationResult {
  return { ok: false, errors: [{ line: 1, column: 1, code, message }] };
}

function unavailable(message: string): ValidationResult {
  return problem('type_checker_unavailable', message);
}
