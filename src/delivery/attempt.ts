import { attemptTimeoutMs } from '../../workflows/attempt-limits.ts';
import { GRANT_AHEAD_MS } from '../../workflows/rate-limiter.ts';
import type { AttemptInput, AttemptRecord } from '../../workflows/types.ts';
import type { TlsMaterial } from '../connections/tls.ts';
import type { ConfigCheck } from '../store/config-cache.ts';
import type { AttemptView, DestinationStore } from '../store/destinations.ts';
import type { MessageStore } from '../store/messages.ts';
import { classify, classifyCredentialsError } from './classify.ts';
import { refuseLiteral, type DeliveryAgent } from './http-client.ts';
import { inputAccount } from './input-account.ts';
import type { NetworkPolicy } from './network-policy.ts';
import { prepareRequest, withCredentials, type PreparedRequest } from './prepare-request.ts';
import type { SlotGuard } from './destination-slots.ts';
import { appendToStream, pullTarget } from './pull.ts';
import { digestBodies } from './body-digest.ts';
import { boundRecord } from './recorded.ts';
import { send } from './send.ts';

/** Applies a destination's connection (issue: credentials). Header values it names are secret. */
export interface CredentialProvider {
  headersFor(
    connectionId: string,
    accountId: string,
    /**
     * allowedNetworks: the account's operator-opened networks, for a token URL's network check.
     * check: the attempt's config check (src/store/config-cache.ts), so the connection is read as of it.
     */
    opts?: { forceRefresh?: boolean; allowedNetworks?: readonly string[]; check?: ConfigCheck },
  ): Promise<{ headers: Record<string, string>; oauth2: boolean; tls?: TlsMaterial | null }>;
}

export interface AttemptDeps {
  destinations: DestinationStore;
  agent: DeliveryAgent;
  policy: NetworkPolicy;
  version: string;
  credentials?: CredentialProvider;
  /** Pull destinations' streams (src/delivery/pull.ts). */
  messages?: Pick<MessageStore, 'append'>;
  onOutcome?: (record: AttemptRecord, ctx: { destinationId: string; acceptedAt?: string }) => void;
  /** max_in_flight (src/delivery/destination-slots.ts); absent, attempts are not bounded (tests of the attempt alone). */
  slots?: SlotGuard;
  /** Whether the delivery's call was erased (src/store/calls.ts isErased): then nothing is sent. */
  erased?: (deliveryId: string) => Promise<boolean>;
}

/**
 * One HTTP attempt of one delivery, in stages: look the destination up, prepareRequest (checks, signing,
 * the redacted record), credentials, send, classify. What the outcome does to the destination (410
 * Gone, the failing streak) is the next step, destination-health.ts. The record it answers is bounded
 * (boundRecord).
 */
export async function performAttempt(
  deps: AttemptDeps,
  input: AttemptInput,
  /** sendHere: asked once the attempt holds its slot; false sends it back unsent (`not_local`), the slot kept for the ordinary activity that follows. */
  opts: { sendHere?: () => boolean } = {},
): Promise<AttemptRecord> {
  // A spread rate-limit permit (workflows/rate-limiter.ts) names the moment this attempt may send; the
  // limiter grants at most GRANT_AHEAD_MS ahead, so the wait is short and bounded here too.
  const early = input.sendAt === undefined ? 0 : Math.min(input.sendAt - Date.now(), 2 * GRANT_AHEAD_MS);
  if (early > 0) await new Promise((r) => setTimeout(r, early));
  const startedAt = new Date();
  const t0 = performance.now();
  // The record's number and times, read when it ends: a sent attempt's and a held one's alike.
  const ended = () => ({ n: input.attempt, started_at: startedAt.toISOString(), duration_ms: Math.round((performance.now() - t0) * 10) / 10, finished_at: new Date().toISOString() });
  // Every stage ends here, so every record is bounded exactly once, as it leaves the attempt for history.
  let digestOnly: { sentBody?: string } | undefined;
  const finish = (outcome: Omit<AttemptRecord, 'n' | 'started_at' | 'duration_ms'>): AttemptRecord => {
    const rest = digestOnly ? digestBodies(outcome, digestOnly.sentBody) : outcome;
    const record = boundRecord({ ...ended(), ...rest });
    deps.onOutcome?.(record, { destinationId: input.destinationId });
    return record;
  };

  // The input's account scopes the cached read; prepareRequest still judges whose destination it is.
  const found = await deps.destinations.forAttempt(inputAccount(input), input.destinationId, startedAt);
  if (!found) return finish({ verdict: 'cancelled', error: { code: 'destination_deleted', message: 'the destination was deleted' } });
  const { destination: dest, allowedNetworks } = found;
  if (!dest.record_bodies) digestOnly = {};

  const pull = dest.mode === 'pull';
  const prepared = prepareRequest(pull ? pullTarget(dest) : dest, input, found.signingSecrets, { version: deps.version, startedAt });
  if ('notSent' in prepared) return finish(prepared.notSent);
  if (digestOnly) digestOnly.sentBody = prepared.request.body;
  if (pull) {
    // A pull message is the call's data too: an erased call's delivery appends nothing.
    if (await deps.erased?.(input.deliveryId)) return finish({ verdict: 'cancelled', error: { code: 'erased', message: 'the call was erased' } });
    return finish(await appendToStream(deps.messages, input, prepared));
  }

  const refused = refuseLiteral(deps.policy, prepared.request.url, allowedNetworks);
  if (refused) return finish({ verdict: 'failed', request: prepared.record, error: { code: 'address_refused', message: refused } });

  // Not attempts (the workflow drops them and makes the attempt again), so not counted as ones either.
  const held = (hold: NonNullable<AttemptRecord['hold']>): AttemptRecord => ({ ...ended(), verdict: 'retry', hold });
  // The bound applies to what is about to be sent: a paused, refused or misconfigured attempt holds no slot.
  if (input.slot && deps.slots) {
    const slot = await deps.slots.acquire({ destinationId: dest.id, deliveryId: input.deliveryId, accountId: dest.account_id, acceptedAt: input.slot.acceptedAt, max: dest.max_in_flight, leaseMs: attemptTimeoutMs(dest) });
    if (!slot.granted) return held({ max_in_flight: slot.max });
    // Its lease stays: the ordinary activity that follows finds it its own.
    if (opts.sendHere && !opts.sendHere()) return held('not_local');
    try {
      return await sendPrepared(deps, input, dest, prepared, found, finish);
    } finally {
      await deps.slots.release(dest.id, input.deliveryId);
    }
  }
  if (opts.sendHere && !opts.sendHere()) return held('not_local');
  return sendPrepared(deps, input, dest, prepared, found, finish);
}

/** Credentials, send (a 401 with OAuth2 refreshes once), classify. */
async function sendPrepared(
  deps: AttemptDeps,
  input: AttemptInput,
  dest: AttemptView['destination'],
  prepared: PreparedRequest,
  { allowedNetworks, check }: Pick<AttemptView & { check: ConfigCheck }, 'allowedNetworks' | 'check'>,
  finish: (rest: Omit<AttemptRecord, 'n' | 'started_at' | 'duration_ms'>) => AttemptRecord,
): Promise<AttemptRecord> {
  let current: PreparedRequest = prepared;
  let oauth2 = false;
  let tls: TlsMaterial | null | undefined;
  const applyCredentials = async (forceRefresh: boolean) => {
    if (!dest.connection_id || !deps.credentials) return;
    const accountId = dest.account_id; // prepareRequest checked it is the input's account
    const creds = await deps.credentials.headersFor(dest.connection_id, accountId, { forceRefresh, allowedNetworks, check });
    oauth2 = creds.oauth2;
    tls = creds.tls;
    current = withCredentials(prepared, creds.headers);
  };
  try {
    await applyCredentials(false);
  } catch (err) {
    return finish({ ...classifyCredentialsError(err), request: current.record });
  }

  // Last thing before the request leaves: an erasure answered after this read has nothing to stop.
  if (await deps.erased?.(input.deliveryId)) return finish({ verdict: 'cancelled', error: { code: 'erased', message: 'the call was erased' } });

  const sendCurrent = () => send(deps.agent, current.request, { allowedNetworks, timeoutMs: dest.timeout_ms, tls });
  try {
    let response = await sendCurrent();
    if (response.status === 401 && oauth2) {
      // The token may have been revoked early: refresh once and try again within this attempt.
      await applyCredentials(true);
      response = await sendCurrent();
    }
    const { verdict, retry_after_ms, error } = classify({ response });
    return finish({ verdict, request: current.record, response, retry_after_ms, error });
  } catch (err) {
    return finish({ ...classify({ error: err }), request: current.record });
  }
}
