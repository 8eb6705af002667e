// Messages between the engine (parent) and the sandbox process (sandbox-child.ts). Plain data,
// sent with Node's "advanced" (structured clone) IPC serialisation.

export interface ChildRunLimits {
  timeoutMs: number;
  memoryMb: number;
  maxResultBytes: number;
  maxLogLines: number;
  maxLogLineBytes: number;
}

export interface RunMessage {
  t: 'run';
  id: number;
  language: 'typescript' | 'jsonata';
  /** Identifies one compiled artifact for the life of the engine (keys can be reused). */
  compileId: number;
  /** The wrapped script (TypeScript) or the expression (JSONata); omitted once the child has it. */
  code?: string;
  /** JSON of { event, ctx, limits }. */
  input: string;
  limits: ChildRunLimits;
  /** Wall-clock ms after which the child disposes the isolate running this. */
  deadlineMs: number;
  /** A new isolate for this run only (measurement and diagnostics). */
  fresh: boolean;
}

export type ParentMessage = RunMessage | { t: 'shutdown' };

/**
 * What one run produced, before the engine interprets it. `json` is the in-sandbox runtime's
 * outcome string (runner-runtime.ts), which the engine parses and checks.
 */
export type RawOutcome =
  | { kind: 'json'; json: string }
  | { kind: 'timeout'; logs?: string[]; wall: boolean }
  | { kind: 'memory_limit' }
  | { kind: 'internal'; message: string };

export type ChildMessage =
  | { t: 'ready' }
  | { t: 'result'; id: number; outcome: RawOutcome; durationMs: number }
  | { t: 'need_code'; id: number }
  | { t: 'fatal'; message: string };

export interface ChildConfig {
  poolSize: number;
  defaultMemoryMb: number;
  maxRunsPerIsolate: number;
  codeCacheSize: number;
}
