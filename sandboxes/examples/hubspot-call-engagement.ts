// HubSpot: log the call as a call engagement on the contact (CRM v3 objects API), with the talk
// time per speaker computed from the transcript when the platform includes it.
import type { TransformContext, TransformResult, VoiceOIEvent } from 'voiceoi';

interface Turn {
  speaker: string;
  start_s: number;
  end_s: number;
}

// HubSpot's association type id for call → contact.
const CALL_TO_CONTACT = 194;

export default async function transform(event: VoiceOIEvent, ctx: TransformContext): Promise<TransformResult> {
  switch (event.type) {
    case 'call_completed': {
      const d = event.data;
      // Some campaigns attach the transcript to call_completed too; it is not in the catalog, so the
      // mapping reads it explicitly rather than through a declared field.
      const extra = d as unknown as Record<string, unknown>;
      const turns = Array.isArray(extra.transcript) ? (extra.transcript as Turn[]) : [];
      const talk: Record<string, number> = {};
      for (const t of turns) talk[t.speaker] = (talk[t.speaker] ?? 0) + (t.end_s - t.start_s);
      const notes = [d.summary, `Sentiment: ${d.sentiment.label} (${d.sentiment.score})`, `Disposition: ${d.disposition}`];
      if (turns.length > 0) notes.push(`Agent talk time: ${Math.round(talk.agent ?? 0)} s of ${Math.round(d.duration_s)} s`);
      return {
        path: '/crm/v3/objects/calls',
        headers: { 'X-Mapping-Version': `${ctx.mapping.id}@${ctx.mapping.version}` },
        body: {
          properties: {
            hs_timestamp: event.occurred_at,
            hs_call_title: `VoiceOI call ${d.call_id}`,
            hs_call_body: notes.join('\n'),
            hs_call_duration: String(Math.round(d.duration_s * 1000)),
            hs_call_status: 'COMPLETED',
            hs_call_direction: 'OUTBOUND',
            hs_call_recording_url: d.recording_url,
          },
          associations: d.lead_id
            ? [{ to: { id: d.lead_id }, types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: CALL_TO_CONTACT }] }]
            : [],
        },
      };
    }
    case 'qualification_threshold_met':
      // Qualified mid-call: flag the contact right away, the engagement follows at the end.
      if (!event.data.lead_id) return null;
      return {
        method: 'PATCH',
        path: `/crm/v3/objects/contacts/${encodeURIComponent(event.data.lead_id)}`,
        body: { properties: { hs_lead_status: 'OPEN_DEAL', voiceoi_score: event.data.score } },
      };
    default:
      return null;
  }
}
