// Events for the examples, their tests and the benchmark: shaped like what the VoiceOI platform
// sends (src/events/catalog.ts), with believable values.

const phrases = [
  'Hi, this is Ava calling from Brightline Solar about the quote you requested last week.',
  'Oh right, yes, I filled in the form on your website on Tuesday I think.',
  'Great. Do you own the property, and is the roof facing south or west?',
  'We own it, and the back of the house faces south-west, there is no shade at all.',
  'Perfect. Your average electricity bill, roughly how much is it per month?',
  'Around one hundred and eighty dollars in summer, a bit less in winter.',
];

export function transcriptTurns(count: number) {
  return Array.from({ length: count }, (_, i) => ({
    speaker: i % 2 === 0 ? 'agent' : 'caller',
    text: phrases[i % phrases.length]!,
    start_s: Math.round(i * 4.2 * 10) / 10,
    end_s: Math.round((i * 4.2 + 3.9) * 10) / 10,
  }));
}

/** The post-call payload; `transcriptTurns` > 0 adds the full transcript as an extra data field. */
export function callCompleted(overrides: { duration_s?: number; lead_id?: string; transcriptTurns?: number } = {}) {
  const { duration_s = 842.6, lead_id = '884', transcriptTurns: turns = 0 } = overrides;
  return {
    id: 'evt_01HZX3M4Q8F5R2T7V9W0Y1Z2A3',
    type: 'call_completed' as const,
    occurred_at: '2025-03-14T15:09:26.535Z',
    account_id: 'acc_bpo_northwind',
    data: {
      call_id: 'call_7f3e9a21',
      lead_id,
      campaign_id: 'cmp_solar_q1',
      duration_s,
      cost: { amount: 0.97, currency: 'USD' },
      sentiment: { label: 'positive' as const, score: 0.71 },
      summary: 'Homeowner interested in a 6 kW system; south-west roof, no shade; bill ~$180/month. Wants a callback Thursday.',
      disposition: 'qualified_callback',
      recording_url: 'https://recordings.voiceoi.example/call_7f3e9a21.mp3',
      ...(turns > 0 ? { transcript: transcriptTurns(turns) } : {}),
    },
  };
}

export function callStarted() {
  return {
    id: 'evt_01HZX3KZ0000000000000000AA',
    type: 'call_started' as const,
    occurred_at: '2025-03-14T14:55:24.000Z',
    account_id: 'acc_bpo_northwind',
    data: {
      call_id: 'call_7f3e9a21',
      lead_id: '884',
      campaign_id: 'cmp_solar_q1',
      direction: 'outbound' as const,
      from: '+15550100200',
      to: '+15550142311',
      agent: { kind: 'ai' as const, id: 'agt_ava', name: 'Ava' },
      started_at: '2025-03-14T14:55:24.000Z',
    },
  };
}

/** The account the samples belong to (the sandbox queues runs per account). */
export const SAMPLE_ACCOUNT = 'acc_bpo_northwind';

export const sampleContext = {
  destination: { id: 'dst_crm', url: 'https://crm.example.com/hooks' },
  delivery: { id: 'dlv_01HZX3M4QA', attempt: 1 },
  mapping: { id: 'map_example', version: 1 },
};
