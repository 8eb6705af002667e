// Types that BPO integration engineers write their TypeScript mappings against.
//
//   import type { VoiceOIEvent, TransformContext, TransformResult } from 'voiceoi';
//   export default function transform(event: VoiceOIEvent, ctx: TransformContext): TransformResult { ... }
//
// Declared as an ambient module (not a module file) so that dropping this one file into any
// TypeScript project makes `from 'voiceoi'` resolve, with no paths mapping or package to install.
// It mirrors src/events/catalog.ts field for field; test/sandboxes/voiceoi-types.test.ts fails when
// the two drift apart.

declare module 'voiceoi' {
  /** Every event type of the catalog. */
  export type EventType =
    | 'call_started'
    | 'voice_detected'
    | 'handover_started'
    | 'live_transfer_initiated'
    | 'transfer_success'
    | 'qualification_threshold_met'
    | 'call_disposition_set'
    | 'call_completed'
    | 'transcript_completed'
    | 'hook.delivery_failed'
    | 'hook.destination_disabled'
    | 'hook.connection_needs_reauth'
    | 'hook.connection_certificate_expiring';

  /** Fields shared by every `data` object. */
  export interface CallRef {
    call_id: string;
    lead_id?: string;
    campaign_id?: string;
  }

  // Data objects are closed here on purpose, although the platform may send more fields than these:
  // a misspelt field (`event.data.duration_minutes`) is then a type error at upload instead of an
  // `undefined` in the CRM. To read a field this file does not declare yet, say so explicitly:
  //   (event.data as Record<string, unknown>).new_field

  export interface Agent {
    kind: 'ai' | 'human';
    id?: string;
    name?: string;
  }

  export interface TransferTarget {
    kind: 'queue' | 'number' | 'agent';
    value: string;
  }

  export interface CallStartedData extends CallRef {
    direction: 'inbound' | 'outbound';
    from: string;
    to: string;
    agent: Agent;
    /** RFC 3339 */
    started_at: string;
  }

  export interface VoiceDetectedData extends CallRef {
    channel: 'caller' | 'agent';
    /** Seconds since the call connected. */
    at_s: number;
  }

  export interface HandoverStartedData extends CallRef {
    reason: string;
    to_agent: Agent;
  }

  export interface LiveTransferInitiatedData extends CallRef {
    target: TransferTarget;
    reason?: string;
  }

  export interface TransferSuccessData extends CallRef {
    target: TransferTarget;
    wait_s: number;
  }

  export interface QualificationThresholdMetData extends CallRef {
    score: number;
    threshold: number;
    criteria: string[];
  }

  export interface CallDispositionSetData extends CallRef {
    disposition: string;
    notes?: string;
  }

  export interface CallCost {
    amount: number;
    /** ISO 4217, e.g. "USD" */
    currency: string;
  }

  export interface CallSentiment {
    label: 'positive' | 'neutral' | 'negative' | 'mixed';
    /** -1 … 1 */
    score: number;
  }

  export interface CallCompletedData extends CallRef {
    duration_s: number;
    cost: CallCost;
    sentiment: CallSentiment;
    summary: string;
    disposition: string;
    recording_url?: string;
  }

  export interface TranscriptTurn {
    speaker: string;
    text: string;
    start_s: number;
    end_s: number;
  }

  export interface TranscriptCompletedData extends CallRef {
    transcript: TranscriptTurn[];
    summary: string;
    language: string;
  }

  // Operational events: sent by VoiceOI Hooks about its own deliveries, to destinations that name
  // them in event_types (`*` does not include them). They are about no call: no call_id.

  /** A delivery failed for good (never emitted for the failure of an operational event). */
  export interface DeliveryFailedData {
    delivery_id: string;
    destination_id: string;
    /** The event whose delivery failed. */
    event_id: string;
    event_type: string;
    reason: string;
    attempts: number;
  }

  /** A destination was disabled automatically (410 Gone, or every delivery failing for days). */
  export interface DestinationDisabledData {
    destination_id: string;
    reason: string;
  }

  /** A connection needs re-authorization: the provider refused its refresh token. */
  export interface ConnectionNeedsReauthData {
    connection_id: string;
    reason: string;
  }

  /** A certificate of a connection's TLS expires within 14 days (sent once a day per certificate). */
  export interface ConnectionCertificateExpiringData {
    connection_id: string;
    field: 'client_certificate' | 'ca_certificates';
    subject: string;
    fingerprint: string;
    /** RFC 3339. */
    not_after: string;
    days_left: number;
  }

  /** The envelope every event shares; `type` discriminates `data`. */
  export interface EventEnvelope<T extends EventType, D> {
    /** The producer's idempotency key (also the `webhook-id` header). */
    id: string;
    type: T;
    /** RFC 3339 */
    occurred_at: string;
    account_id?: string;
    data: D;
  }

  export type CallStartedEvent = EventEnvelope<'call_started', CallStartedData>;
  export type VoiceDetectedEvent = EventEnvelope<'voice_detected', VoiceDetectedData>;
  export type HandoverStartedEvent = EventEnvelope<'handover_started', HandoverStartedData>;
  export type LiveTransferInitiatedEvent = EventEnvelope<'live_transfer_initiated', LiveTransferInitiatedData>;
  export type TransferSuccessEvent = EventEnvelope<'transfer_success', TransferSuccessData>;
  export type QualificationThresholdMetEvent = EventEnvelope<'qualification_threshold_met', QualificationThresholdMetData>;
  export type CallDispositionSetEvent = EventEnvelope<'call_disposition_set', CallDispositionSetData>;
  export type CallCompletedEvent = EventEnvelope<'call_completed', CallCompletedData>;
  export type TranscriptCompletedEvent = EventEnvelope<'transcript_completed', TranscriptCompletedData>;
  export type DeliveryFailedEvent = EventEnvelope<'hook.delivery_failed', DeliveryFailedData>;
  export type DestinationDisabledEvent = EventEnvelope<'hook.destination_disabled', DestinationDisabledData>;
  export type ConnectionNeedsReauthEvent = EventEnvelope<'hook.connection_needs_reauth', ConnectionNeedsReauthData>;
  export type ConnectionCertificateExpiringEvent = EventEnvelope<'hook.connection_certificate_expiring', ConnectionCertificateExpiringData>;

  /** The operational events (`hook.*`). */
  export type OperationalEvent = DeliveryFailedEvent | DestinationDisabledEvent | ConnectionNeedsReauthEvent | ConnectionCertificateExpiringEvent;

  /**
   * Any call event of the catalog: narrow it with `switch (event.type)`. Every one has
   * `data.call_id`; the operational events, which have none, are `OperationalEvent` (so a mapping
   * written against VoiceOIEvent keeps type-checking now that they exist).
   */
  export type VoiceOIEvent =
    | CallStartedEvent
    | VoiceDetectedEvent
    | HandoverStartedEvent
    | LiveTransferInitiatedEvent
    | TransferSuccessEvent
    | QualificationThresholdMetEvent
    | CallDispositionSetEvent
    | CallCompletedEvent
    | TranscriptCompletedEvent;

  /** Every event a destination can subscribe to: the call events and the operational ones. */
  export type AnyEvent = VoiceOIEvent | OperationalEvent;

  /** The event of one type, e.g. `EventOf<'call_completed'>`. */
  export type EventOf<T extends EventType> = Extract<AnyEvent, { type: T }>;

  /** What a transform knows about the delivery it is shaping. Read-only. */
  export interface TransformContext {
    readonly destination: { readonly id: string; readonly url: string };
    readonly delivery: { readonly id: string; readonly attempt?: number };
    readonly mapping: { readonly id: string; readonly version: number };
    /** Same as console.log: lines are captured (bounded) and shown with the delivery. */
    log(...args: unknown[]): void;
  }

  export type HttpMethod = 'POST' | 'PUT' | 'PATCH';

  /** The request to send instead of the bare event envelope. */
  export interface TransformRequest {
    /** Sent as JSON. */
    body: unknown;
    /** Added to the request; signing and framing headers (webhook-*, x-voiceoi-*, host, content-length…) cannot be set. */
    headers?: Record<string, string>;
    /** Default POST. */
    method?: HttpMethod;
    /** Appended to the destination URL's path, e.g. "/services/data/v60.0/sobjects/Lead/00Q…". */
    path?: string;
    /** Added to the destination URL's query string. */
    query?: Record<string, string>;
  }

  /** `null` skips this delivery (nothing is sent, the delivery is recorded as skipped). */
  export type TransformResult = TransformRequest | null;

  /** The shape of the module's default export. */
  export type Transform = (
    event: AnyEvent,
    ctx: TransformContext,
  ) => TransformResult | Promise<TransformResult>;
}
