import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { GateMessage, PermitRequest, TurnRequest } from './types.ts';

// The messages between deliveries and the gate workflows, defined once for both sides and the API.

/** Gate → delivery: a permit, a turn, or whom it waits behind. */
export const gateSignal = defineSignal<[GateMessage]>('gate');
/** API or delivery → limiter: a permit for one attempt (signalWithStart: it starts an idle limiter). */
export const permitSignal = defineSignal<[PermitRequest]>('permit');
/** API → sequencer: a delivery's place in its call, at acceptance. */
export const enqueueSignal = defineSignal<[TurnRequest]>('enqueue');
/** Delivery → sequencer: the delivery ended (delivered, failed, skipped or cancelled); the next may start. */
export const doneSignal = defineSignal<[TurnRequest]>('done');
/** Worker → delivery: a slot at its destination was handed to it (src/delivery/destination-slots.ts). */
export const slotSignal = defineSignal('slot');
/** What a gate holds, for operators and tests. */
export interface GateView {
  waiting: string[];
  current?: string | null;
  tokens?: number;
  perS?: number;
}
export const gateQuery = defineQuery<GateView>('gate');
