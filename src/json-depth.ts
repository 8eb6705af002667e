import type { FastifyInstance } from 'fastify';
import { AppError } from './errors.ts';

/**
 * The deepest nesting of objects and arrays a JSON body may have. Real call events nest a few
 * levels; a 100 000-level body parsed fine but then overflowed the stack in validation and in the
 * payload converter, which answered 503 "send it again" to a body that can never succeed.
 */
export const MAX_JSON_DEPTH = 64;

/**
 * The nesting depth of a JSON text, counted without parsing it and stopping as soon as `limit` is
 * passed (the answer is then `limit + 1`). Brackets inside strings do not count; malformed text gets
 * some number, and the parser that runs next reports what is wrong with it.
 */
export function jsonDepth(text: string, limit = Infinity): number {
  let depth = 0;
  let max = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      // Jump to the closing quote: one escaped by an odd run of backslashes does not close the string.
      // indexOf scans in native code, twice as fast as a loop here over a typical event body.
      for (;;) {
        i = text.indexOf('"', i + 1);
        if (i < 0) return max;
        let backslashes = 0;
        while (text.charCodeAt(i - 1 - backslashes) === 0x5c /* \ */) backslashes++;
        if (backslashes % 2 === 0) break;
      }
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (++depth > max) {
        max = depth;
        if (max > limit) return max;
      }
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      depth--;
    }
  }
  return max;
}

/**
 * Replaces Fastify's JSON body parser on every route with one that refuses a body nested deeper than
 * MAX_JSON_DEPTH before parsing it, so such a body never reaches a schema, a sandbox or Temporal.
 * Parsing itself stays Fastify's own (with its prototype-poisoning protection).
 */
export function registerJsonParser(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    const text = body as string;
    if (jsonDepth(text, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) {
      done(new AppError(400, 'json_too_deep', `The JSON body nests objects and arrays more than ${MAX_JSON_DEPTH} levels deep; flatten it`), undefined);
      return;
    }
    void parse(req, text, done);
  });
}
