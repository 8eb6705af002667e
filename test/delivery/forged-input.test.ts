import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Client } from '@temporalio/client';
import { decodeFirst } from '../../src/temporal/raw-decode.ts';
import { deliveryWorkflow } from '../../workflows/delivery.ts';
import type { DeliveryInput, DeliveryState } from '../../workflows/types.ts';
import { callCompleted } from '../support/events.ts';
import { startReceiver, type Receiver } from '../support/receiver.ts';
import { eventually, settled, startStack, type Stack } from '../support/stack.ts';
import { createDestination, createMapping } from '../support/resources.ts';

// issue 10: whoever reaches the Temporal frontend (a destination aimed at its HTTP API, a neighbour on
// the network) can start `deliveryWorkflow` on the delivery task queue with any input. Delivery and
// destination ids are not secret (every webhook carries X-VoiceOI-Delivery), so the input can name
// another account's destination. The worker must act only on inputs the product made.
describe('the worker acts only on inputs the product made', () => {
  let stack: Stack;
  let victimReceiver: Receiver;
  let attackerReceiver: Receiver;
  let victim: { id: string; api_key: string; destination: string; mapping: string };
  let attacker: { id: string; api_key: string; destination: string; mapping: string };
  /** The input of a genuine delivery of the attacker's own: the shape the product writes. */
  let genuine: DeliveryInput;

  const setUp = async (receiver: Receiver) => {
    const account = await stack.createAccount();
    const dest = await createDestination(stack, account.api_key, { url: receiver.url });
    const mapping = await createMapping(stack, account.api_key, { name: 'm', source: '{"forged": true}' });
    return { ...account, destination: dest.id, mapping: mapping.id };
  };

  before(async () => {
    stack = await startStack();
    victimReceiver = await startReceiver();
    attackerReceiver = await startReceiver();
    victim = await setUp(victimReceiver);
    attacker = await setUp(attackerReceiver);
    const ingested = await stack.call('POST', '/v1/events', { token: attacker.api_key, body: callCompleted(`evt_${randomBytes(4).toString('hex')}`) });
    assert.equal(ingested.status, 202);
    const id = ingested.body.deliveries[0].id as string;
    assert.equal((await settled(stack, attacker.api_key, id)).status, 'delivered');
    const first = await stack.client.workflowService.getWorkflowExecutionHistory({ namespace: stack.target.namespace, execution: { workflowId: id }, maximumPageSize: 1 });
    const payloads = first.history!.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads;
    genuine = await decodeFirst<DeliveryInput>(stack.client.options.loadedDataConverter, payloads);
    assert.equal(genuine.accountId, attacker.id);
  });
  after(async () => {
    await stack.stop();
    await victimReceiver.close();
    await attackerReceiver.close();
  });

  const forgedId = () => `forged:${randomBytes(6).toString('hex')}`;
  const historyOf = async (workflowId: string) =>
    (await stack.connection.workflowService.getWorkflowExecutionHistory({ namespace: stack.target.namespace, execution: { workflowId } })).history!.events ?? [];

  test('a plaintext input started without the codec fails its workflow task with a clear error; the victim receives nothing', async () => {
    // What an attacker reaching the frontend sends: plain JSON, naming the victim's destination.
    const raw = new Client({ connection: stack.connection, namespace: stack.target.namespace });
    const deliveryId = forgedId();
    const input: DeliveryInput = {
      ...genuine,
      deliveryId,
      accountId: victim.id,
      destinationId: victim.destination,
      event: { ...genuine.event, id: 'evt_forged', account_id: victim.id, data: { call_id: 'c', summary: 'forged' } },
      mapping: null,
    };
    const handle = await raw.workflow.start(deliveryWorkflow, { workflowId: deliveryId, taskQueue: stack.taskQueue, args: [input] });
    try {
      const failure = await eventually(async () => {
        const failed = (await historyOf(deliveryId)).find((e) => e.workflowTaskFailedEventAttributes);
        return failed?.workflowTaskFailedEventAttributes?.failure?.message;
      }, 'the workflow task to fail');
      assert.match(failure, /not encrypted.*without the VoiceOI codec/);
      const events = await historyOf(deliveryId);
      assert.ok(!events.some((e) => e.activityTaskScheduledEventAttributes || e.markerRecordedEventAttributes), 'no activity ran');
      assert.equal((await handle.describe()).status.name, 'RUNNING', 'the workflow never completed (nor started a delivery)');
    } finally {
      // Already completed when the worker delivered the forged input (the breach this test is about).
      await handle.terminate('test clean-up').catch(() => undefined);
    }
    assert.equal(victimReceiver.requests.length, 0, 'the victim received the forged request');
  });

  const runEncrypted = async (input: DeliveryInput): Promise<DeliveryState> =>
    stack.client.workflow.execute(deliveryWorkflow, { workflowId: input.deliveryId, taskQueue: stack.taskQueue, args: [input] });

  test('an encrypted input whose account does not own the destination is a failed attempt (destination_not_in_account); nothing is sent', async () => {
    const state = await runEncrypted({ ...genuine, deliveryId: forgedId(), destinationId: victim.destination, mapping: null });
    assert.equal(state.status, 'failed');
    assert.equal(state.attempts.length, 1);
    assert.equal(state.attempts[0]!.verdict, 'failed');
    assert.equal(state.attempts[0]!.error?.code, 'destination_not_in_account');
    assert.match(state.attempts[0]!.error!.message, new RegExp(`${victim.destination} does not belong to account ${attacker.id}`));
    assert.equal(state.attempts[0]!.request, undefined, 'no request was built');
    // The event's own account must match too: an input mixing the victim's account and the attacker's event is refused.
    const mixed = await runEncrypted({ ...genuine, deliveryId: forgedId(), accountId: victim.id, destinationId: victim.destination, mapping: null });
    assert.equal(mixed.attempts[0]!.error?.code, 'destination_not_in_account');
    assert.equal(victimReceiver.requests.length, 0);
  });

  test('the transform step refuses a mapping or a destination of another account', async () => {
    const foreignMapping = await runEncrypted({ ...genuine, deliveryId: forgedId(), mapping: { id: victim.mapping, version: 1 } });
    assert.equal(foreignMapping.status, 'failed');
    assert.equal(foreignMapping.transform?.error?.code, 'mapping_not_in_account');
    assert.equal(foreignMapping.attempts.length, 0);
    const foreignDestination = await runEncrypted({ ...genuine, deliveryId: forgedId(), destinationId: victim.destination, mapping: { id: attacker.mapping, version: 1 } });
    assert.equal(foreignDestination.status, 'failed');
    assert.equal(foreignDestination.transform?.error?.code, 'destination_not_in_account');
    assert.equal(foreignDestination.attempts.length, 0);
    assert.equal(victimReceiver.requests.length, 0);
    // The attacker's own mapping on the attacker's own destination still delivers: the checks refuse only the foreign.
    const own = await runEncrypted({ ...genuine, deliveryId: forgedId(), mapping: { id: attacker.mapping, version: 1 } });
    assert.equal(own.status, 'delivered', JSON.stringify(own));
    assert.equal(JSON.parse(attackerReceiver.requests.at(-1)!.body).forged, true);
  });
});
