import type { MappingLanguage } from '../api.ts';

export const TEMPLATES: Record<MappingLanguage, string> = {
  typescript: `import type { CallCompletedEvent, TransformContext, TransformResult, VoiceOIEvent } from 'voiceoi';

// Called once per delivery: return the request to send, or null to skip this event.
export default function transform(event: VoiceOIEvent, ctx: TransformContext): TransformResult {
  if (event.type !== 'call_completed') return null;
  const e: CallCompletedEvent = event;
  ctx.log('shaping call', e.data.call_id);
  return {
    body: {
      lead: e.data.lead_id,
      summary: e.data.summary,
      minutes: Math.round(e.data.duration_s / 6) / 10,
    },
  };
}
`,
  jsonata: `/* Evaluates to the body to send; nothing (undefined) skips the delivery. */
type = "call_completed" ? {
  "lead": data.lead_id,
  "call": data.call_id,
  "minutes": $round(data.duration_s / 60, 1),
  "sentiment": data.sentiment.label
}
`,
};
