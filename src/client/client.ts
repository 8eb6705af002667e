import createFetchClient, { mergeHeaders, type Client, type ClientOptions } from 'openapi-fetch';
import type { paths } from './schema.ts';

// The typed HTTP client: openapi-fetch over the generated `paths`, so every path, parameter, body
// and answer is checked against the document the API serves.

export type { paths };

/** The client: `GET`, `POST`, `PUT`, `PATCH`, `DELETE` on the API's paths, typed; `use()` adds middleware. */
export type VoiceoiClient = Client<paths>;

export interface VoiceoiClientOptions extends Omit<ClientOptions, 'baseUrl'> {
  /** Where the API is, e.g. `http://127.0.0.1:3000` (no `/v1`). */
  baseUrl: string;
  /** An account API key, sent as `Authorization: Bearer <key>`. */
  apiKey?: string;
  /** Any other bearer token (the admin token). Give `apiKey` or `token`, or neither to rely on a console session cookie. */
  token?: string;
}

export function createClient(options: VoiceoiClientOptions): VoiceoiClient {
  const { apiKey, token, headers, ...rest } = options;
  if (apiKey !== undefined && token !== undefined) throw new TypeError('createClient: give apiKey or token, not both');
  const bearer = apiKey ?? token;
  const auth = bearer !== undefined ? { authorization: `Bearer ${bearer}` } : {};
  return createFetchClient<paths>({ ...rest, headers: mergeHeaders(headers, auth) });
}

type Json<R> = R extends { content: { 'application/json': infer B } } ? B : R extends { content?: never } ? undefined : never;

/** The JSON body of a path's successful answer: `ResponseBody<'/v1/deliveries', 'get'>`. */
export type ResponseBody<P extends keyof paths, M extends keyof paths[P] & ('get' | 'post' | 'put' | 'patch' | 'delete')> =
  paths[P][M] extends { responses: infer R }
    ? Json<R[Extract<keyof R, 200 | 201 | 202 | 204>]>
    : never;

/** The JSON body a path's operation takes: `RequestBody<'/v1/destinations', 'post'>`. */
export type RequestBody<P extends keyof paths, M extends keyof paths[P] & ('post' | 'put' | 'patch' | 'delete')> =
  paths[P][M] extends { requestBody?: { content: { 'application/json': infer B } } } ? B : never;
