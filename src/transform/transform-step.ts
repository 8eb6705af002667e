import { ApplicationFailure } from '@temporalio/common';
import { NOT_RUN_CODES, type TransformEngine } from '../../sandboxes/types.ts';
import { SANDBOX_BUSY_FAILURE } from '../../workflows/types.ts';
import { untransformed, type DeliveryEvent, type TransformOutcome } from '../../workflows/types.ts';
import type { DestinationStore } from '../store/destinations.ts';
import type { MappingStore } from '../store/mappings.ts';
import { inputAccount, ownedByInputAccount } from '../delivery/input-account.ts';

export interface TransformInput {
  /** The delivery's account: the mapping and the destination must be its own. */
  accountId: string;
  destinationId: string;
  deliveryId: string;
  event: DeliveryEvent;
  /** Pinned when the delivery started; null/absent: no mapping, the envelope is sent as is. */
  mapping?: { id: string; version: number } | null;
}

/**
 * The transform step of a delivery: runs the pinned mapping version in the sandbox. A failing script
 * is an outcome (recorded in history, delivery failed), never an activity error to retry.
 */
export function createTransformStep(deps: { engine: TransformEngine; mappings: MappingStore; destinations: DestinationStore; onDuration?: (ms: number, language: string) => void }) {
  return async function transform(input: TransformInput): Promise<TransformOutcome> {
    if (!input.mapping) return untransformed(input.event);
    const pinned = input.mapping;
    const accountId = inputAccount(input);
    const version = await deps.mappings.versionFor(accountId, pinned.id, pinned.version);
    if (!version) {
      return { mapping: pinned, request: null, duration_ms: 0, error: { code: 'mapping_not_found', message: `mapping ${pinned.id} version ${pinned.version} no longer exists` } };
    }
    if (!ownedByInputAccount(input, version.mapping.account_id)) {
      return { mapping: pinned, request: null, duration_ms: 0, error: { code: 'mapping_not_in_account', message: `mapping ${pinned.id} does not belong to account ${accountId}` } };
    }
    // Read under the mapping's check: one version read per transform.
    const destination = (await deps.destinations.forAttempt(version.check, input.destinationId, new Date()))?.destination;
    if (destination && destination.account_id !== accountId) {
      return { mapping: pinned, request: null, duration_ms: 0, error: { code: 'destination_not_in_account', message: `destination ${destination.id} does not belong to account ${accountId}` } };
    }
    const out = await deps.engine.run({
      accountId,
      key: `${pinned.id}@${pinned.version}`,
      language: version.mapping.language,
      source: version.source,
      event: input.event,
      ctx: {
        destination: { id: input.destinationId, url: destination?.url ?? '' },
        delivery: { id: input.deliveryId, attempt: 1 },
        mapping: pinned,
      },
      limits: { timeoutMs: version.mapping.timeout_ms ?? undefined, memoryMb: version.mapping.memory_mb ?? undefined },
    });
    deps.onDuration?.(out.duration_ms, version.mapping.language);
    if (!out.ok) {
      const { code, message, line, column } = out.error;
      // Infrastructure trouble is retried by the activity policy. A run that never started (this
      // account's share of the sandbox full, the engine closing) is typed, so that the workflow keeps
      // waiting for it past those retries: load is never a verdict on the delivery.
      if (NOT_RUN_CODES.has(code)) throw ApplicationFailure.retryable(`transform could not run (${code}): ${message}`, SANDBOX_BUSY_FAILURE);
      if (code === 'sandbox_crashed') throw new Error(`transform sandbox unavailable (${code}): ${message}`);
      return { mapping: pinned, request: null, duration_ms: out.duration_ms, logs: out.logs, error: { code, message, line, column } };
    }
    return { mapping: pinned, request: out.result, duration_ms: out.duration_ms, logs: out.logs.length ? out.logs : undefined };
  };
}
