import { createHash } from 'node:crypto';
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { callSequencerWorkflow } from '../../workflows/call-sequencer.ts';
import { enqueueSignal, permitSignal } from '../../workflows/gate-signals.ts';
import { rateLimiterWorkflow } from '../../workflows/rate-limiter.ts';
import type { DeliveryEvent, DeliveryGates, PermitRequest, TurnRequest } from '../../workflows/types.ts';
import type { Destination } from '../store/destinations.ts';

// The API's and the worker's side of the delivery controls' gate workflows (workflows/rate-limiter.ts,
// workflows/call-sequencer.ts): their ids and the signalWithStart that reaches each, running or not.

export const limiterId = (destinationId: string): string => `ratelimit:${destinationId}`;

/** The call id is tenant input: hashed, any length and any character make the same short, inert id. */
export const sequencerId = (destinationId: string, callId: string): string =>
  `order:${destinationId}:${createHash('sha256').update(callId).digest('hex').slice(0, 32)}`;

/** The gates a new delivery of `event` to `destination` waits on; undefined: none. */
export function gatesFor(destination: Pick<Destination, 'id' | 'rate_limit_per_s' | 'ordering'>, event: DeliveryEvent): DeliveryGates | undefined {
  const callId = event.data?.call_id;
  // Operational events (hook.*) belong to no call: ordering does not hold them.
  const sequencer = destination.ordering === 'per_call' && typeof callId === 'string' && callId !== '' ? sequencerId(destination.id, callId) : undefined;
  const perS = destination.rate_limit_per_s;
  const rateLimit = perS ? { limiter: limiterId(destination.id), perS } : undefined;
  return sequencer || rateLimit ? { ...(sequencer ? { sequencer } : {}), ...(rateLimit ? { rateLimit } : {}) } : undefined;
}

async function askPermit(client: Client, taskQueue: string, limiter: string, request: PermitRequest): Promise<void> {
  await client.workflow.signalWithStart(rateLimiterWorkflow, { workflowId: limiter, taskQueue, args: [], signal: permitSignal, signalArgs: [request] });
}

async function enqueueTurn(client: Client, taskQueue: string, sequencer: string, request: TurnRequest): Promise<void> {
  await client.workflow.signalWithStart(callSequencerWorkflow, { workflowId: sequencer, taskQueue, args: [], signal: enqueueSignal, signalArgs: [request] });
}

/**
 * Right after a delivery's workflow started (run `run`), its places at its gates, in acceptance
 * order: its call's turn, or (not ordered) its first attempt's permit; an ordered delivery asks for
 * its permits once it has the turn. Idempotent by run, so a producer's retry keeps the one place.
 */
export async function enqueueAtGates(client: Client, taskQueue: string, gates: DeliveryGates, deliveryId: string, run: string): Promise<void> {
  if (gates.sequencer) await enqueueTurn(client, taskQueue, gates.sequencer, { deliveryId, run });
  else if (gates.rateLimit) await askPermit(client, taskQueue, gates.rateLimit.limiter, { key: `${run}/1`, deliveryId, perS: gates.rateLimit.perS });
}

export interface GateActivities {
  requestPermit(input: { limiter: string; request: PermitRequest }): Promise<void>;
}

/** The permit requests a delivery makes itself (a workflow cannot signalWithStart), on its own task queue. */
export function createGateActivities(client: Client): GateActivities {
  return {
    async requestPermit({ limiter, request }) {
      await askPermit(client, Context.current().info.taskQueue, limiter, request);
    },
  };
}
