import type { AttemptInput, AttemptRecord } from '../../workflows/types.ts';
import type { ConfigCheck } from '../store/config-cache.ts';
import type { DestinationStore } from '../store/destinations.ts';
import { classify, classifyCredentialsError } from './classify.ts';
import { refuseLiteral, type DeliveryAgent } from './http-client.ts';
import { inputAccount } from './input-account.ts';
import type { NetworkPolicy } from './network-policy.ts';
import { prepareRequest, withCredentials, type PreparedRequest } from './prepare-request.ts';
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
  ): Promise<{ headers: Record<string, string>; oauth2: boolean }>;
}

export interface AttemptDeps {
  destinations: DestinationStore;
  agent: DeliveryAgent;
  policy: NetworkPolicy;
  version: string;
  credentials?: CredentialProvider;
  onOutcome?: (record: AttemptRecord, ctx: { destinationId: string; acceptedAt?: string }) => void;
  /** Whether the delivery's call was erased (src/store/calls.ts isErased): then nothing is sent. */
  erased?: (deliveryId: string) => Promise<boolean>;
}

/**
 * One HTTP attempt of one delivery, in stages: look the destination up, prepareRequest (checks, signing,
 * the redacted record), credentials, send, classify. What the outcome does to the destination (410
 * Gone, the failing streak) is the next step, destination-health.ts. The record it answers is bounded
 * (boundRecord).
 */
export async function performAttempt(deps: AttemptDeps, input: AttemptInput): Promise<AttemptRecord> {
  const startedAt = new Date();
  const t0 = performance.now();
  // Every stage ends here, so every record is bounded exactly once, as it leaves the attempt for history.
  let digestOnly: { sentBody?: string } | undefined;
  const finish = (outcome: Omit<AttemptRecord, 'n' | 'started_at' | 'duration_ms'>): AttemptRecord => {
    const rest = digestOnly ? digestBodies(outcome, digestOnly.sentBody) : outcome;
    const record = boundRecord({ n: input.attempt, started_at: startedAt.toISOString(), duration_ms: Math.round((performance.now() - t0) * 10) / 10, ...rest });
    deps.onOutcome?.(record, { destinationId: input.destinationId });
    return record;
  };

  // The input's account scopes the cached read; prepareRequest still judges whose destination it is.
  const found = await deps.destinations.forAttempt(inputAccount(input), input.destinationId, startedAt);
  if (!found) return finish({ verdict: 'cancelled', error: { code: 'destination_deleted', message: 'the destination was deleted' } });
  const { destination: dest, allowedNetworks, check } = found;
  if (!dest.record_bodies) digestOnly = {};

  const prepared = prepareRequest(dest, input, found.signingSecrets, { version: deps.version, startedAt });
  if ('notSent' in prepared) return finish(prepared.notSent);
  if (digestOnly) digestOnly.sentBody = prepared.request.body;

  const refused = refuseLiteral(deps.policy, prepared.request.url, allowedNetworks);
  if (refused) return finish({ verdict: 'failed', request: prepared.record, error: { code: 'address_refused', message: refused } });

  let current: PreparedRequest = prepared;
  let oauth2 = false;
  const applyCredentials = async (forceRefresh: boolean) => {
    if (!dest.connection_id || !deps.credentials) return;
    const accountId = dest.account_id; // prepareRequest checked it is the input's account
    const creds = await deps.credentials.headersFor(dest.connection_id, accountId, { forceRefresh, allowedNetworks, check });
    oauth2 = creds.oauth2;
    current = withCredentials(prepared, creds.headers);
  };
  try {
    await applyCredentials(false);
  } catch (err) {
    return finish({ ...classifyCredentialsError(err), request: current.record });
  }

  // Last thing before the request leaves: an erasure answered after this read has nothing to stop.
  if (await deps.erased?.(input.deliveryId)) return finish({ verdict: 'cancelled', error: { code: 'erased', message: 'the call was erased' } });

  const sendCurrent = () => send(deps.agent, current.request, { allowedNetworks, timeoutMs: dest.timeout_ms });
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
