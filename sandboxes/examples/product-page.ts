// The example on the product page: forward the end of every call to a BPO's lead tracker.
import type { VoiceOIEvent, TransformContext, TransformResult } from 'voiceoi';

export default function transform(event: VoiceOIEvent, ctx: TransformContext): TransformResult {
  if (event.type !== 'call_completed') return null; // other events: skip
  ctx.log('call completed for lead', event.data.lead_id);
  return { body: { event: event.type, lead_id: event.data.lead_id } };
}
