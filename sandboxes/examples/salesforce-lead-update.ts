// Salesforce: update the Lead behind the call with its outcome (REST API, sObject PATCH).
// The destination URL is the org's instance URL, e.g. https://acme.my.salesforce.com, and the
// destination's connection supplies the OAuth2 bearer token.
import type { CallCompletedEvent, TransformContext, TransformResult } from 'voiceoi';

const STATUS_BY_DISPOSITION: Record<string, string> = {
  qualified_callback: 'Working - Contacted',
  sale: 'Closed - Converted',
  not_interested: 'Closed - Not Converted',
};

export default function transform(event: CallCompletedEvent, ctx: TransformContext): TransformResult {
  const { lead_id, duration_s, sentiment, summary, disposition, recording_url } = event.data;
  if (!lead_id) {
    ctx.log('no lead on call', event.data.call_id, '- nothing to update');
    return null;
  }
  return {
    method: 'PATCH',
    path: `/services/data/v60.0/sobjects/Lead/${encodeURIComponent(lead_id)}`,
    body: {
      Status: STATUS_BY_DISPOSITION[disposition] ?? 'Working - Contacted',
      VoiceOI_Last_Call_Id__c: event.data.call_id,
      VoiceOI_Last_Call_Minutes__c: Math.round(duration_s / 6) / 10,
      VoiceOI_Sentiment__c: sentiment.label,
      VoiceOI_Summary__c: summary.slice(0, 32_000), // long text area limit
      VoiceOI_Recording__c: recording_url ?? null,
    },
  };
}
