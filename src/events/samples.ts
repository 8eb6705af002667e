// The catalog's sample event of each type: what a test send delivers (POST /v1/destinations/:id/test).
// Keyed by EventType, so a new catalog type does not compile until it has a sample; the catalog's
// schemas accept every one of them (test/events/samples.test.ts).
import type { EventEnvelope, EventType } from './catalog.ts';

const call = { call_id: 'call_7f3e9a21', lead_id: '884', campaign_id: 'cmp_solar_q1' };

const sampleData: { [T in EventType]: Extract<EventEnvelope, { type: T }>['data'] } = {
  call_started: {
    ...call,
    direction: 'outbound',
    from: '+15550100200',
    to: '+15550142311',
    agent: { kind: 'ai', id: 'agt_ava', name: 'Ava' },
    started_at: '2025-03-14T14:55:24.000Z',
  },
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
  'hook.delivery_failed': {
    delivery_id: 'dlv_sample',
    destination_id: 'dst_sample',
    event_id: 'evt_sample',
    event_type: 'call_completed',
    reason: 'gave up after 13 attempts: HTTP 503',
    attempts: 13,
  },
  'hook.destination_disabled': { destination_id: 'dst_sample', reason: 'the destination answered 410 Gone at 2025-03-14T15:09:26.535Z' },
  'hook.connection_needs_reauth': { connection_id: 'con_sample', reason: 'the provider refused the refresh token (invalid_grant)' },
  'hook.connection_certificate_expiring': {
    connection_id: 'con_sample',
    field: 'client_certificate',
    subject: 'O=BPO Internal, CN=voiceoi-hooks',
    fingerprint: '3f1c0e9a7b2d4c6e8f0a1b3c5d7e9f1a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0e',
    not_after: '2025-03-24T15:09:26.000Z',
    days_left: 10,
  },
};

/** A sample event of `type` with the given id (a test send gives each its own). */
export function sampleEvent(type: EventType, id: string, occurredAt: string): EventEnvelope {
  return { id, type, occurred_at: occurredAt, data: structuredClone(sampleData[type]) } as EventEnvelope;
}
