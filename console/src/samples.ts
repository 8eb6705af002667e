// Sample events for every catalog type, shaped like sandboxes/examples/sample-events.ts (what the
// VoiceOI platform sends). Used when GET /v1/event-types carries no sample of its own.

const base = { occurred_at: '2025-03-14T15:09:26.535Z' };
const call = { call_id: 'call_7f3e9a21', lead_id: '884', campaign_id: 'cmp_solar_q1' };

export const SAMPLE_DATA: Record<string, Record<string, unknown>> = {
  call_started: { ...call, direction: 'outbound', from: '+15550100200', to: '+15550142311', agent: { kind: 'ai', id: 'agt_ava', name: 'Ava' }, started_at: '2025-03-14T14:55:24.000Z' },
  voice_detected: { ...call, channel: 'caller', at_s: 2.4 },
  handover_started: { ...call, reason: 'Caller asked for a human about financing', to_agent: { kind: 'human', id: 'agt_maria', name: 'Maria' } },
  live_transfer_initiated: { ...call, target: { kind: 'queue', value: 'solar-closers' }, reason: 'Qualified lead, wants a quote today' },
  transfer_success: { ...call, target: { kind: 'queue', value: 'solar-closers' }, wait_s: 18 },
  qualification_threshold_met: { ...call, score: 0.86, threshold: 0.7, criteria: ['homeowner', 'south-facing roof', 'bill over $150'] },
  call_disposition_set: { ...call, disposition: 'qualified_callback', notes: 'Call back Thursday after 5 pm' },
  call_completed: {
    ...call,
    duration_s: 842.6,
    cost: { amount: 0.97, currency: 'USD' },
    sentiment: { label: 'positive', score: 0.71 },
    summary: 'Homeowner interested in a 6 kW system; south-west roof, no shade; bill ~$180/month. Wants a callback Thursday.',
    disposition: 'qualified_callback',
    recording_url: 'https://recordings.voiceoi.example/call_7f3e9a21.mp3',
  },
  transcript_completed: {
    ...call,
    transcript: [
      { speaker: 'agent', text: 'Hi, this is Ava calling from Brightline Solar about the quote you requested last week.', start_s: 0, end_s: 3.9 },
      { speaker: 'caller', text: 'Oh right, yes, I filled in the form on your website on Tuesday I think.', start_s: 4.2, end_s: 8.1 },
    ],
    summary: 'Quote follow-up; caller owns the property.',
    language: 'en',
  },
};

export function sampleEvent(type: string, fromCatalog?: unknown): Record<string, unknown> {
  if (fromCatalog && typeof fromCatalog === 'object') return fromCatalog as Record<string, unknown>;
  return { id: `evt_sample_${type}`, type, ...base, data: SAMPLE_DATA[type] ?? { call_id: 'call_7f3e9a21' } };
}
