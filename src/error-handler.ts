import type { FastifyError, FastifyInstance } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { AppError, DomainError, formatIssues, zodIssues, type DomainCode, type Issue, type RawIssue } from './errors.ts';

/** The HTTP status of every code services refuse with (src/errors.ts, DomainError). */
const DOMAIN_STATUS: Record<DomainCode, number> = {
  account_mismatch: 400,
  reserved_event_type: 400,
  invalid_cursor: 400,
  invalid_filter: 400,
  delivery_not_found: 404,
  destination_not_found: 404,
  delivery_finished: 409,
  delivery_running: 409,
  destination_deleted: 409,
  destination_disabled: 409,
  erased: 410,
  temporal_unavailable: 503,
};

/** fastify-type-provider-zod's validation entries, back to zod's issues (the path, the unknown keys). */
function issuesOf(validation: { keyword?: string; instancePath?: string; message?: string; params?: unknown }[], context: string | undefined): Issue[] {
  const raw = validation.map((v) => ({
    path: (v.instancePath ?? '').split('/').filter(Boolean),
    message: v.message ?? 'invalid',
    code: v.keyword,
    ...(v.params as Pick<RawIssue, 'keys' | 'errors'> | undefined),
  }));
  const where = context ?? 'body';
  const issues = zodIssues({ issues: raw }, where, where === 'body' ? undefined : where);
  // An issue of the whole input still says which input it is about.
  return issues.map((i) => (i.path === '' ? { ...i, path: where } : i));
}

/** The one place errors become `{ code, message }`; anything unexpected is logged and hidden. */
export function registerErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err instanceof AppError || err instanceof DomainError) {
      // A temporary refusal (a locked database, too many failed keys) says when to come back.
      const retryAfter = err.details?.retry_after_s;
      if (typeof retryAfter === 'number') reply.header('retry-after', String(Math.max(1, Math.ceil(retryAfter))));
      const status = err instanceof AppError ? err.statusCode : DOMAIN_STATUS[err.code];
      return reply.status(status).send({ code: err.code, message: err.message, ...err.details });
    }
    if (hasZodFastifySchemaValidationErrors(err)) {
      const issues = issuesOf(err.validation, err.validationContext);
      return reply.status(400).send({ code: 'validation_error', message: formatIssues(issues), issues });
    }
    switch (err.code) {
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return reply.status(413).send({ code: 'payload_too_large', message: `The body is over the limit of ${req.routeOptions.bodyLimit ?? 1048576} bytes` });
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return reply.status(415).send({ code: 'unsupported_media_type', message: 'Send the body as application/json' });
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
        return reply.status(400).send({ code: 'invalid_json', message: 'The body is empty; a JSON object is expected' });
      case 'FST_ERR_CTP_INVALID_JSON_BODY':
        return reply.status(400).send({ code: 'invalid_json', message: `The body is not valid JSON: ${err.message}` });
    }
    if (err instanceof SyntaxError || (err.statusCode === 400 && /JSON/i.test(err.message))) {
      return reply.status(400).send({ code: 'invalid_json', message: `The body is not valid JSON: ${err.message}` });
    }
    if (err.statusCode && err.statusCode < 500) {
      return reply.status(err.statusCode).send({ code: (err.code ?? 'bad_request').toLowerCase(), message: err.message });
    }
    req.log.error({ err }, 'unhandled error');
    return reply.status(500).send({ code: 'internal_error', message: 'Something went wrong on our side; the error is logged' });
  });
  app.setNotFoundHandler((req, reply) =>
    reply.status(404).send({ code: 'route_not_found', message: `No route ${req.method} ${req.url.split('?')[0]}` }),
  );
}
