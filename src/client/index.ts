/**
 * `voiceoi-hooks/client`: the typed TypeScript client of the VoiceOI Hooks API.
 *
 * Its types (`./schema.ts`) are generated from the OpenAPI document the API serves at
 * `/openapi.json` (`npm run client:generate`; a test fails when they are stale), and its requests are
 * made by openapi-fetch, so every path, parameter, body and answer is checked by the compiler.
 *
 * - `createClient({ baseUrl, apiKey })`: `client.GET/POST/PUT/PATCH/DELETE(path, init)` resolve to
 *   `{ data, error, response }`; `unwrap(...)` gives the data or throws `VoiceoiApiError`
 *   (`status`, the server's stable `code`, `message`, the whole error `body`).
 * - `paginate(client, '/v1/deliveries', init)`: every item of a cursor-paged list.
 * - `streamMessages(client, destinationId, { after })`: a pull destination's live stream, typed.
 * - `verifyWebhook({ headers, body, secret | publicKey })`: for receivers, the Standard Webhooks
 *   signatures VoiceOI Hooks sends (HMAC `v1` and ed25519 `v1a`), with WebCrypto only.
 *
 * ```ts
 * import { createClient, paginate, unwrap } from 'voiceoi-hooks/client';
 * const client = createClient({ baseUrl: 'http://127.0.0.1:3000', apiKey: process.env.VOICEOI_API_KEY });
 * const dest = await unwrap(client.POST('/v1/destinations', { body: { url: 'https://crm.example/hook', event_types: ['call_completed'] } }));
 * for await (const d of paginate(client, '/v1/deliveries', { params: { query: { status: 'failed' } } })) console.log(d.id);
 * ```
 *
 * Runs wherever `fetch` and WebCrypto do: Node 20+, browsers, edge runtimes.
 */
export { createClient, type paths, type RequestBody, type ResponseBody, type VoiceoiClient, type VoiceoiClientOptions } from './client.ts';
export { unwrap, VoiceoiApiError, type ApiErrorBody, type ApiResult } from './errors.ts';
export { paginate, type PagedPath, type PageItem } from './paginate.ts';
export { streamMessages, type StreamEvent, type StreamMessage, type StreamOptions } from './stream.ts';
export { verifyWebhook, WebhookVerificationError, type VerifiedWebhook, type VerifyWebhookOptions, type WebhookHeaders, type WebhookRefusal } from './webhooks.ts';
export type { SseEvent } from './sse.ts';
