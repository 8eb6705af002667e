import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { eventually, startStack, type Stack } from '../support/stack.ts';
import { startReceiver, type Receiver } from '../support/receiver.ts';
import { callCompleted } from '../support/events.ts';

/** The value of one series in a Prometheus text exposition, 0 when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const m = /^[^{ ]+(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const have = Object.fromEntries([...(m[1] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[2]);
  }
  return 0;
}

describe('GET /metrics', () => {
  let stack: Stack;
  let ok: Receiver;
  let broken: Receiver;
  let key: string;
  const run = randomBytes(4).toString('hex');

  before(async () => {
    stack = await startStack();
    ok = await startReceiver(() => ({ status: 200 }));
    broken = await startReceiver(() => ({ status: 502 }));
    key = (await stack.createAccount()).api_key;
  });
  after(async () => {
    await stack.stop();
    await ok.close();
    await broken.close();
  });

  test('counts match what was sent: events, deliveries by outcome, attempts by class, latency', async () => {
    const metrics = async () => {
      const r = await stack.call('GET', '/metrics');
      assert.equal(r.status, 200);
      assert.match(r.headers.get('content-type') ?? '', /^text\/plain/);
      return r.body as string;
    };
    const before = await metrics();
    assert.equal(sample(before, 'voiceoi_events_ingested_total', { event_type: 'call_completed' }), 0);

    const dOk = (await stack.call('POST', '/v1/destinations', { token: key, body: { url: ok.url, event_types: ['call_completed'] } })).body.id;
    await stack.call('POST', '/v1/destinations', { token: key, body: { url: broken.url, event_types: ['transfer_success'], retry_schedule_s: [0, 0.2] } });
    for (let i = 0; i < 3; i++) {
      assert.equal((await stack.call('POST', '/v1/events', { token: key, body: callCompleted(`m-${run}-${i}`) })).status, 202);
    }
    // A duplicate is the same event: not counted again.
    await stack.call('POST', '/v1/events', { token: key, body: callCompleted(`m-${run}-0`) });
    const transfer = { id: `t-${run}`, type: 'transfer_success', occurred_at: '2026-11-27T10:00:00Z', data: { call_id: 'c', target: { kind: 'queue', value: 'sales' }, wait_s: 3 } };
    assert.equal((await stack.call('POST', '/v1/events', { token: key, body: transfer })).status, 202);

    const text = await eventually(async () => {
      const t = await metrics();
      return sample(t, 'voiceoi_deliveries_total', { outcome: 'delivered', replay: 'false' }) === 3 &&
        sample(t, 'voiceoi_deliveries_total', { outcome: 'failed', replay: 'false' }) === 1
        ? t
        : undefined;
    }, 'deliveries counted');
    assert.equal(sample(text, 'voiceoi_events_ingested_total', { event_type: 'call_completed' }), 3);
    assert.equal(sample(text, 'voiceoi_events_ingested_total', { event_type: 'transfer_success' }), 1);
    assert.equal(sample(text, 'voiceoi_delivery_attempts_total', { class: '2xx' }), 3);
    assert.equal(sample(text, 'voiceoi_delivery_attempts_total', { class: '5xx' }), 2, 'two attempts of the 502 destination');
    assert.equal(sample(text, 'voiceoi_propagation_latency_seconds_count'), 3, 'latency observed for each 2xx, not for failures');
    assert.ok(sample(text, 'voiceoi_propagation_latency_seconds_sum') > 0);
    assert.equal(sample(text, 'voiceoi_propagation_latency_seconds_bucket', { le: '+Inf' }), 3);
    assert.match(text, /# TYPE voiceoi_transform_duration_seconds histogram/);
    assert.match(text, /process_cpu_seconds_total/);
    // No tenant in the labels.
    assert.ok(!text.includes(dOk) && !text.includes(run), 'no destination or event ids in metrics');

    // A replay is counted apart from first deliveries.
    const failedId = await eventually(async () => (await stack.call('GET', '/v1/deliveries?status=failed', { token: key })).body.items[0]?.id as string | undefined, 'failed delivery listed');
    const r = await stack.call('POST', `/v1/deliveries/${encodeURIComponent(failedId)}/retry`, { token: key });
    assert.equal(r.status, 202);
    await eventually(async () => sample(await metrics(), 'voiceoi_deliveries_total', { outcome: 'failed', replay: 'true' }) === 1, 'replay counted');
    const after = await metrics();
    assert.equal(sample(after, 'voiceoi_propagation_latency_seconds_count'), 3, 'a replay is not a propagation latency');
    assert.equal(sample(after, 'voiceoi_delivery_attempts_total', { class: '5xx' }), 4);
  });
});
