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

export const loggerOptions = (level: string): LoggerOptions => ({
  level,
  redact: { paths: redactPaths, censor: '[redacted]' },
});
