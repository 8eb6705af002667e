// Entry point of the sandbox process, forked by sandbox-process.ts. It owns the isolate pools and
// the JSONata evaluator; the engine owns everything else (compiling, checking results, errors).
//
// Why a separate process: some allocations make V8 give up on an isolate ("Catastrophic
// out-of-memory error", e.g. `Array(1e8).fill(0)` under a 32 MB limit). isolated-vm then calls
// onCatastrophicError and the process cannot be saved (in our measurements it hung). Here that
// costs a restart; in the worker it would cost the worker.
import ivm from 'isolated-vm';
import { IsolatePool, runInFreshIsolate, type IsolateJob } from './isolate-pool.ts';
import { JsonataEvaluator } from './jsonata-evaluator.ts';
import { LruCache } from './lru-cache.ts';
import { FORBIDDEN_FEATURES_PROBE, SANDBOX_V8_FLAGS } from './sandbox-hardening.ts';
import type { ChildConfig, ChildMessage, ParentMessage, RawOutcome, RunMessage } from './sandbox-protocol.ts';

const config = JSON.parse(process.env.VOICEOI_SANDBOX_CONFIG ?? '{}') as ChildConfig;

function send(message: ChildMessage, then?: () => void): void {
  if (!process.connected) return;
  process.send!(message, undefined, undefined, () => then?.());
}

function onCatastrophicError(message: string): void {
  // The isolate is beyond recovery and so is this process: report, then go, without running
  // anything else in a process whose V8 state is undefined.
  const die = () => process.kill(process.pid, 'SIGKILL');
  send({ t: 'fatal', message }, die);
  setTimeout(die, 200).unref();
}

const SCRIPTS_PER_ISOLATE = 64;

const pools = new Map<number, IsolatePool>();
function poolFor(memoryMb: number): IsolatePool {
  let pool = pools.get(memoryMb);
  if (!pool) {
    pool = new IsolatePool({
      memoryMb,
      // Non-default limits are rare (an account setting): one warm isolate each is enough.
      size: memoryMb === config.defaultMemoryMb ? config.poolSize : 1,
      maxRunsPerIsolate: config.maxRunsPerIsolate,
      // Compiled scripts live in the isolate's heap and count against the runs' memory limit.
      scriptCacheSize: Math.min(config.codeCacheSize, SCRIPTS_PER_ISOLATE),
      onCatastrophicError,
    });
    pools.set(memoryMb, pool);
  }
  return pool;
}

const code = new LruCache<number, string>(config.codeCacheSize);
const jsonataEvaluator = new JsonataEvaluator();

async function execute(msg: RunMessage, source: string): Promise<{ outcome: RawOutcome; durationMs: number }> {
  if (msg.language === 'jsonata') {
    const started = performance.now();
    const outcome = await jsonataEvaluator.run(msg.compileId, source, msg.input, msg.limits);
    return { outcome, durationMs: performance.now() - started };
  }
  const job: IsolateJob = {
    compileId: msg.compileId,
    script: source,
    input: msg.input,
    timeoutMs: msg.limits.timeoutMs,
    deadlineMs: msg.deadlineMs,
  };
  if (msg.fresh) return runInFreshIsolate(job, msg.limits.memoryMb, onCatastrophicError);
  return poolFor(msg.limits.memoryMb).run(job);
}

function handleRun(msg: RunMessage): void {
  let source = msg.code;
  if (source !== undefined) code.set(msg.compileId, source);
  else source = code.get(msg.compileId);
  if (source === undefined) {
    send({ t: 'need_code', id: msg.id });
    return;
  }
  execute(msg, source).then(
    (result) => send({ t: 'result', id: msg.id, outcome: result.outcome, durationMs: result.durationMs }),
    (err: unknown) =>
      send({ t: 'result', id: msg.id, outcome: { kind: 'internal', message: err instanceof Error ? err.message : String(err) }, durationMs: 0 }),
  );
}

function shutdown(): void {
  for (const pool of pools.values()) pool.close();
  process.exit(0);
}

process.on('message', (msg: ParentMessage) => {
  if (msg.t === 'run') handleRun(msg);
  else if (msg.t === 'shutdown') shutdown();
});
// The engine is gone: nothing can use our results any more.
process.on('disconnect', shutdown);

/** Fails closed: a process whose V8 still offers uncounted memory must not run a transform. */
function forbiddenFeatures(): string[] {
  const isolate = new ivm.Isolate({ memoryLimit: 8 });
  try {
    return JSON.parse(isolate.createContextSync().evalSync(FORBIDDEN_FEATURES_PROBE) as string) as string[];
  } finally {
    isolate.dispose();
  }
}

const reachable = forbiddenFeatures();
if (reachable.length > 0) {
  const message = `refusing to run transforms: ${reachable.join(', ')} reachable despite ${SANDBOX_V8_FLAGS.join(' ')} (its memory is not counted against the limit)`;
  process.stderr.write(`voiceoi sandbox: ${message}\n`);
  send({ t: 'fatal', message }, () => process.exit(1));
  setTimeout(() => process.exit(1), 200).unref();
} else {
  poolFor(config.defaultMemoryMb);
  send({ t: 'ready' });
}
