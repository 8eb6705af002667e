import type { LoggerOptions } from 'pino';

/** Paths pino blanks in every log line: credentials never reach a log, whatever logs them. */
const redactPaths = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  '*.signing_secret',
  '*.api_key',
  '*.client_secret',
  '*.password',
  '*.access_token',
  '*.refresh_token',
];

interface LoggedRequest {
  method: string;
  url: string;
  host?: string;
  ip?: string;
  headers?: Record<string, unknown>;
  socket?: { remotePort?: number };
}

/**
 * Fastify's request fields, with the query string left out: it may carry a stream token (`?token=`,
 * src/stream-tokens.ts, because EventSource cannot send headers) or a tenant's own values.
 */
const req = (r: LoggedRequest) => {
  const q = r.url.indexOf('?');
  return {
    method: r.method,
    url: q === -1 ? r.url : `${r.url.slice(0, q)}?[redacted]`,
    version: r.headers?.['accept-version'],
    host: r.host,
    remoteAddress: r.ip,
    remotePort: r.socket?.remotePort,
  };
};

export const loggerOptions = (level: string): LoggerOptions => ({
  level,
  redact: { paths: redactPaths, censor: '[redacted]' },
  serializers: { req },
});
