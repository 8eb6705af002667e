import { DomainError } from '../errors.ts';

// Visibility queries are strings, and Temporal's handling of escapes in string literals is not
// reliable across its visibility stores (measured on the dev server's SQLite: values holding `"`, `\`,
// control characters, or `'` followed by other text did not match under any escaping). So instead of
// escaping, a value that reaches a query must not contain a character that could end or bend the
// literal: then wrapping it in single quotes cannot be broken out of, whatever else it holds.
const UNSAFE = /['"\\\p{Cc}]/u;

export const isQuerySafe = (value: string): boolean => value.length > 0 && value.length <= 200 && !UNSAFE.test(value);

/** A single-quoted query literal; refuses (invalid_filter) a value that could escape its quotes. */
export function literal(value: string, field: string): string {
  if (!isQuerySafe(value)) {
    throw new DomainError('invalid_filter', `${field}: must be 1-200 characters without quotes, backslashes or control characters to be searchable`);
  }
  return `'${value}'`;
}

/** `StartTime >= '<iso>'`, normalised through Date so only a canonical timestamp reaches the query. */
export function startedSince(iso: string): string {
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) throw new DomainError('invalid_filter', 'since: must be an RFC 3339 timestamp');
  return `StartTime >= '${t.toISOString()}'`;
}
