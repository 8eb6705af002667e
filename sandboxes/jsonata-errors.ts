// jsonata reports errors as { code, position, token, message }, where `position` is the offset just
// past the offending token. Engineers want a line and a column, pointing at the token's start.
import { positionAt } from './text-position.ts';

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
