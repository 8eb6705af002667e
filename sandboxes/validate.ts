import jsonata from 'jsonata';
import { isJsonataError, jsonataErrorMessage, jsonataErrorPosition } from './jsonata-errors.ts';
import { transpileTypeScript } from './transpile-typescript.ts';
import { typeCheckMapping } from './type-check.ts';
import type { MappingLanguage, SourceProblem, ValidationResult } from './types.ts';

/** Uploaded sources above this are refused outright (a mapping is a page of code, not a bundle). */
export const MAX_SOURCE_BYTES = 256 * 1024;

/** The check behind POST/PUT /v1/mappings: syntax, then (TypeScript) types and the default export. */
export function validateMapping(language: MappingLanguage, source: string): ValidationResult {
  if (typeof source !== 'string' || source.trim() === '') {
    return fail({ line: 1, column: 1, code: 'syntax_error', message: 'The mapping is empty.' });
  }
  if (Buffer.byteLength(source) > MAX_SOURCE_BYTES) {
    return fail({ line: 1, column: 1, code: 'syntax_error', message: `The mapping is larger than ${MAX_SOURCE_BYTES / 1024} KiB.` });
  }
  if (language === 'jsonata') return validateJsonata(source);
  if (language === 'typescript') return validateTypeScript(source);
  return fail({ line: 1, column: 1, code: 'syntax_error', message: `Unknown mapping language ${JSON.stringify(language)}.` });
}

function validateJsonata(source: string): ValidationResult {
  try {
    jsonata(source);
    return { ok: true };
  } catch (err) {
    if (!isJsonataError(err)) throw err;
    return fail({ ...(jsonataErrorPosition(source, err) ?? { line: 1, column: 1 }), message: jsonataErrorMessage(err), code: 'syntax_error' });
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
