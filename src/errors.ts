/** The error routes throw: an HTTP status with a stable code; the error handler turns it into `{ code, message }`. */
export class AppError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'AppError';
  }
}

/**
 * What services refuse with. A service knows why it refuses, not how HTTP says it: the status of
 * each code is the error handler's (DOMAIN_STATUS in src/error-handler.ts), so a new code does not
 * compile until it has one.
 */
export type DomainCode =
  | 'account_mismatch'
  | 'reserved_event_type'
  | 'delivery_finished'
  | 'delivery_not_found'
  | 'delivery_running'
  | 'destination_deleted'
  | 'destination_disabled'
  | 'destination_not_found'
  | 'erased'
  | 'invalid_cursor'
  | 'invalid_filter'
  | 'temporal_unavailable';

export class DomainError extends Error {
  constructor(
    readonly code: DomainCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

const notFoundMessage = (what: string, id: string) => `No ${what.replace(/_/g, ' ')} with id '${id}' in this account`;

/** A route's 404 for an id the caller's account does not have. */
export const notFound = (what: string, id: string): AppError => new AppError(404, `${what}_not_found`, notFoundMessage(what, id));

/** The same refusal from a service. */
export const unknownId = (what: 'delivery' | 'destination', id: string): DomainError => new DomainError(`${what}_not_found`, notFoundMessage(what, id));

export interface Issue {
  path: string;
  message: string;
}

/** A zod error's issues, as a validation_error answers them. */
export const zodIssues = (error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] }): Issue[] =>
  error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));

/** Validation issues as one message: `path: message; path: message`. */
export const formatIssues = (issues: readonly Issue[]): string => issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ');
