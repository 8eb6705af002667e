import type { AttemptInput } from '../../workflows/types.ts';
import type { Destination } from '../store/destinations.ts';
import type { MessageStore } from '../store/messages.ts';
import type { NotSent, PreparedRequest } from './prepare-request.ts';

/**
 * A pull destination's attempt sends nothing: prepareRequest signs the body as for a push, and this
 * appends it to the destination's stream as one message (src/store/messages.ts), once per delivery.
 * It has no url; its record names the stream instead.
 */
export const pullTarget = (dest: Destination): Destination => ({ ...dest, url: `pull:${dest.id}` });

/** The send stage of a pull destination: the delivery is `delivered` once its message is in the stream. */
export async function appendToStream(messages: Pick<MessageStore, 'append'> | undefined, input: AttemptInput, prepared: PreparedRequest): Promise<NotSent> {
  const request = prepared.record;
  if (!messages) return { verdict: 'retry', request, error: { code: 'stream_unavailable', message: 'this worker cannot write to streams' } };
  const h = prepared.request.headers;
  try {
    await messages.append({
      accountId: input.accountId,
      destinationId: input.destinationId,
      deliveryId: input.deliveryId,
      eventId: input.event.id,
      eventType: input.event.type,
      callId: input.event.data.call_id,
      headers: { 'webhook-id': h['webhook-id']!, 'webhook-timestamp': h['webhook-timestamp']!, 'webhook-signature': h['webhook-signature']! },
      body: prepared.request.body,
    });
    return { verdict: 'delivered', request };
  } catch (err) {
    // A busy database: the next attempt appends it (or finds it appended).
    return { verdict: 'retry', request, error: { code: 'stream_unavailable', message: `the message could not be stored: ${err instanceof Error ? err.message : String(err)}` } };
  }
}
