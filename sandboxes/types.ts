// The engine's public contract: what the API and the delivery worker import. (The types mapping
// authors see are in voiceoi.d.ts; NormalisedRequest is its TransformRequest after checking.)

export type HttpMethod = 'POST' | 'PUT' | 'PATCH';

export type MappingLanguage = 'jsonata' | 'typescript';

/** Validation and compile problems, positioned in the engineer's own source (1-based). */
export interface SourceProblem {
  line: number;
  column: number;
  message: string;
  code:
    | 'syntax_error'
    | 'type_error'
    | 'missing_default_export'
    // The upload as a whole (reported at line 1, column 1):
    | 'source_too_large'
    | 'type_check_timeout'
    | 'type_check_out_of_memory'
    /** Not the upload's fault: the checker is busy or failed; worth a retry. */
    | 'type_checker_unavailable';
}

export type ValidationResult =
  | { ok: true; /** TypeScript only: the JavaScript that will run in the sandbox. */ compiled?: string }
  | { ok: false; errors: SourceProblem[] };

/** Limits of one run. Every value is clamped to LIMIT_BOUNDS (limits.ts). */
export interface RunLimits {
  /** CPU/wall time of the transform itself, ms. */
  timeoutMs: number;
  /** Heap of the isolate (TypeScript), MB. */
  memoryMb: number;
  /** Serialised result, bytes of JSON. */
  maxResultBytes: number;
  maxLogLines: number;
  maxLogLineBytes: number;
}

/** The part of TransformContext the caller provides; `log` is added inside the sandbox. */
export type RunContext = {
  destination: { id: string; url: string };
  delivery: { id: string; attempt?: number };
  mapping: { id: string; version: number };
};

export interface RunRequest {
  /**
   * The account the run is for: runs wait in one queue per account, served in turn, each account
   * bounded (TransformEngineOptions.maxPerAccount, maxRunningPerAccount).
   */
  accountId: string;
  /** Aborted while the run still waits: it is dropped and answers `cancelled` (a mapping test whose client left). */
  signal?: AbortSignal;
  /** Identifies `source` (e.g. `${mappingId}@${version}`): compiled code is cached under it. */
  key: string;
  language: MappingLanguage;
  source: string;
  /** The event envelope (already validated against the catalog by ingest). */
  event: unknown;
  ctx: RunContext;
  limits?: Partial<RunLimits>;
}

/** A TransformRequest after checking: `method` is always set. Matches OutgoingRequest of workflows/. */
export interface NormalisedRequest {
  method: HttpMethod;
  body: unknown;
  headers?: Record<string, string>;
  path?: string;
  query?: Record<string, string>;
}

export type TransformErrorCode =
  | 'syntax_error'
  | 'missing_default_export'
  | 'script_error'
  | 'timeout'
  | 'memory_limit'
  | 'invalid_result'
  | 'invalid_input'
  | 'sandbox_crashed'
  | 'overloaded'
  | 'cancelled'
  | 'closed';

/**
 * The codes that say the script did not run (the sandbox was busy, shutting down, or the caller
 * withdrew it), as opposed to running and failing: never a verdict on the event.
 */
export const NOT_RUN_CODES: ReadonlySet<TransformErrorCode> = new Set(['overloaded', 'cancelled', 'closed']);

export interface TransformError {
  code: TransformErrorCode;
  /** Written for the engineer who wrote the mapping. */
  message: string;
  /** Where in their source, when known (1-based). */
  line?: number;
  column?: number;
  /** Their frames only, positions in their source. */
  stack?: string;
}

export type RunOutcome =
  | { ok: true; /** null: skip the delivery. */ result: NormalisedRequest | null; logs: string[]; duration_ms: number }
  | { ok: false; error: TransformError; logs: string[]; duration_ms: number };

export interface EngineStats {
  /** The sandbox process, when one is running. */
  sandboxPid?: number;
  /** Times the sandbox process died (crash, deadline kill) and was replaced. */
  sandboxRestarts: number;
  /** Runs waiting for the sandbox / running in it. */
  queued: number;
  inFlight: number;
  /** Accounts with runs waiting (each has its own queue, served in turn). */
  accountsWaiting: number;
  /** Runs withdrawn by their caller (an aborted signal) before they ran. */
  cancelled: number;
  /** Type checks running in the type-check thread (0 or 1) / waiting for it. */
  typeChecksRunning: number;
  typeChecksQueued: number;
  /** Type-check threads terminated (time limit) or lost (crash) and replaced. */
  typeCheckerReplacements: number;
}

export interface TransformEngine {
  /**
   * Syntax, types (TypeScript) and the default export: the check behind POST/PUT /v1/mappings.
   * TypeScript is checked in a worker thread, bounded in time (TYPE_CHECK_TIMEOUT_MS) and size
   * (MAX_SOURCE_BYTES); never rejects.
   */
  validate(language: MappingLanguage, source: string): Promise<ValidationResult>;
  /** Never rejects: every failure is a RunOutcome with an error code. */
  run(request: RunRequest): Promise<RunOutcome>;
  /**
   * Starts the sandbox process now instead of on the first run, and (unless `typeChecker: false`,
   * e.g. in a worker that never validates) starts the type-check thread, which loads TypeScript
   * and checks a sample (~0.5 s of CPU, off the event loop).
   */
  warmup(options?: { typeChecker?: boolean }): Promise<void>;
  stats(): EngineStats;
  close(): Promise<void>;
}

