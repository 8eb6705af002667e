// The API's error shape as a typed error. Every refusal the API answers is JSON
// `{ code, message, ...details }` (src/errors.ts); `unwrap` turns an openapi-fetch result into its
// data or throws this, so a caller handles API errors with one `catch`.

/** An error body as the API sends it: a stable `code`, a message for people, and details by code. */
export interface ApiErrorBody {
  code: string;
  message: string;
  [detail: string]: unknown;
}

/** A non-2xx answer of the API. `code` is the server's stable code (`http_<status>` if the body had none). */
export class VoiceoiApiError extends Error {
  override readonly name = 'VoiceoiApiError';
  readonly status: number;
  readonly code: string;
  readonly body: ApiErrorBody;

  constructor(status: number, body: unknown) {
    const given = body !== null && typeof body === 'object' ? (body as Record<string, unknown>) : {};
    const code = typeof given.code === 'string' ? given.code : `http_${status}`;
    const text = typeof body === 'string' && body !== '' ? body.slice(0, 300) : `the API answered ${status}`;
    const message = typeof given.message === 'string' ? given.message : text;
    super(message);
    this.status = status;
    this.code = code;
    this.body = { ...given, code, message };
  }
}

/** What every openapi-fetch call resolves to. */
export interface ApiResult<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/**
 * The data of a successful answer, or a thrown VoiceoiApiError carrying the server's code:
 * `const d = await unwrap(client.GET('/v1/deliveries/{id}', { params: { path: { id } } }))`.
 * A 204 answers `undefined`.
 */
export async function unwrap<T>(result: ApiResult<T> | Promise<ApiResult<T>>): Promise<T> {
  const { data, error, response } = await result;
  if (!response.ok) throw new VoiceoiApiError(response.status, error);
  return data as T;
}
