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

/** A zod-like issue: zod's own, or one fastify-type-provider-zod handed the error handler. */
export interface RawIssue {
  path: readonly PropertyKey[];
  message: string;
  code?: string;
  /** `unrecognized_keys`: the unknown fields of the object at `path`. */
  keys?: readonly string[];
  /** `invalid_union`: each alternative's issues, paths relative to `path`. */
  errors?: readonly (readonly RawIssue[])[];
}

/**
 * A zod error's issues, as a validation_error answers them. An unknown field (a strict object's
 * `unrecognized_keys`) becomes one issue per field, naming its full path: a typo must never be
 * dropped in silence, and the message says which field to fix. `where`: what the paths are in
 * (body, querystring, event); `prefix` leads each path (`querystring`).
 */
export function zodIssues(error: { issues: readonly RawIssue[] }, where = 'body', prefix?: string): Issue[] {
  const join = (parts: readonly PropertyKey[]) => parts.map(String).filter((p) => p !== '').join('.');
  return error.issues.flatMap((i): Issue[] => {
    // No alternative fits: the one that came closest says what to fix ("Invalid input" says nothing).
    if (i.code === 'invalid_union' && i.errors?.length) {
      const closest = i.errors.reduce((a, b) => (b.length < a.length ? b : a));
      if (closest.length > 0) return zodIssues({ issues: closest.map((n) => ({ ...n, path: [...i.path, ...n.path] })) }, where, prefix);
    }
    if (i.code === 'unrecognized_keys' && i.keys?.length) {
      return i.keys.map((key) => {
        const field = join([...i.path, key]);
        return { path: join([prefix ?? '', field]), message: unknownFieldMessage(field, where) };
      });
    }
    return [{ path: join([prefix ?? '', ...i.path]), message: i.message }];
  });
}

const UNKNOWN_FIELD = 'unknown field "';
const unknownFieldMessage = (field: string, where: string) => `${UNKNOWN_FIELD}${field}" in ${where}`;

/** Validation issues as one message: `path: message; path: message` (an unknown field's message names its path already). */
export const formatIssues = (issues: readonly Issue[]): string =>
  issues.map((i) => (i.path && !i.message.startsWith(UNKNOWN_FIELD) ? `${i.path}: ${i.message}` : i.message)).join('; ');
