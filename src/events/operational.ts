// Operational events (issue 13): what the service tells an account about its own deliveries. The
// worker emits them through the same ingest path as the platform's events, so they are recorded,
// deduplicated, filtered and delivered like any event to the destinations that subscribe to them.
import { createHash } from 'node:crypto';
import type { IngestResult, IngestService } from '../ingest.ts';
import type { EventEnvelope, OperationalEventType } from './catalog.ts';

/** The emission of one fact, wherever it is retried from, has one event id (ingest dedupes on it). */
function eventIdOf(prefix: string, ...parts: string[]): string {
  // Hashed: the parts (a delivery id holds a producer's event id) can be longer than an event id may be.
  return `${prefix}_${createHash('sha256').update(parts.join('\n')).digest('base64url').slice(0, 32)}`;
}

export interface DeliveryFailedFact {
  accountId: string;
  deliveryId: string;
  /** The workflow run that failed: a replay of the delivery that fails again alerts again. */
  runId: string;
  destinationId: string;
  eventId: string;
  eventType: string;
  reason: string;
  attempts: number;
}

export interface OperationalEvents {
  deliveryFailed(fact: DeliveryFailedFact): Promise<IngestResult>;
  /** `reason` is the destination's disabled_reason, which names when it happened: one event per disabling. */
  destinationDisabled(accountId: string, destinationId: string, reason: string): Promise<IngestResult>;
  /** `rev` is the connection's revision whose refresh was refused: one event per refusal. */
  connectionNeedsReauth(accountId: string, connectionId: string, rev: number, reason: string): Promise<IngestResult>;
  /** `day` (YYYY-MM-DD): one event per certificate and day (src/connections/certificate-expiry-job.ts). */
  certificateExpiring(accountId: string, fact: CertificateExpiringFact, day: string): Promise<IngestResult>;
}

export type CertificateExpiringFact = Extract<EventEnvelope, { type: 'hook.connection_certificate_expiring' }>['data'];

export function createOperationalEvents(deps: { ingest: IngestService; now?: () => Date }): OperationalEvents {
  const now = deps.now ?? (() => new Date());
  const emit = <T extends OperationalEventType>(accountId: string, type: T, id: string, data: Extract<EventEnvelope, { type: T }>['data']) =>
    deps.ingest.ingest(accountId, { id, type, occurred_at: now().toISOString(), data } as EventEnvelope, { operational: true });

  return {
    deliveryFailed: (f) =>
      emit(f.accountId, 'hook.delivery_failed', eventIdOf('hook_failed', f.deliveryId, f.runId), {
        delivery_id: f.deliveryId,
        destination_id: f.destinationId,
        event_id: f.eventId,
        event_type: f.eventType,
        reason: f.reason.slice(0, 4000),
        attempts: f.attempts,
      }),
    destinationDisabled: (accountId, destinationId, reason) =>
      emit(accountId, 'hook.destination_disabled', eventIdOf('hook_disabled', destinationId, reason), {
        destination_id: destinationId,
        reason: reason.slice(0, 4000),
      }),
    connectionNeedsReauth: (accountId, connectionId, rev, reason) =>
      emit(accountId, 'hook.connection_needs_reauth', eventIdOf('hook_reauth', connectionId, String(rev)), {
        connection_id: connectionId,
        reason: reason.slice(0, 4000),
      }),
    certificateExpiring: (accountId, fact, day) =>
      emit(accountId, 'hook.connection_certificate_expiring', eventIdOf('hook_cert', fact.connection_id, fact.fingerprint, day), fact),
  };
}
