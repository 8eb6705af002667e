import { createHash } from 'node:crypto';
import type { AttemptRecord } from '../../workflows/types.ts';

type Outcome = Omit<AttemptRecord, 'n' | 'started_at' | 'duration_ms'>;

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

/**
 * A destination with `record_bodies: false` (card data, PCI DSS): the attempt record keeps each
 * body's size and SHA-256 instead of the body, so a receiver's copy can still be matched to an
 * attempt. The request's digest covers the whole body sent; the response's covers the bytes read,
 * which stop at the excerpt limit (`body_truncated` says so).
 */
export function digestBodies(outcome: Outcome, sentBody: string | undefined): Outcome {
  const { request, response } = outcome;
  return {
    ...outcome,
    ...(request ? { request: { ...request, body: '', body_sha256: sha256(sentBody ?? request.body), body_recorded: false } } : {}),
    ...(response ? { response: { ...response, body: '', body_bytes: Buffer.byteLength(response.body, 'utf8'), body_sha256: sha256(response.body), body_recorded: false } } : {}),
  };
}
