import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Worker } from '@temporalio/worker';
import { createResumeActivities } from '../../src/activities/resume.ts';
import { createResumeDrain } from '../../src/deliveries/resume.ts';
import { workflowsPath } from '../../src/runtime.ts';
import { connectWorker } from '../../src/temporal/connection.ts';
import { RESUME_STEP_TIMEOUT_MS, resumeDrainId } from '../../workflows/resume-drain.ts';
import { spawnApi } from '../support/product-process.ts';
import { callCompleted } from '../support/events.ts';
import { startReceiver, type Receiver } from '../support/receiver.ts';
import { eventually, startStack, type Stack } from '../support/stack.ts';

// The resume drain is a workflow per destination (workflows/resume-drain.ts), not a loop in the API
// process that was asked to resume: it outlives that process, and a resume from another API replica
// while it runs joins it instead of starting a second drain.

const HELD = 10;
const ANSWER_MS = 250;

describe('the resume drain of a paused destination', () => {
  let stack: Stack;
  const run = randomBytes(4).toString('hex');
  const receivers: Receiver[] = [];

  before(async () => {
    stack = await startStack();
  });
  after(async () => {
    await stack.stop();
    for (const r of receivers) await r.close();
  });

  /** A receiver that takes ANSWER_MS per request and records how many it had in flight at most. */
  const slowReceiver = async () => {
    let inFlight = 0;
    const seen = { maxInFlight: 0 };
    const r = await startReceiver(async () => {
      seen.maxInFlight = Math.max(seen.maxInFlight, ++inFlight);
      await new Promise((resolve) => setTimeout(resolve, ANSWER_MS));
      inFlight--;
      return { status: 200 };
    });
    receivers.push(r);
    return Object.assign(r, { seen });
  };

  /** A fresh account and destination, paused, holding HELD events; their ids in acceptance order. */
  const holdBacklog = async (url: string, label: string) => {
    const account = await stack.createAccount();
    const token = account.api_key;
    const dest = await stack.call('POST', '/v1/destinations', { token, body: { url, event_types: ['call_completed'] } });
    assert.equal(dest.status, 201);
    const id = dest.body.id as string;
    assert.equal((await stack.call('POST', `/v1/destinations/${id}/pause`, { token })).status, 200);
    const eventIds = Array.from({ length: HELD }, (_, i) => `${label}-${run}-${String(i).padStart(2, '0')}`);
    const deliveries: string[] = [];
    for (const e of eventIds) {
      const r = await stack.call('POST', '/v1/events', { token, body: callCompleted(e) });
      assert.equal(r.status, 202);
      deliveries.push(r.body.deliveries[0].id);
    }
    await eventually(async () => {
      const states = await Promise.all(deliveries.map(async (d) => (await stack.call('GET', `/v1/deliveries/${encodeURIComponent(d)}`, { token })).body));
      return states.every((s) => s.reason === 'destination paused');
    }, `all ${HELD} deliveries holding`, 30_000, 250);
    // The drain finds the backlog through the visibility listing, which lags the starts.
    const { listHeldDeliveries } = createResumeActivities(stack.client);
    await eventually(async () => (await listHeldDeliveries({ accountId: account.id, destinationId: id })).held.length === HELD, `all ${HELD} held deliveries listed`);
    return { token, accountId: account.id, id, eventIds, deliveries };
  };

  const resume = async (base: string, token: string, id: string) => {
    const res = await fetch(`${base}/v1/destinations/${id}/resume`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    const body = (await res.json()) as { paused: boolean };
    assert.equal(res.status, 200);
    assert.equal(body.paused, false);
  };

  test('goes on, in acceptance order, after the API process that was asked to resume is killed', async () => {
    const crm = await slowReceiver();
    const { token, id, eventIds } = await holdBacklog(crm.url, 'killed');
    const replica = await spawnApi(stack);
    try {
      await resume(replica.url, token, id);
      await crm.waitFor(1, 20_000);
    } finally {
      await replica.kill();
    }
    const atKill = crm.requests.length;
    assert.ok(atKill < HELD, `the drain was still running when its API died (${atKill} of ${HELD} had arrived)`);
    await crm.waitFor(HELD, 30_000);
    assert.deepEqual(crm.requests.map((r) => r.headers['webhook-id']), eventIds, 'every held event, once, in acceptance order');
    assert.equal(crm.seen.maxInFlight, 1, 'one delivery in flight at a time');
  });

  test('a resume through a second API replica while the drain runs joins it: one drain, one delivery in flight, the order kept', async () => {
    const crm = await slowReceiver();
    const { token, id, eventIds } = await holdBacklog(crm.url, 'joined');
    const replica = await spawnApi(stack);
    try {
      await Promise.all([resume(stack.url, token, id), resume(replica.url, token, id)]);
      await crm.waitFor(HELD, 30_000);
    } finally {
      await replica.stop();
    }
    assert.deepEqual(crm.requests.map((r) => r.headers['webhook-id']), eventIds);
    assert.equal(crm.seen.maxInFlight, 1, 'one delivery in flight at a time');
    const drains: string[] = [];
    for await (const wf of stack.client.workflow.list({ query: `WorkflowId = '${resumeDrainId(id)}'` })) drains.push(wf.runId);
    assert.equal(drains.length, 1, 'both resumes reached the same drain run');
  });

  test('a worker stopped mid-drain stops without waiting on the drain; the next worker carries it on, in order', async () => {
    const crm = await slowReceiver();
    const { token, id, eventIds } = await holdBacklog(crm.url, 'restarted');
    await resume(stack.url, token, id);
    await crm.waitFor(2, 20_000);
    const stopping = Date.now();
    await stack.stopWorker();
    // The drain step waits on a delivery this worker no longer moves: it is cancelled at the end of the
    // worker's shutdown grace time, not held until its stall timer.
    assert.ok(Date.now() - stopping < RESUME_STEP_TIMEOUT_MS - 5_000, `the worker stopped in ${Date.now() - stopping} ms`);
    const atStop = crm.requests.length;
    assert.ok(atStop < HELD, `the drain was still running when its worker stopped (${atStop} of ${HELD} had arrived)`);
    await stack.startWorker();
    await crm.waitFor(HELD, 30_000);
    assert.deepEqual(crm.requests.map((r) => r.headers['webhook-id']), eventIds, 'every held event, once, in acceptance order');
    assert.equal(crm.seen.maxInFlight, 1, 'one delivery in flight at a time');
  });

  test('a backlog longer than a page drains page after page, each from the last delivery of the one before, in order', async () => {
    const crm = await slowReceiver();
    const { accountId, id, eventIds } = await holdBacklog(crm.url, 'paged');
    // The product's drain on a queue of its own, served by a worker whose pages hold 3 deliveries:
    // 10 held take four pages, the way more than HELD_PAGE_SIZE would.
    const taskQueue = `resume-paging-${run}`;
    const connection = await connectWorker(stack.target);
    const worker = await Worker.create({
      connection,
      namespace: stack.target.namespace,
      taskQueue,
      ...(process.env.VOICEOI_TEST_BUNDLE ? { workflowBundle: { codePath: process.env.VOICEOI_TEST_BUNDLE } } : { workflowsPath }),
      activities: createResumeActivities(stack.client, { pageSize: 3 }),
      dataConverter: stack.core.dataConverter,
    });
    const running = worker.run();
    try {
      // What the resume route does, with the drain on that queue.
      assert.ok(await stack.core.store.destinations.update(accountId, id, { paused: false }));
      await createResumeDrain({ client: stack.client, taskQueue }).resumeHeld(accountId, id);
      const drain = stack.client.workflow.getHandle(resumeDrainId(id));
      await drain.result();
      const listed = ((await drain.fetchHistory()).events ?? []).flatMap((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? []);
      assert.equal(listed.filter((t) => t === 'listHeldDeliveries').length, 4, `pages listed: ${listed.join(' ')}`);
      assert.equal(listed.filter((t) => t === 'resumeHeldDelivery').length, HELD);
    } finally {
      worker.shutdown();
      await running;
      await connection.close();
    }
    await crm.waitFor(HELD, 10_000);
    assert.deepEqual(crm.requests.map((r) => r.headers['webhook-id']), eventIds, 'every held event, once, in acceptance order');
    assert.equal(crm.seen.maxInFlight, 1, 'one delivery in flight at a time');
  });

  test('lists the held backlog oldest first, and from a cursor only what follows it', async () => {
    const crm = await startReceiver();
    receivers.push(crm);
    const { token, accountId, id, deliveries } = await holdBacklog(crm.url, 'listed');
    const { listHeldDeliveries } = createResumeActivities(stack.client);
    const all = await eventually(async () => {
      const page = await listHeldDeliveries({ accountId, destinationId: id });
      return page.held.length === HELD ? page : undefined;
    }, 'visibility to list the backlog');
    assert.deepEqual(all.held.map((h) => h.id), deliveries);
    assert.equal(all.more, false);
    const rest = await listHeldDeliveries({ accountId, destinationId: id, after: all.held[3]! });
    assert.deepEqual(rest.held.map((h) => h.id), deliveries.slice(4));
    // Another account's scope sees none of it.
    assert.deepEqual((await listHeldDeliveries({ accountId: (await stack.createAccount()).id, destinationId: id })).held, []);
    await resume(stack.url, token, id);
    await crm.waitFor(HELD, 30_000);
    // The drain ends once the backlog is through (and the worker's stop does not wait on it).
    await stack.client.workflow.getHandle(resumeDrainId(id)).result();
  });
});
