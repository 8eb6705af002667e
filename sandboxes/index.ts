// The transform engine (DESIGN.md, "Transforms"): JSONata and sandboxed TypeScript mappings.
//
//   const engine = createTransformEngine();
//   engine.validate('typescript', source)          // POST/PUT /v1/mappings
//   await engine.run({ accountId, key, language, source, event, ctx, signal? })   // transform activity, /v1/mappings/test
//   await engine.close()
//
// TypeScript runs in isolated-vm inside a child process that the engine supervises; the process
// that imports this module does not load isolated-vm and needs no special node flags.
export { createTransformEngine, type TransformEngineOptions } from './engine.ts';
export { validateMapping } from './validate.ts';
export { DEFAULT_LIMITS, LIMIT_BOUNDS } from './limits.ts';
export { VOICEOI_DTS_URL } from './type-check.ts';
export { NOT_RUN_CODES } from './types.ts';
export type {
  EngineStats,
  MappingLanguage,
  NormalisedRequest,
  RunContext,
  RunLimits,
  RunOutcome,
  RunRequest,
  SourceProblem,
  TransformEngine,
  TransformError,
  TransformErrorCode,
  ValidationResult,
} from './types.ts';
