/** Realistic events of the catalog, for tests and benchmarks. */
export function callCompleted(id: string, overrides: Record<string, unknown> = {}) {
  return {
    id,
    type: 'call_completed' as const,
    occurred_at: '2026-11-27T10:00:00Z',
    data: {
      call_id: `call_${id}`,
      lead_id: '884',
      campaign_id: 'cmp_solar_q4',
      duration_s: 184,
      cost: { amount: 0.42, currency: 'USD' },
      sentiment: { label: 'positive' as const, score: 0.82 },
      summary: 'Customer confirmed interest in the solar plan and booked a site survey for Tuesday.',
      disposition: 'qualified',
      recording_url: 'https://recordings.example.com/call.mp3',
      ...overrides,
    },
  };
}
