import jsonata from 'jsonata';
import { jsonataParseProblem } from './jsonata-errors.ts';
import { transpileTypeScript } from './transpile-typescript.ts';
import { typeCheckMapping } from './type-check.ts';
import type { MappingLanguage, SourceProblem, ValidationResult } from './types.ts';

/**
 * Uploaded sources above this are refused outright (a mapping is a page of code, not a bundle; the
 * examples are 1-3 KiB). It also bounds what one type check parses.
 */
export const MAX_SOURCE_BYTES = 128 * 1024;

/** What is wrong with a source before any parser sees it: empty, or too large. */
export function sourceProblem(source: string): SourceProblem | undefined {
  if (typeof source !== 'string' || source.trim() === '') {
    return { line: 1, column: 1, code: 'syntax_error', message: 'The mapping is empty.' };
  }
  const bytes = Buffer.byteLength(source);
  if (bytes > MAX_SOURCE_BYTES) {
    return { line: 1, column: 1, code: 'source_too_large', message: `The mapping is ${bytes} bytes, over the limit of ${MAX_SOURCE_BYTES} bytes (${MAX_SOURCE_BYTES / 1024} KiB).` };
  }
  return undefined;
}

/**
 * The check behind POST/PUT /v1/mappings: syntax, then (TypeScript) types and the default export.
 * Synchronous and unbounded in time: the API calls it through engine.validate, which runs the
 * TypeScript part in the type-check thread.
 */
export function validateMapping(language: MappingLanguage, source: string): ValidationResult {
  const problem = sourceProblem(source);
  if (problem) return fail(problem);
  if (language === 'jsonata') return validateJsonata(source);
  if (language === 'typescript') return validateTypeScript(source);
  return fail({ line: 1, column: 1, code: 'syntax_error', message: `Unknown mapping language ${JSON.stringify(language)}.` });
}

function validateJsonata(source: string): ValidationResult {
  try {
    jsonata(source);
    return { ok: true };
  } catch (err) {
    return fail(jsonataParseProblem(source, err));
  }
}

function validateTypeScript(source: string): ValidationResult {
  // swc first: it is what compiles the mapping for the sandbox, so its verdict on syntax is final.
  const transpiled = transpileTypeScript(source);
  if (!transpiled.ok) return { ok: false, errors: transpiled.errors };
  const problems = typeCheckMapping(source);
  if (problems.length > 0) return { ok: false, errors: problems };
  return { ok: true, compiled: transpiled.compiled.js };
}

function fail(problem: SourceProblem): ValidationResult {
  return { ok: false, errors: [problem] };
}
