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

/** `call` for an answer the document does not describe yet (`Described` below): read as its fallback type. */
export const callUndescribed = <T>(request: Promise<ApiResult<unknown>>): Promise<T> => call(request) as Promise<T>;

// temporal_ui_url: added to the session's schema by the i23-times branch; once merged and regenerated this
// intersection adds nothing and goes.
export type Session = ResponseBody<'/v1/session', 'get'> & { temporal_ui_url?: string };
export type Destination = ResponseBody<'/v1/destinations/{id}', 'get'>;
export type SignatureScheme = Destination['signature_scheme'];
/** A destination subscribes to event type names, or `*`. */
export type Subscription = RequestBody<'/v1/destinations', 'post'>['event_types'][number];
/** An event type of the catalog (GET /v1/event-types lists them). */
export type EventTypeName = RequestBody<'/v1/destinations/{id}/test', 'post'>['event_type'];
export type Mapping = Described<ResponseBody<'/v1/mappings/{id}', 'get'>, ResponseBody<'/v1/mappings/{id}', 'put'> & { source?: string }>;
export type MappingLanguage = Mapping['language'];
export type MappingVersion = ResponseBody<'/v1/mappings/{id}/versions', 'get'>['items'][number];
export type MappingVersionSource = Described<ResponseBody<'/v1/mappings/{id}/versions/{version}', 'get'>, MappingVersion & { source: string }>;
export type TestResult = Described<ResponseBody<'/v1/mappings/test', 'post'>, { result: unknown; logs: string[]; duration_ms: number }>;
export type Connection = ResponseBody<'/v1/connections/{id}', 'get'>;
export type ConnectionKind = Connection['kind'];
export type ConnectionCreate = RequestBody<'/v1/connections', 'post'>;
export type ConnectionUpdate = RequestBody<'/v1/connections/{id}', 'patch'>;
export type CertificateInfo = NonNullable<Connection['tls']>['ca_certificates'][number];
export type OAuth2Provider = ResponseBody<'/v1/oauth2/providers', 'get'>['items'][number];
export type DeliverySummary = ResponseBody<'/v1/deliveries', 'get'>['items'][number];
export type DeliveryStatus = DeliverySummary['status'];
export type DeliveryQuery = NonNullable<paths['/v1/deliveries']['get']['parameters']['query']>;
export type Delivery = Described<ResponseBody<'/v1/deliveries/{id}', 'get'>, UndescribedDelivery>;
/** A delivery of an erased call: the summary kept at the erasure, no event data, bodies, headers or workflow. */
export type ErasedDelivery = Extract<Delivery, { erased: true }>;
export type FullDelivery = Exclude<Delivery, { erased: true }>;
export type Attempt = FullDelivery['attempts'][number];
export type EventTypeList = Described<ResponseBody<'/v1/event-types', 'get'>, { items: { type: string; description: string; schema: unknown }[] }>;
export type EventType = EventTypeList['items'][number];
/** An event envelope, as POST /v1/mappings/test takes it. */
export type EventEnvelope = RequestBody<'/v1/mappings/test', 'post'>['event'];
export type StreamMessage = ResponseBody<'/v1/destinations/{id}/messages', 'get'>['items'][number];

/**
 * The generated type of an answer, or, while /openapi.json does not describe that answer yet (the
 * routes marked below), the console's reading of it. Once the document describes an answer the
 * generated type wins by itself; its fallback is then dead and goes at the next regeneration.
 */
type Described<Generated, Fallback> = [Generated] extends [undefined] ? Fallback : Generated;

/** GET /v1/deliveries/:id, until the document describes it: a delivery, or an erased call's kept summary (src/erasure/erased-deliveries.ts). */
type UndescribedDelivery = UndescribedErasedDelivery | UndescribedFullDelivery;

interface UndescribedErasedDelivery {
  erased: true;
  id: string;
  status: string;
  reason?: string;
  event_id: string;
  event_type: string;
  destination_id: string;
  accepted_at?: string;
  delivered_at?: string;
  next_attempt_at?: string;
  attempts: { n: number; started_at: string; duration_ms: number; verdict?: string; status?: number; error_code?: string }[];
}

interface UndescribedFullDelivery {
  id: string;
  status: DeliveryStatus;
  reason?: string;
  event_id: string;
  event_type: string;
  destination_id: string;
  mapping_id?: string;
  mapping_version?: number;
  transform?: { mapping: { id: string; version: number } | null; request: unknown; duration_ms: number; logs?: string[]; error?: { code?: string; message: string; line?: number; column?: number } };
  attempts: {
    n: number;
    started_at: string;
    duration_ms: number;
    request?: { method: string; url: string; headers: Record<string, string>; body: string; body_bytes: number; body_truncated: boolean; body_sha256?: string; body_recorded?: false };
    response?: { status: number; headers: Record<string, string>; body: string; body_truncated: boolean; body_bytes?: number; body_sha256?: string; body_recorded?: false };
    error?: { code: string; message: string };
    verdict: string;
    retry_after_ms?: number;
  }[];
  next_attempt_at?: string;
  accepted_at?: string;
  delivered_at?: string;
  workflow: { id: string; run_id: string; status: string };
}

/** For the console's own links (paths of /console pages that carry ids). */
export const enc = encodeURIComponent;
