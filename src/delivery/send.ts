import { request } from 'undici';
import type { RecordedResponse } from '../../workflows/types.ts';
import type { TlsMaterial } from '../connections/tls.ts';
import type { DeliveryAgent } from './http-client.ts';
import type { HttpRequest } from './prepare-request.ts';
import { flatHeaders, readExcerpt } from './recorded.ts';

/**
 * Sends one prepared request through the account's guarded pool (the address check runs in its DNS
 * lookup) and reads the answer, its body up to the excerpt limit. Redirects are not followed. Throws
 * on network errors, timeouts and refused addresses: classify() reads those.
 */
export async function send(
  agent: DeliveryAgent,
  req: HttpRequest,
  opts: { allowedNetworks: readonly string[]; timeoutMs: number; tls?: TlsMaterial | null },
): Promise<RecordedResponse> {
  const res = await request(req.url, {
    method: req.method,
    headers: req.headers,
    body: req.body,
    dispatcher: agent.forAccount(opts.allowedNetworks, opts.tls),
    headersTimeout: opts.timeoutMs,
    bodyTimeout: opts.timeoutMs,
    signal: AbortSignal.timeout(opts.timeoutMs),
  });
  const headers = flatHeaders(res.headers);
  const body = await readExcerpt(res.body);
  return { status: res.statusCode, headers, body: body.body, body_truncated: body.truncated };
}
