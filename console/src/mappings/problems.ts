import { VoiceoiApiError } from '../api.ts';

/** A positioned problem of a mapping, as a refusal's body carries it (`errors[]`, or `line`/`column`). */
export interface CheckError {
  code?: string;
  message: string;
  line?: number;
  column?: number;
}

/** The positioned problems of an API error: the upload check's list, or the run error's position. */
export function problemsOf(err: unknown): CheckError[] {
  if (!(err instanceof VoiceoiApiError)) return [];
  const b = err.body as { errors?: CheckError[]; line?: number; column?: number; code?: string; message?: string };
  if (Array.isArray(b.errors) && b.errors.length > 0) return b.errors;
  if (typeof b.line === 'number') return [{ code: err.code, message: err.message.replace(/^line \d+, column \d+: /, ''), line: b.line, column: b.column ?? 1 }];
  return [];
}
