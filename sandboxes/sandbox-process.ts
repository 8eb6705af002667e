// Supervises the sandbox process (sandbox-child.ts): forks it, feeds it a bounded number of runs,
// kills it when a run outlives every deadline, and restarts it after a crash.
//
// When the process dies, every run in flight dies with it, most of them innocent. Those are run
// again one at a time ("solo"): a crash with a single run in flight names the culprit, which then
// fails alone with its own error while the others get their results.
//
// Runs wait per account and are dispatched round-robin between accounts (fair-queue.ts), each
// account with a bound on its waiting and running runs, so one tenant's looping or numerous scripts
// delay that tenant's own runs, not its neighbours' (issue 19).
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { SANDBOX_V8_FLAGS, sandboxEnvironment } from './sandbox-hardening.ts';
import type { ChildConfig, ChildMessage, RawOutcome, RunMessage } from './sandbox-protocol.ts';
import { FairQueue } from './fair-queue.ts';
import type { EngineStats } from './types.ts';

export type SupervisedOutcome =
  | RawOutcome
  | { kind: 'sandbox_crashed'; message: string }
  /** Not run: every account's waiting room (`total`) or this account's share of it is full. */
  | { kind: 'overloaded'; scope: 'account' | 'total' }
  /** Not run: its caller withdrew it (the AbortSignal) while it waited. */
  | { kind: 'cancelled' }
  | { kind: 'closed' };

export interface SupervisedResult {
  outcome: SupervisedOutcome;
  durationMs: number;
}

export interface SandboxProcessOptions {
  child: ChildConfig;
  /** Runs in flight in the child at once; more wait here. */
  concurrency: number;
  /** Runs waiting here beyond which run() answers "overloaded". */
  maxQueue: number;
  /** Runs of one account waiting or running beyond which run() answers "overloaded" for it. */
  maxPerAccount: number;
  /** Runs of one account in the child at once; the other slots stay free for other accounts. */
  maxRunningPerAccount: number;
  /** Heap of the sandbox process itself (JSONata evaluates there), MB. */
  childHeapMb: number;
  /** Replaces the derived node flags of the child (tests); SANDBOX_V8_FLAGS are always added. */
  execArgv?: string[];
}

/** Who a run is for and whether it is still wanted. */
export interface RunOwner {
  account: string;
  /** Aborted: a run still waiting is dropped (answered `cancelled`); one already running finishes. */
  signal?: AbortSignal;
}

interface Job {
  account: string;
  msg: RunMessage;
  code: string;
  /** ms after dispatch at which the child is killed. */
  killAfterMs: number;
  resolve: (result: SupervisedResult) => void;
  crashes: number;
  solo: boolean;
  timer?: NodeJS.Timeout;
  killedByDeadline: boolean;
  sentAt: number;
  detach?: () => void;
}

const START_TIMEOUT_MS = 20_000;
const MAX_FAILED_STARTS = 3;

export class SandboxProcess {
  private child: ChildProcess | null = null;
  private ready = false;
  private readyWaiters: (() => void)[] = [];
  private closing = false;
  private readonly queue = new FairQueue<Job>();
  /** Victims of a crash, run again before anything else (they were already dispatched once). */
  private readonly rerun: Job[] = [];
  private readonly inflight = new Map<number, Job>();
  /** Runs per account, waiting or running: the account's share of the waiting room. */
  private readonly held = new Map<string, number>();
  private readonly runningByAccount = new Map<string, number>();
  /** Runs withdrawn by their caller before they ran, since construction. */
  cancelled = 0;
  private soloRunning = false;
  private nextId = 1;
  /** Compile ids the current child has the code of. */
  private known = new Set<number>();
  private lastFatal: string | undefined;
  private failedStarts = 0;
  private startTimer: NodeJS.Timeout | undefined;
  /** Child restarts since construction, for metrics and tests. */
  restarts = 0;

  constructor(private readonly options: SandboxProcessOptions) {}

  run(msg: Omit<RunMessage, 't' | 'id' | 'code'>, code: string, killAfterMs: number, owner: RunOwner): Promise<SupervisedResult> {
    if (this.closing) return Promise.resolve({ outcome: { kind: 'closed' }, durationMs: 0 });
    if (owner.signal?.aborted) return Promise.resolve({ outcome: { kind: 'cancelled' }, durationMs: 0 });
    const { account } = owner;
    if ((this.held.get(account) ?? 0) >= this.options.maxPerAccount) return Promise.resolve({ outcome: { kind: 'overloaded', scope: 'account' }, durationMs: 0 });
    if (this.queue.size >= this.options.maxQueue) return Promise.resolve({ outcome: { kind: 'overloaded', scope: 'total' }, durationMs: 0 });
    return new Promise((resolve) => {
      const job: Job = {
        account,
        msg: { ...msg, t: 'run', id: this.nextId++ },
        code,
        killAfterMs,
        resolve,
        crashes: 0,
        solo: false,
        killedByDeadline: false,
        sentAt: 0,
      };
      this.held.set(account, (this.held.get(account) ?? 0) + 1);
      const signal = owner.signal;
      if (signal) {
        const onAbort = () => {
          // Only a run that has not reached the child can be withdrawn; a running one ends at its own limit.
          if (this.queue.remove(account, job)) {
            this.cancelled++;
            this.settle(job, { outcome: { kind: 'cancelled' }, durationMs: 0 });
            this.updateRef();
          }
        };
        signal.addEventListener('abort', onAbort, { once: true });
        job.detach = () => signal.removeEventListener('abort', onAbort);
      }
      this.queue.push(account, job);
      this.ensureStarted();
      this.pump();
    });
  }

  /** Resolves once a child is ready to take runs. */
  warmup(): Promise<void> {
    if (this.closing) return Promise.resolve();
    this.ensureStarted();
    if (this.ready) return Promise.resolve();
    return new Promise((resolve) => {
      this.readyWaiters.push(resolve);
      this.updateRef();
    });
  }

  stats(): Pick<EngineStats, 'sandboxPid' | 'sandboxRestarts' | 'queued' | 'inFlight' | 'accountsWaiting' | 'cancelled'> {
    return {
      sandboxPid: this.child?.pid,
      sandboxRestarts: this.restarts,
      queued: this.queue.size + this.rerun.length,
      inFlight: this.inflight.size,
      accountsWaiting: this.queue.keys,
      cancelled: this.cancelled,
    };
  }

  async close(): Promise<void> {
    this.closing = true;
    for (const job of [...this.rerun.splice(0), ...this.queue.drain()]) this.settle(job, { outcome: { kind: 'closed' }, durationMs: 0 });
    this.releaseReadyWaiters();
    const child = this.child;
    if (!child) return;
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => child.kill('SIGKILL'), 2_000);
      child.once('close', () => {
        clearTimeout(force);
        resolve();
      });
      if (child.connected) child.send({ t: 'shutdown' });
      else child.kill('SIGKILL');
    });
  }

  private ensureStarted(): void {
    if (this.child || this.closing) return;
    const here = import.meta.url;
    const typescriptSource = here.endsWith('.ts');
    const entry = fileURLToPath(new URL(typescriptSource ? './sandbox-child.ts' : './sandbox-child.js', here));
    const execArgv = [
      // Not replaceable: they are part of the memory limit (sandbox-hardening.ts).
      ...SANDBOX_V8_FLAGS,
      ...(this.options.execArgv ?? [
        // isolated-vm cannot run in a process started from Node's startup snapshot.
        '--no-node-snapshot',
        `--max-old-space-size=${this.options.childHeapMb}`,
        ...(typescriptSource ? ['--import', import.meta.resolve('tsx')] : []),
      ]),
    ];
    const child = fork(entry, [], {
      execArgv,
      serialization: 'advanced',
      env: sandboxEnvironment({ VOICEOI_SANDBOX_CONFIG: JSON.stringify(this.options.child) }),
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.child = child;
    this.ready = false;
    this.known = new Set();
    child.on('message', (m: ChildMessage) => this.onMessage(child, m));
    // 'close', not 'exit': it comes after every message the child sent, so a "fatal" report sent
    // just before dying is always seen before the death is handled.
    child.on('close', (code, signal) => this.onExit(child, code, signal));
    child.on('error', () => child.kill('SIGKILL'));
    this.startTimer = setTimeout(() => child.kill('SIGKILL'), START_TIMEOUT_MS);
    this.startTimer.unref();
    this.updateRef();
  }

  private onMessage(child: ChildProcess, m: ChildMessage): void {
    if (child !== this.child) return;
    switch (m.t) {
      case 'ready':
        clearTimeout(this.startTimer);
        this.ready = true;
        this.failedStarts = 0;
        this.releaseReadyWaiters();
        this.pump();
        break;
      case 'result': {
        const job = this.inflight.get(m.id);
        if (!job) return;
        this.finish(job, { outcome: m.outcome, durationMs: m.durationMs });
        this.pump();
        break;
      }
      case 'need_code': {
        // The child evicted the code since we last sent it: send the run again, with it.
        const job = this.inflight.get(m.id);
        if (job) this.send(job, true);
        break;
      }
      case 'fatal':
        this.lastFatal = m.message;
        break;
    }
  }

  private onExit(child: ChildProcess, _code: number | null, signal: NodeJS.Signals | null): void {
    if (child !== this.child) return;
    clearTimeout(this.startTimer);
    const wasReady = this.ready;
    this.child = null;
    this.ready = false;
    this.soloRunning = false;
    const fatal = this.lastFatal;
    this.lastFatal = undefined;
    const victims = [...this.inflight.values()];
    this.inflight.clear();
    this.runningByAccount.clear();
    if (this.closing) {
      for (const job of victims) this.settle(job, { outcome: { kind: 'closed' }, durationMs: 0 });
      return;
    }
    this.restarts++;
    const culpritKnown = victims.some((j) => j.killedByDeadline) || victims.length === 1;
    const requeue: Job[] = [];
    for (const job of victims) {
      const durationMs = performance.now() - job.sentAt;
      if (job.killedByDeadline) {
        this.settle(job, { outcome: { kind: 'timeout', wall: true }, durationMs });
      } else if (culpritKnown && victims.length === 1) {
        this.settle(job, { outcome: crashOutcome(fatal, signal), durationMs });
      } else if (!culpritKnown && job.crashes > 0) {
        // Already a suspect once and the process died again with it on board.
        this.settle(job, { outcome: crashOutcome(fatal, signal), durationMs });
      } else {
        // Its deadline restarts when it is dispatched again.
        clearTimeout(job.timer);
        job.crashes++;
        job.solo = !culpritKnown;
        requeue.push(job);
      }
    }
    this.rerun.unshift(...requeue);
    if (!wasReady && ++this.failedStarts >= MAX_FAILED_STARTS) {
      // The process cannot start (broken install, missing flag): fail fast instead of looping.
      this.failedStarts = 0;
      const message = `The sandbox process failed to start${fatal ? ` (${fatal})` : ''}.`;
      for (const job of [...this.rerun.splice(0), ...this.queue.drain()]) {
        this.settle(job, { outcome: { kind: 'sandbox_crashed', message }, durationMs: 0 });
      }
      this.releaseReadyWaiters();
      return;
    }
    // Restart right away: the next run should find a warm process.
    this.ensureStarted();
    this.pump();
  }

  private pump(): void {
    if (!this.child || !this.ready) {
      this.updateRef();
      return;
    }
    while (!this.soloRunning) {
      const rerun = this.rerun[0];
      if (rerun?.solo) {
        if (this.inflight.size > 0) break;
        this.soloRunning = true;
      } else if (this.inflight.size >= this.options.concurrency) {
        break;
      }
      const job = rerun ? this.rerun.shift() : this.queue.next((account) => (this.runningByAccount.get(account) ?? 0) < this.options.maxRunningPerAccount);
      if (!job) break;
      this.send(job, false);
    }
    this.updateRef();
  }

  private send(job: Job, withCode: boolean): void {
    const child = this.child!;
    const needsCode = withCode || !this.known.has(job.msg.compileId);
    if (needsCode) this.known.add(job.msg.compileId);
    if (!this.inflight.has(job.msg.id)) {
      this.inflight.set(job.msg.id, job);
      this.runningByAccount.set(job.account, (this.runningByAccount.get(job.account) ?? 0) + 1);
      job.sentAt = performance.now();
      clearTimeout(job.timer);
      job.timer = setTimeout(() => {
        job.killedByDeadline = true;
        child.kill('SIGKILL');
      }, job.killAfterMs);
    }
    child.send(needsCode ? { ...job.msg, code: job.code } : job.msg);
  }

  private finish(job: Job, result: SupervisedResult): void {
    this.inflight.delete(job.msg.id);
    this.leaveChild(job);
    if (job.solo) this.soloRunning = false;
    this.settle(job, result);
  }

  private leaveChild(job: Job): void {
    const running = (this.runningByAccount.get(job.account) ?? 1) - 1;
    if (running > 0) this.runningByAccount.set(job.account, running);
    else this.runningByAccount.delete(job.account);
  }

  private settle(job: Job, result: SupervisedResult): void {
    clearTimeout(job.timer);
    job.detach?.();
    const held = (this.held.get(job.account) ?? 1) - 1;
    if (held > 0) this.held.set(job.account, held);
    else this.held.delete(job.account);
    job.resolve(result);
  }

  private releaseReadyWaiters(): void {
    for (const waiter of this.readyWaiters.splice(0)) waiter();
    this.updateRef();
  }

  /** An idle child must not keep the host process alive; a busy one must. */
  private updateRef(): void {
    const child = this.child;
    if (!child) return;
    const busy = this.inflight.size > 0 || this.queue.size > 0 || this.rerun.length > 0 || this.readyWaiters.length > 0;
    const channel = child.channel as { ref?: () => void; unref?: () => void } | null | undefined;
    if (busy) {
      child.ref();
      channel?.ref?.();
    } else {
      child.unref();
      channel?.unref?.();
    }
  }
}

function crashOutcome(fatal: string | undefined, signal: NodeJS.Signals | null): SupervisedOutcome {
  // V8 and Node end a process that ran out of heap with abort() or a trap: with the run identified
  // as the only one on board, that is the mapping's failure, not something a retry fixes.
  const aborted = signal === 'SIGABRT' || signal === 'SIGTRAP' || signal === 'SIGILL';
  if ((fatal && /memory/i.test(fatal)) || aborted) return { kind: 'memory_limit' };
  const how = fatal ? ` (${fatal})` : signal ? ` (${signal})` : '';
  return {
    kind: 'sandbox_crashed',
    message: `The sandbox process died while running this transform${how}; it has been restarted.`,
  };
}
