import { createClient, unwrap, VoiceoiApiError, type ApiResult, type paths, type RequestBody, type ResponseBody } from '../../src/client/index.ts';

export type { ResponseBody };

// The console's only way to the server: the public API on this origin through the typed client
// (src/client/, generated from /openapi.json), authenticated by the session cookie. State-changing
// requests carry the session's CSRF token (the cookie alone is refused). The API key itself is sent
// once, to POST /v1/session, and never stored. The types below are the API's answers as the document
// describes them: none is written by hand.

export { VoiceoiApiError };

let csrfToken: string | null = null;
/** Set from GET /v1/session; cleared on sign-out. Kept in memory only. */
export const setCsrfToken = (token: string | null) => {
  csrfToken = token;
};

const SAFE = new Set(['GET', 'HEAD']);

export const client = createClient({ baseUrl: window.location.origin, credentials: 'same-origin', headers: { accept: 'application/json' } });
client.use({
  onRequest({ request }) {
    if (!SAFE.has(request.method) && csrfToken) request.headers.set('x-csrf-token', csrfToken);
    return request;
  },
});

/** The data of an answer, or a VoiceoiApiError: the server's, or status 0 `network_error` when the API could not be reached. */
export async function call<T>(request: Promise<ApiResult<T>>): Promise<T> {
  let result: ApiResult<T>;
  try {
    result = await request;
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new VoiceoiApiError(0, { code: 'network_error', message: `The API could not be reached (${(err as Error).message})` });
  }
  return unwrap(result);
}

export type Session = ResponseBody<'/v1/session', 'get'>;
export type Destination = ResponseBody<'/v1/destinations/{id}', 'get'>;
export type SignatureScheme = Destination['signature_scheme'];
/** A destination subscribes to event type names, or `*`. */
export type Subscription = RequestBody<'/v1/destinations', 'post'>['event_types'][number];
/** An event type of the catalog (GET /v1/event-types lists them). */
export type EventTypeName = RequestBody<'/v1/destinations/{id}/test', 'post'>['event_type'];
export type Mapping = ResponseBody<'/v1/mappings/{id}', 'get'>;
export type MappingLanguage = Mapping['language'];
export type TestResult = ResponseBody<'/v1/mappings/test', 'post'>;
export type Connection = ResponseBody<'/v1/connections/{id}', 'get'>;
export type ConnectionKind = Connection['kind'];
export type ConnectionCreate = RequestBody<'/v1/connections', 'post'>;
export type ConnectionUpdate = RequestBody<'/v1/connections/{id}', 'patch'>;
export type CertificateInfo = NonNullable<Connection['tls']>['ca_certificates'][number];
export type OAuth2Provider = ResponseBody<'/v1/oauth2/providers', 'get'>['items'][number];
export type DeliverySummary = ResponseBody<'/v1/deliveries', 'get'>['items'][number];
export type DeliveryStatus = DeliverySummary['status'];
export type DeliveryQuery = NonNullable<paths['/v1/deliveries']['get']['parameters']['query']>;
export type Delivery = ResponseBody<'/v1/deliveries/{id}', 'get'>;
/** A delivery of an erased call: the summary kept at the erasure, no event data, bodies, headers or workflow. */
export type ErasedDelivery = Extract<Delivery, { erased: true }>;
export type FullDelivery = Exclude<Delivery, { erased: true }>;
export type Attempt = FullDelivery['attempts'][number];
/** An event envelope, as POST /v1/mappings/test takes it. */
export type EventEnvelope = RequestBody<'/v1/mappings/test', 'post'>['event'];
export type StreamMessage = ResponseBody<'/v1/destinations/{id}/messages', 'get'>['items'][number];

/** For the console's own links (paths of /console pages that carry ids). */
export const enc = encodeURIComponent;
