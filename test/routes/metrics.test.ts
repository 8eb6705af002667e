import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { eventually, startStack, type Stack } from '../support/stack.ts';
import { startReceiver, type Receiver } from '../support/receiver.ts';
import { callCompleted } from '../support/events.ts';
import { createMetrics, serveMetrics } from '../../src/metrics.ts';
import { createDestination, createMapping } from '../support/resources.ts';

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

    const mapping = await createMapping(stack, key, { name: 'crm', source: '{"lead": data.lead_id, "mins": data.duration_s / 60}' });
    const dOk = (await createDestination(stack, key, { url: ok.url, mapping_id: mapping.id })).id;
    await createDestination(stack, key, { url: broken.url, event_types: ['transfer_success'], retry_schedule_s: [0, 0.2] });
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
    assert.equal(sample(text, 'voiceoi_transform_duration_seconds_count', { language: 'jsonata' }), 3, 'one transform per mapped delivery');
    assert.equal(sample(text, 'voiceoi_transform_duration_seconds_count', { language: 'typescript' }), 0);
    assert.match(text, /process_cpu_seconds_total/);
    // No tenant in the labels.
    assert.ok(!text.includes(dOk) && !text.includes(run), 'no destination or event ids in metrics');

    // A replay is counted apart from first deliveries.
    // Listed closed: a failed delivery's run stays open a moment after it reads failed (it first emits
    // hook.delivery_failed), and retry refuses a run still open.
    const failedId = await eventually(async () => {
      const [item] = (await stack.call('GET', '/v1/deliveries?status=failed', { token: key })).body.items as { id: string; closed_at: string | null }[];
      return item?.closed_at ? item.id : undefined;
    }, 'failed delivery listed, its run closed');
    const r = await stack.call('POST', `/v1/deliveries/${encodeURIComponent(failedId)}/retry`, { token: key });
    assert.equal(r.status, 202);
    await eventually(async () => sample(await metrics(), 'voiceoi_deliveries_total', { outcome: 'failed', replay: 'true' }) === 1, 'replay counted');
    const after = await metrics();
    assert.equal(sample(after, 'voiceoi_propagation_latency_seconds_count'), 3, 'a replay is not a propagation latency');
    assert.equal(sample(after, 'voiceoi_delivery_attempts_total', { class: '5xx' }), 4);
  });
});

test('a worker-only process serves its own /metrics', async () => {
  const metrics = createMetrics({ defaultMetrics: false });
  metrics.attempted({ n: 1, started_at: new Date().toISOString(), duration_ms: 4, verdict: 'retry', error: { code: 'timeout', message: 'slow' } });
  metrics.attempted({ n: 1, started_at: new Date().toISOString(), duration_ms: 4, verdict: 'retry', error: { code: 'destination_paused', message: 'paused' } });
  const server = await serveMetrics(metrics, 0, '127.0.0.1');
  try {
    const res = await fetch(`http://127.0.0.1:${server.port}/metrics`);
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.equal(sample(text, 'voiceoi_delivery_attempts_total', { class: 'timeout' }), 1);
    assert.equal(sample(text, 'voiceoi_delivery_attempts_total', { class: 'not_sent' }), 0, 'a paused check is not an attempt');
    assert.equal((await fetch(`http://127.0.0.1:${server.port}/v1/events`)).status, 404);
  } finally {
    await server.close();
  }
});
