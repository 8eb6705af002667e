import type { RunLimits } from './types.ts';

export const DEFAULT_LIMITS: RunLimits = {
  timeoutMs: 50,
  memoryMb: 32,
  maxResultBytes: 1024 * 1024,
  maxLogLines: 100,
  maxLogLineBytes: 1024,
};

/** Inclusive bounds: a caller (or an account setting) can move a limit, never past these. */
export const LIMIT_BOUNDS: { [K in keyof RunLimits]: readonly [min: number, max: number] } = {
  timeoutMs: [1, 5_000],
  // isolated-vm refuses less than 8 MB; above 256 MB one run could starve the worker host.
  memoryMb: [8, 256],
  maxResultBytes: [1024, 10 * 1024 * 1024],
  maxLogLines: [0, 1_000],
  maxLogLineBytes: [64, 16 * 1024],
};

/** Isolates are pooled per memory limit, so limits snap to this step to keep the pools few. */
export const MEMORY_STEP_MB = 8;

/**
 * Type-checking one upload (in the type-check thread). A real mapping checks in tens of ms; a
 * type-level bomb (recursive conditional or mapped types) can take minutes.
 */
export const TYPE_CHECK_TIMEOUT_MS = 5_000;

/** Events above this are refused before they reach a sandbox. */
export const MAX_INPUT_BYTES = 16 * 1024 * 1024;

export function resolveLimits(base: RunLimits, override?: Partial<RunLimits>): RunLimits {
  const out = { ...base };
  for (const name of Object.keys(LIMIT_BOUNDS) as (keyof RunLimits)[]) {
    const wanted = override?.[name] ?? base[name];
    const [min, max] = LIMIT_BOUNDS[name];
    out[name] = Number.isFinite(wanted) ? Math.min(max, Math.max(min, Math.floor(wanted))) : base[name];
  }
  out.memoryMb = Math.max(LIMIT_BOUNDS.memoryMb[0], Math.ceil(out.memoryMb / MEMORY_STEP_MB) * MEMORY_STEP_MB);
  return out;
}

/**
 * How long past its own timeout a run may take before the sandbox process disposes its isolate.
 * Generous because some allocations V8 cannot interrupt (a 100 MB split, say) only end when the
 * memory limit kills them, several hundred ms later; a never-settling promise is detected
 * without waiting for this (see runner-runtime.ts).
 */
export const ISOLATE_DEADLINE_GRACE_MS = 1_500;

/** After the isolate deadline, how long the engine waits before it kills the sandbox process. */
export const PROCESS_DEADLINE_GRACE_MS = 1_500;
