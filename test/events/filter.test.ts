import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { EventEnvelope } from '../../src/events/catalog.ts';
import { createIngestService, type IngestService } from '../../src/ingest.ts';
import { startDeliveryStack, type DeliveryStack } from '../support/delivery-stack.ts';
import { callCompleted } from '../support/events.ts';
import { createDestination } from '../support/resources.ts';

// A filter that fails at run time lets the event through and reports the failure (src/events/filter.ts):
// each report is one run of the filter in the sandbox.
describe('destination filters run once per event, at its first sight', () => {
  let stack: DeliveryStack;
  let ingest: IngestService;
  const runs = new Map<string, number>();
  const run = randomBytes(4).toString('hex');
  const event = (n: string, data: Record<string, unknown> = {}) => callCompleted(`evt_f_${run}_${n}`, data) as EventEnvelope;

  before(async () => {
    stack = await startDeliveryStack();
    const { core } = stack;
    ingest = createIngestService({
      store: core.store,
      client: stack.client,
      taskQueue: stack.taskQueue,
      engine: core.engine,
      onFilterError: (destinationId) => runs.set(destinationId, (runs.get(destinationId) ?? 0) + 1),
    });
  });
  after(() => stack.stop());

  /** An account of its own with two filtered destinations: one whose filter always fails, one for long calls. */
  const account = async () => {
    const { id: accountId, api_key: token } = await stack.createAccount();
    const broken = await createDestination(stack, token, { url: `${stack.receiver.url}/broken`, filter: '$error("boom")' });
    const long = await createDestination(stack, token, { url: `${stack.receiver.url}/long`, filter: 'data.duration_s > 60' });
    return { accountId, broken: broken.id, long: long.id };
  };

  test('a duplicate, posted alone or in a batch, does not run the filters again and gets the first answer', async () => {
    const { accountId, broken, long } = await account();
    const first = await ingest.ingest(accountId, event('dup', { duration_s: 12 }));
    assert.deepEqual(first.deliveries.map((d) => d.destination_id), [broken], 'the broken filter let it through, the other filtered it out');
    assert.equal(runs.get(broken), 1);

    assert.deepEqual(await ingest.ingest(accountId, event('dup', { duration_s: 12 })), first);
    assert.equal(runs.get(broken), 1, 'the duplicate ran no filter');

    const outcomes = await ingest.ingestBatch([
      { accountId, envelope: event('dup', { duration_s: 12 }) },
      { accountId, envelope: event('new', { duration_s: 600 }) },
    ]);
    assert.deepEqual(outcomes[0], { ok: true, result: first });
    const fresh = outcomes[1]!;
    assert.ok(fresh.ok);
    assert.deepEqual(fresh.result.deliveries.map((d) => d.destination_id).sort(), [broken, long].sort());
    assert.equal(runs.get(broken), 2, 'only the new event of the batch ran the filters');
  });

  test('two concurrent first requests for one id answer the same fan-out, the one the claim recorded', async () => {
    const { accountId, broken, long } = await account();
    const [a, b] = await Promise.all([ingest.ingest(accountId, event('race')), ingest.ingest(accountId, event('race'))]);
    assert.deepEqual(a, b);
    assert.deepEqual(a.deliveries.map((d) => d.destination_id).sort(), [broken, long].sort());
    // Both may have run the filter before either claimed; never more than once each.
    assert.ok((runs.get(broken) ?? 0) <= 2, `${runs.get(broken)} runs`);
  });
});
