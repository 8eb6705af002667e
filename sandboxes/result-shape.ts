// The host's check of what a transform returned. The sandbox already produced plain JSON; this
// decides whether that JSON is a request we are willing to send, and says precisely why not.
import { HEADER_NAME, HEADER_VALUE, isReservedHeader, MAX_HEADER_NAME, MAX_HEADER_VALUE } from './reserved-headers.ts';
import type { NormalisedRequest } from './types.ts';

const METHODS = new Set(['POST', 'PUT', 'PATCH']);
const KEYS = new Set(['body', 'headers', 'method', 'path', 'query']);
const MAX_HEADERS = 50;
const MAX_PATH = 2048;
const MAX_QUERY_PARAMS = 100;
const DOT_SEGMENT = /^(\.|%2e){1,2}$/i;

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
    const seen = new Set<string>();
    for (const [name, headerValue] of entries) {
      const lower = name.toLowerCase();
      if (name.length > MAX_HEADER_NAME || !HEADER_NAME.test(name)) {
        return fail(`Header name ${JSON.stringify(name.slice(0, 100))} is not a valid HTTP header name (1-${MAX_HEADER_NAME} letters, digits and !#$%&'*+.^_\`|~-).`);
      }
      if (isReservedHeader(name)) {
        return fail(
          `Header ${JSON.stringify(name)} is set by VoiceOI Hooks itself, or is a claim about the caller (Origin, Cookie, Host, Forwarded, X-Forwarded-*), and cannot come from a transform.`,
        );
      }
      if (seen.has(lower)) return fail(`Header ${JSON.stringify(name)} appears twice (header names are case-insensitive).`);
      seen.add(lower);
      if (/[\r\n\0]/.test(headerValue)) return fail(`Header ${JSON.stringify(name)} contains a line break or NUL.`);
      if (!HEADER_VALUE.test(headerValue)) {
        return fail(`Header ${JSON.stringify(name)} contains a control character or a character above U+00FF; encode the value (e.g. percent- or base64-encode it).`);
      }
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
    // URL parsers read %2e as "." in a segment (WHATWG: ".%2E" is a double-dot segment), and many
    // servers decode %2F/%5C before routing: either way the request leaves the destination's path.
    if (/%(2f|5c)/i.test(path)) return fail('"path" cannot contain an encoded "/" or "\\" (%2F, %5C).');
    if (path.split('/').some((segment) => DOT_SEGMENT.test(segment))) return fail('"path" cannot contain "." or ".." segments, plain or percent-encoded (%2e).');
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
