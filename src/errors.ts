/** The one error type routes and services throw; the error handler turns it into `{ code, message }`. */
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

export const notFound = (what: string, id: string): AppError =>
  new AppError(404, `${what}_not_found`, `No ${what.replace(/_/g, ' ')} with id '${id}' in this account`);
