// The transform engine: compiles and caches mappings, sends runs to the sandbox process, and turns
// whatever comes back into a RunOutcome an engineer can act on.
import jsonata from 'jsonata';
import { boundLogs } from './captured-logs.ts';
import { mapPositionsInText, mapStack } from './error-report.ts';
import { jsonataParseProblem } from './jsonata-errors.ts';
import {
  DEFAULT_LIMITS,
  ISOLATE_DEADLINE_GRACE_MS,
  MAX_INPUT_BYTES,
  PROCESS_DEADLINE_GRACE_MS,
  resolveLimits,
} from './limits.ts';
import { LruCache } from './lru-cache.ts';
import { normaliseResult } from './result-shape.ts';
import { SandboxProcess, type SupervisedResult } from './sandbox-process.ts';
import { transpileTypeScript, type CompiledTypeScript } from './transpile-typescript.ts';
import type {
  EngineStats,
  MappingLanguage,
  RunLimits,
  RunOutcome,
  RunRequest,
  SourceProblem,
  TransformEngine,
  TransformError,
  TransformErrorCode,
  ValidationResult,
} from './types.ts';
import { typescript } from './lazy-typescript.ts';
import { TypeCheckThread } from './type-check-thread.ts';
import { sourceProblem, validateMapping } from './validate.ts';

export interface TransformEngineOptions {
  /** Warm isolates for the default memory limit, i.e. TypeScript runs in parallel. Default 2. */
  poolSize?: number;
  /** Engine-wide defaults, clamped to LIMIT_BOUNDS; a run's `limits` override them. */
  limits?: Partial<RunLimits>;
  /** Runs waiting for the sandbox beyond which run() answers "overloaded". Default 1000. */
  maxQueue?: number;
  /**
   * Runs of one account waiting or running beyond which its next run answers "overloaded" (its
   * neighbours' runs are not affected). Default 200: a batch of 16 events in ingest at once, each
   * with a filter on every one of 12 subscribed destinations, fits.
   */
  maxPerAccount?: number;
  /**
   * Runs of one account in the sandbox at once. Default poolSize − 1 (at least 1): with the default
   * pool of 2, one slot is always left to the other accounts, so a tenant's 5-second loops delay
   * its own runs only.
   */
  maxRunningPerAccount?: number;
  /** Compiled mappings kept, by key. Default 500. */
  compileCacheSize?: number;
  /** An isolate is replaced after this many runs. Default 1000. */
  maxRunsPerIsolate?: number;
  /** A new isolate for every TypeScript run (slow; for measurement). Default false. */
  freshIsolatePerRun?: boolean;
  /** Heap of the sandbox process, MB (JSONata evaluates there). Default 512. */
  sandboxHeapMb?: number;
  /** How long past its timeout a run may go before its isolate is disposed (limits.ts). */
  isolateDeadlineGraceMs?: number;
  /** How long after that the sandbox process is killed (limits.ts). */
  processDeadlineGraceMs?: number;
  /** Time limit of one type check (limits.ts, TYPE_CHECK_TIMEOUT_MS). */
  typeCheckTimeoutMs?: number;
}

type Compiled =
  | { language: 'typescript'; source: string; compileId: number; code: string; ts: CompiledTypeScript }
  | { language: 'jsonata'; source: string; compileId: number; code: string }
  | { language: MappingLanguage; source: string; problems: SourceProblem[] };

const ERROR_CODES = new Set<TransformErrorCode>([
  'syntax_error',
  'missing_default_export',
  'script_error',
  'timeout',
  'memory_limit',
  'invalid_result',
  'invalid_input',
  'sandbox_crashed',
  'overloaded',
  'cancelled',
  'closed',
]);

export function createTransformEngine(options: TransformEngineOptions = {}): TransformEngine {
  return new Engine(options);
}

class Engine implements TransformEngine {
  private readonly defaults: RunLimits;
  private readonly compiled: LruCache<string, Compiled>;
  private readonly sandbox: SandboxProcess;
  private readonly typeChecker: TypeCheckThread;
  private readonly fresh: boolean;
  private readonly isolateGraceMs: number;
  private readonly processGraceMs: number;
  private nextCompileId = 1;

  constructor(options: TransformEngineOptions) {
    this.defaults = resolveLimits(DEFAULT_LIMITS, options.limits);
    this.compiled = new LruCache(options.compileCacheSize ?? 500);
    this.fresh = options.freshIsolatePerRun ?? false;
    this.isolateGraceMs = options.isolateDeadlineGraceMs ?? ISOLATE_DEADLINE_GRACE_MS;
    this.processGraceMs = options.processDeadlineGraceMs ?? PROCESS_DEADLINE_GRACE_MS;
    const poolSize = Math.max(1, Math.min(16, options.poolSize ?? 2));
    this.sandbox = new SandboxProcess({
      child: {
        poolSize,
        defaultMemoryMb: this.defaults.memoryMb,
        maxRunsPerIsolate: options.maxRunsPerIsolate ?? 1_000,
        codeCacheSize: options.compileCacheSize ?? 500,
      },
      concurrency: poolSize,
      maxQueue: options.maxQueue ?? 1_000,
      maxPerAccount: Math.max(1, options.maxPerAccount ?? 200),
      maxRunningPerAccount: Math.max(1, Math.min(poolSize, options.maxRunningPerAccount ?? poolSize - 1)),
      childHeapMb: options.sandboxHeapMb ?? 512,
    });
    this.typeChecker = new TypeCheckThread({ timeoutMs: options.typeCheckTimeoutMs });
  }

  async validate(language: MappingLanguage, source: string): Promise<ValidationResult> {
    // JSONata parses in linear time and an empty or oversized source needs no parser: here.
    if (language !== 'typescript' || sourceProblem(source)) return validateMapping(language, source);
    return this.typeChecker.check(source);
  }

  async warmup(options: { typeChecker?: boolean } = {}): Promise<void> {
    const started = Promise.all([this.sandbox.warmup(), options.typeChecker !== false ? this.typeChecker.warmup() : undefined]);
    // Compiling parses with TypeScript before swc (syntax-depth.ts): loading it costs ~0.5 s of this
    // event loop, better now than on the first run. The type-check thread loads its own copy.
    typescript();
    await started;
  }

  async close(): Promise<void> {
    await Promise.all([this.sandbox.close(), this.typeChecker.close()]);
  }

  stats(): EngineStats {
    return { ...this.sandbox.stats(), ...this.typeChecker.stats() };
  }

  async run(request: RunRequest): Promise<RunOutcome> {
    const started = performance.now();
    const elapsed = () => round(performance.now() - started);
    const limits = resolveLimits(this.defaults, request.limits);
    const compiled = this.compile(request.key, request.language, request.source);
    if ('problems' in compiled) {
      const first = compiled.problems[0]!;
      const code = first.code === 'missing_default_export' ? first.code : 'syntax_error';
      return failure({ code, message: first.message, line: first.line, column: first.column }, [], elapsed());
    }

    if (typeof request.event !== 'object' || request.event === null || Array.isArray(request.event)) {
      return failure({ code: 'invalid_input', message: 'The event must be an object (the event envelope).' }, [], elapsed());
    }
    let input: string;
    try {
      const { destination, delivery, mapping } = request.ctx;
      input = JSON.stringify({
        event: request.event,
        ctx: { destination, delivery, mapping },
        limits: { maxResultBytes: limits.maxResultBytes, maxLogLines: limits.maxLogLines, maxLogLineBytes: limits.maxLogLineBytes },
      });
    } catch (err) {
      return failure({ code: 'invalid_input', message: `The event or its context cannot be serialised as JSON: ${(err as Error).message}` }, [], elapsed());
    }
    if (input.length > MAX_INPUT_BYTES) {
      return failure({ code: 'invalid_input', message: `The event is larger than ${MAX_INPUT_BYTES / 1024 / 1024} MiB.` }, [], elapsed());
    }

    const deadlineMs = limits.timeoutMs + this.isolateGraceMs;
    const result = await this.sandbox.run(
      {
        language: compiled.language,
        compileId: compiled.compileId,
        input,
        limits,
        deadlineMs,
        fresh: this.fresh,
      },
      compiled.code,
      // The child may queue a run behind one other on a small pool: allow for both.
      2 * deadlineMs + this.processGraceMs,
      { account: request.accountId, signal: request.signal },
    );
    return this.interpret(compiled, result, limits, elapsed);
  }

  private compile(key: string, language: MappingLanguage, source: string): Compiled {
    const cached = this.compiled.get(key);
    // A key names one source; if a caller reuses it for another, recompile rather than run stale code.
    if (cached && cached.language === language && cached.source === source) return cached;
    let entry: Compiled;
    if (language === 'typescript') {
      const out = transpileTypeScript(source);
      entry = out.ok
        ? { language, source, compileId: this.nextCompileId++, code: out.compiled.script, ts: out.compiled }
        : { language, source, problems: out.errors };
    } else if (language === 'jsonata') {
      entry = compileJsonata(source, this.nextCompileId++);
    } else {
      entry = { language, source, problems: [{ line: 1, column: 1, code: 'syntax_error', message: `Unknown mapping language ${JSON.stringify(language)}.` }] };
    }
    this.compiled.set(key, entry);
    return entry;
  }

  private interpret(
    compiled: Exclude<Compiled, { problems: SourceProblem[] }>,
    { outcome, durationMs }: SupervisedResult,
    limits: RunLimits,
    elapsed: () => number,
  ): RunOutcome {
    const duration = durationMs > 0 ? round(durationMs) : elapsed();
    switch (outcome.kind) {
      case 'json':
        return this.interpretJson(compiled, outcome.json, limits, duration);
      case 'timeout':
        return failure(
          {
            code: 'timeout',
            message: outcome.wall
              ? `The transform was stopped: it was still running ${limits.timeoutMs + this.isolateGraceMs} ms after it started (limit ${limits.timeoutMs} ms). Operations V8 cannot interrupt (splitting or sorting a huge string or array) do this.`
              : `The transform ran longer than its limit of ${limits.timeoutMs} ms (an endless loop?).`,
          },
          boundLogs(outcome.logs, limits),
          duration,
        );
      case 'memory_limit':
        return failure(
          {
            code: 'memory_limit',
            message:
              compiled.language === 'jsonata'
                ? 'The expression exhausted the memory of the sandbox process and was stopped (it builds strings or arrays that are too large).'
                : `The transform used more than its memory limit of ${limits.memoryMb} MB and was stopped.`,
          },
          [],
          duration,
        );
      case 'sandbox_crashed':
        return failure({ code: 'sandbox_crashed', message: outcome.message }, [], duration);
      case 'overloaded':
        return failure(
          {
            code: 'overloaded',
            message:
              outcome.scope === 'account'
                ? 'Too many scripts of this account are waiting for the sandbox; try again.'
                : 'Too many scripts are waiting for the sandbox; try again.',
          },
          [],
          elapsed(),
        );
      case 'cancelled':
        return failure({ code: 'cancelled', message: 'The run was withdrawn before it started (its caller went away).' }, [], elapsed());
      case 'closed':
        return failure({ code: 'closed', message: 'The transform engine is shutting down.' }, [], elapsed());
      case 'internal':
        return failure({ code: 'sandbox_crashed', message: `The sandbox failed: ${outcome.message}` }, [], duration);
    }
  }

  private interpretJson(compiled: Exclude<Compiled, { problems: SourceProblem[] }>, json: string, limits: RunLimits, duration: number): RunOutcome {
    let parsed: { ok?: unknown; result?: unknown; error?: Record<string, unknown>; logs?: unknown };
    try {
      parsed = JSON.parse(json) as typeof parsed;
    } catch {
      return failure({ code: 'invalid_result', message: 'The sandbox returned malformed output (was its runtime tampered with?).' }, [], duration);
    }
    let logs = boundLogs(parsed?.logs, limits);
    if (compiled.language === 'typescript') logs = logs.map((line) => mapPositionsInText(line, compiled.ts));
    if (parsed?.ok === true) {
      // The sandbox counted UTF-16 units; only a result that might exceed in UTF-8 is re-measured.
      if (json.length * 3 > limits.maxResultBytes) {
        const bytes = Buffer.byteLength(JSON.stringify(parsed.result) ?? '');
        if (bytes > limits.maxResultBytes) {
          return failure({ code: 'invalid_result', message: `The result is ${bytes} bytes of JSON, over the limit of ${limits.maxResultBytes} bytes.` }, logs, duration);
        }
      }
      const shape = normaliseResult(parsed.result);
      if (!shape.ok) return failure({ code: 'invalid_result', message: shape.message }, logs, duration);
      return { ok: true, result: shape.request, logs, duration_ms: duration };
    }
    const raw = typeof parsed?.error === 'object' && parsed.error !== null ? parsed.error : {};
    const code = ERROR_CODES.has(raw.code as TransformErrorCode) ? (raw.code as TransformErrorCode) : 'script_error';
    const name = typeof raw.name === 'string' ? raw.name : undefined;
    const message = typeof raw.message === 'string' ? raw.message.slice(0, 4_000) : 'The transform failed.';
    const error: TransformError = { code, message: name && name !== 'Error' ? `${name}: ${message}` : message };
    if (typeof raw.line === 'number') error.line = raw.line;
    if (typeof raw.column === 'number') error.column = raw.column;
    if (compiled.language === 'typescript' && typeof raw.stack === 'string') {
      const mapped = mapStack(raw.stack, compiled.ts);
      error.stack = mapped.stack;
      if (mapped.line !== undefined) {
        error.line = mapped.line;
        error.column = mapped.column;
      }
    }
    return failure(error, logs, duration);
  }
}

function compileJsonata(source: string, compileId: number): Compiled {
  try {
    // Parsed here only for the error position; the sandbox compiles its own copy.
    jsonata(source);
    return { language: 'jsonata', source, compileId, code: source };
  } catch (err) {
    return { language: 'jsonata', source, problems: [jsonataParseProblem(source, err)] };
  }
}

function failure(error: TransformError, logs: string[], duration_ms: number): RunOutcome {
  return { ok: false, error, logs, duration_ms };
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
