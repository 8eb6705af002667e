// The host's check of what a transform returned. The sandbox already produced plain JSON; this
// decides whether that JSON is a request we are willing to send, and says precisely why not.
import type { NormalisedRequest } from './types.ts';

const METHODS = new Set(['POST', 'PUT', 'PATCH']);
const KEYS = new Set(['body', 'headers', 'method', 'path', 'query']);
// RFC 9110 token characters.
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// Headers the delivery layer owns: framing, routing and the signature a receiver verifies.
const RESERVED_HEADERS = new Set([
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'te',
  'trailer',
  'expect',
  'proxy-authorization',
  'proxy-connection',
]);
const RESERVED_PREFIXES = ['webhook-', 'x-voiceoi-'];
const MAX_HEADERS = 50;
const MAX_HEADER_VALUE = 8 * 1024;
const MAX_PATH = 2048;
const MAX_QUERY_PARAMS = 100;

export type ShapeCheck = { ok: true; request: NormalisedRequest | null } | { ok: false; message: string };

export function normaliseResult(value: unknown): ShapeCheck {
  if (value === null) return { ok: true, request: null };
  if (typeof value !== 'object' || Array.isArray(value)) {
    return fail(`The transform must return { body, headers?, method?, path?, query? } or null; it returned ${describe(value)}.`);
  }
  const record = value as Record<string, unknown>;
  const unknownKeys = Object.keys(record).filter((k) => !KEYS.has(k));
  if (unknownKeys.length > 0) {
    return fail(
      `The result has ${unknownKeys.map((k) => JSON.stringify(k)).join(', ')}, but only body, headers, method, path and query are allowed: put the payload under "body", e.g. return { body: { … } }.`,
    );
  }
  if (!('body' in record)) {
    return fail('The result has no "body" (undefined is not JSON): return { body: … } to send, or null to skip.');
  }
  const request: NormalisedRequest = { method: 'POST', body: record.body };

  if (record.method !== undefined) {
    if (typeof record.method !== 'string' || !METHODS.has(record.method.toUpperCase())) {
      return fail(`"method" must be "POST", "PUT" or "PATCH"; it is ${describe(record.method)}.`);
    }
    request.method = record.method.toUpperCase() as NormalisedRequest['method'];
  }

  if (record.headers !== undefined) {
    const headers = stringRecord(record.headers, 'headers');
    if (typeof headers === 'string') return fail(headers);
    const entries = Object.entries(headers);
    if (entries.length > MAX_HEADERS) return fail(`"headers" has ${entries.length} entries; at most ${MAX_HEADERS} are allowed.`);
    for (const [name, headerValue] of entries) {
      const lower = name.toLowerCase();
      if (!HEADER_NAME.test(name)) return fail(`Header name ${JSON.stringify(name)} is not a valid HTTP header name.`);
      if (RESERVED_HEADERS.has(lower) || RESERVED_PREFIXES.some((p) => lower.startsWith(p))) {
        return fail(`Header ${JSON.stringify(name)} is set by VoiceOI Hooks itself and cannot come from a transform.`);
      }
      if (/[\r\n\0]/.test(headerValue)) return fail(`Header ${JSON.stringify(name)} contains a line break or NUL.`);
      if (headerValue.length > MAX_HEADER_VALUE) return fail(`Header ${JSON.stringify(name)} is longer than ${MAX_HEADER_VALUE} characters.`);
    }
    request.headers = headers;
  }

  if (record.path !== undefined) {
    const path = record.path;
    if (typeof path !== 'string') return fail(`"path" must be a string; it is ${describe(path)}.`);
    if (!path.startsWith('/') || path.startsWith('//')) {
      return fail(`"path" must start with a single "/" (it is appended to the destination URL); it is ${JSON.stringify(path.slice(0, 100))}.`);
    }
    if (path.length > MAX_PATH) return fail(`"path" is longer than ${MAX_PATH} characters.`);
    if (/[\s\p{Cc}?#\\]/u.test(path)) {
      return fail('"path" cannot contain whitespace, control characters, "\\", "?" or "#": put query parameters in "query".');
    }
    if (path.split('/').some((segment) => segment === '..' || segment === '.')) return fail('"path" cannot contain "." or ".." segments.');
    request.path = path;
  }

  if (record.query !== undefined) {
    const query = stringRecord(record.query, 'query');
    if (typeof query === 'string') return fail(query);
    if (Object.keys(query).length > MAX_QUERY_PARAMS) return fail(`"query" has more than ${MAX_QUERY_PARAMS} parameters.`);
    request.query = query;
  }
  return { ok: true, request };
}

function stringRecord(value: unknown, name: string): Record<string, string> | string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return `"${name}" must be an object of strings; it is ${describe(value)}.`;
  }
  for (const [key, v] of Object.entries(value)) {
    if (typeof v !== 'string') return `"${name}.${key}" must be a string; it is ${describe(v)}.`;
  }
  return value as Record<string, string>;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value)}`;
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}

function fail(message: string): ShapeCheck {
  return { ok: false, message };
}
