import { statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyReply } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { projectRoot } from '../build/layout.ts';
import type { Config } from '../config.ts';
import { AppError } from '../errors.ts';

// The integrator console (console/, built by Vite into console/dist) is served by the API itself, so
// it needs no other origin: the CSP forbids every request that would leave this one.

export const CONSOLE_PATH = '/console';
export const defaultConsoleDir = join(projectRoot, 'console', 'dist');
export const consoleDirOf = (config: Pick<Config, 'VOICEOI_CONSOLE_DIR'>): string => resolve(config.VOICEOI_CONSOLE_DIR ?? defaultConsoleDir);

/** The pages this API serves (the console, and the API docs on the same origin) allow only this origin and no framing. */
export const PAGE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  // Monaco injects <style> elements at run time.
  "style-src 'self' 'unsafe-inline'",
  "worker-src 'self' blob:",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "object-src 'none'",
].join('; ');

/** The headers every page of this origin carries; `frame-ancestors` and X-Frame-Options (for older browsers) forbid framing. */
export function setPageSecurityHeaders(reply: FastifyReply): void {
  reply.header('content-security-policy', PAGE_CSP);
  reply.header('x-frame-options', 'DENY');
  reply.header('x-content-type-options', 'nosniff');
  reply.header('referrer-policy', 'same-origin');
}

/**
 * A path under /console for the browser to come back to, or undefined when `raw` is anything else:
 * never an absolute or scheme-relative URL (an open redirect), never a path that leaves /console.
 */
export function consoleReturnPath(raw: string): string | undefined {
  // Control characters and backslashes are read as slashes or stripped by some browsers.
  if (raw.length > 2048 || [...raw].some((c) => c <= '\u001f' || c === '\u007f' || c === '\\')) return undefined;
  if (!raw.startsWith('/') || raw.startsWith('//')) return undefined;
  const base = 'http://console.invalid';
  let u: URL;
  try {
    u = new URL(raw, base);
  } catch {
    return undefined;
  }
  if (u.origin !== base || (u.pathname !== CONSOLE_PATH && !u.pathname.startsWith(`${CONSOLE_PATH}/`))) return undefined;
  // The normalised form: dot segments resolved, so /console/../v1 was refused above.
  return `${u.pathname}${u.search}${u.hash}`;
}

/** `path` (from consoleReturnPath) with the outcome of a flow added to its query. */
export function consoleOutcome(path: string, outcome: Record<string, string>): string {
  const u = new URL(path, 'http://console.invalid');
  for (const [k, v] of Object.entries(outcome)) u.searchParams.set(k, v);
  return `${u.pathname}${u.search}${u.hash}`;
}

export const returnToQuery = z.strictObject({
  return_to: z
    .string()
    .optional()
    .refine((v) => v === undefined || consoleReturnPath(v) !== undefined, 'must be a path under /console (for example /console/connections), not a URL'),
});

const isFile = (p: string) => {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
};

export interface ConsoleRouteDeps {
  config: Pick<Config, 'VOICEOI_CONSOLE_DIR'>;
}

export const consoleRoutes = (deps: ConsoleRouteDeps): FastifyPluginAsyncZod => async (app) => {
  const dir = consoleDirOf(deps.config);
  // Only the sendFile decorator (path checks, ranges, ETags); the routes below choose the file.
  // preCompressed: the build writes <file>.br and <file>.gz beside each asset (console/vite.config.ts),
  // sent as they are to a browser that accepts them, with `vary: accept-encoding` on every answer.
  if (app.hasReplyDecorator('sendFile')) throw new Error('consoleRoutes registers @fastify/static itself (preCompressed): register it in its own scope');
  await app.register(fastifyStatic, { serve: false, preCompressed: true });

  app.addHook('onSend', async (_req, reply) => setPageSecurityHeaders(reply));

  const sendIndex = (reply: FastifyReply) => {
    // Checked per request: the build may finish after the API started.
    if (!isFile(resolve(dir, 'index.html'))) {
      throw new AppError(503, 'console_not_built', 'run npm run build:console');
    }
    reply.header('cache-control', 'no-cache');
    return reply.sendFile('index.html', dir, { cacheControl: false });
  };

  const config = { public: true };
  const schema = { hide: true };
  app.get(CONSOLE_PATH, { config, schema }, (_req, reply) => sendIndex(reply));
  app.get(`${CONSOLE_PATH}/*`, { config, schema }, (req, reply) => {
    const rel = (req.params as { '*': string })['*'];
    // A name with an extension is a file of the build (404 when absent); anything else is a
    // client-side route of the single-page app, answered with index.html.
    if (!/\.[A-Za-z0-9]+$/.test(rel)) return sendIndex(reply);
    if (!isFile(resolve(dir, 'index.html'))) throw new AppError(503, 'console_not_built', 'run npm run build:console');
    // Vite names everything under assets/ by its content hash: a new build has new names.
    reply.header('cache-control', rel.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'no-cache');
    return reply.sendFile(rel, dir, { cacheControl: false });
  });
};
