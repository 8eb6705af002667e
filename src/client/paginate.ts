import type { MaybeOptionalInit } from 'openapi-fetch';
import type { paths, VoiceoiClient } from './client.ts';
import { unwrap } from './errors.ts';

// Cursor paging: a list answers `{ items, next_cursor }` and takes the cursor back as `cursor`
// (deliveries, mapping versions) or, on a pull destination's messages, as `after`. The iterator
// follows it until the list says there is no more.

type Page = { items: unknown[]; next_cursor: string | null };
type PageOf<P extends keyof paths> = paths[P] extends { get: { responses: { 200: { content: { 'application/json': infer B } } } } } ? B : never;

/** The GET paths that answer a page and take a cursor back. */
export type PagedPath = {
  [P in keyof paths]: PageOf<P> extends Page
    ? paths[P] extends { get: { parameters: { query?: { cursor?: string } | { after?: string } } } }
      ? P
      : never
    : never;
}[keyof paths];

/** One item of a paged path's list. */
export type PageItem<P extends PagedPath> = PageOf<P> extends { items: (infer I)[] } ? I : never;

/** A pull destination's messages resume `after` the last cursor; every other list takes `cursor`. */
const AFTER_PAGED: ReadonlySet<string> = new Set<PagedPath>(['/v1/destinations/{id}/messages']);

/**
 * Every item of a list, page after page, with the filters of `init` kept on each request; an API
 * error throws VoiceoiApiError. Stop early by leaving the loop.
 *
 * `for await (const d of paginate(client, '/v1/deliveries', { params: { query: { status: 'failed' } } }))`
 */
export async function* paginate<P extends PagedPath>(
  client: VoiceoiClient,
  path: P,
  init?: MaybeOptionalInit<paths[P], 'get'>,
): AsyncGenerator<PageItem<P>, void, undefined> {
  const param = AFTER_PAGED.has(path) ? 'after' : 'cursor';
  const given = (init ?? {}) as { params?: { query?: Record<string, unknown> } };
  let cursor = given.params?.query?.[param] as string | undefined;
  for (;;) {
    const request = { ...given, params: { ...given.params, query: { ...given.params?.query, ...(cursor !== undefined ? { [param]: cursor } : {}) } } };
    // The generic path defeats openapi-fetch's overloads; the page type is asserted by PagedPath.
    const page = (await unwrap((client.GET as (p: string, i: unknown) => Promise<{ data?: Page; error?: unknown; response: Response }>)(path, request))) as Page;
    for (const item of page.items) yield item as PageItem<P>;
    // A messages page answers the cursor it was given when nothing is newer: the end of what is kept.
    if (page.next_cursor === null || page.items.length === 0 || page.next_cursor === cursor) return;
    cursor = page.next_cursor;
  }
}
