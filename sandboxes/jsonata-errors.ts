// jsonata reports errors as { code, position, token, message }, where `position` is the offset just
// past the offending token. Engineers want a line and a column, pointing at the token's start.
import { positionAt } from './text-position.ts';
import type { SourceProblem } from './types.ts';

export interface JsonataErrorLike {
  code?: unknown;
  position?: unknown;
  token?: unknown;
  message?: unknown;
}

export function isJsonataError(err: unknown): err is JsonataErrorLike {
  return typeof err === 'object' && err !== null && typeof (err as JsonataErrorLike).code === 'string';
}

export function jsonataErrorPosition(source: string, err: JsonataErrorLike): { line: number; column: number } | undefined {
  if (typeof err.position !== 'number') return undefined;
  let offset = err.position - 1;
  if (typeof err.token === 'string' && err.token !== '(end)') {
    const start = err.position - err.token.length;
    if (start >= 0 && source.startsWith(err.token, start)) offset = start;
  } else if (err.token === '(end)') {
    offset = source.length;
  }
  return positionAt(source, Math.max(0, offset));
}

export function jsonataErrorMessage(err: JsonataErrorLike): string {
  const message = typeof err.message === 'string' ? err.message : 'JSONata error';
  return typeof err.code === 'string' ? `${message} (${err.code})` : message;
}

/**
 * What a failed jsonata(source) means for the engineer. jsonata's parser is recursive: a deeply
 * nested expression (60 000 `(`) overflows the stack, which is still the expression's fault.
 */
export function jsonataParseProblem(source: string, err: unknown): SourceProblem {
  if (err instanceof RangeError) {
    return { line: 1, column: 1, code: 'syntax_error', message: 'The expression is nested too deeply to parse (parentheses, arrays or objects inside each other).' };
  }
  if (!isJsonataError(err)) throw err;
  return { ...(jsonataErrorPosition(source, err) ?? { line: 1, column: 1 }), message: jsonataErrorMessage(err), code: 'syntax_error' };
}
