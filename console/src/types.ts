// What the API answers, as the console reads it (src/routes/*.schema.ts is the source of truth).

export interface Session {
  account: { id: string; name: string };
  csrf_token: string;
  expires_at: string;
  /** The dev server's Temporal UI (its TEMPORAL_UI_PORT); absent with a cluster, when the console falls back to this host on :8233. */
  temporal_ui_url?: string;
}

export interface Destination {
  id: string;
  /** Absent on a pull destination. */
  url?: string;
  /** pull: deliveries are kept as messages its consumers read (stream, messages, voiceoi listen). */
  mode: 'push' | 'pull';
  stream_origins: string[];
  description: string | null;
  event_types: string[];
  mapping_id: string | null;
  /** The pinned version of the mapping; null: its current version when each delivery starts. */
  mapping_version: number | null;
  connection_id: string | null;
  enabled: boolean;
  paused: boolean;
  disabled_reason: string | null;
  timeout_ms: number;
  retry_schedule_s: number[];
  /** Attempts in flight at once, across workers; the rest wait in acceptance order. */
  max_in_flight: number;
  signature_scheme?: SignatureScheme;
  /** ed25519: the whpk_ key receivers verify with; null with HMAC. */
  signing_public_key?: string | null;
  /** false: attempt records keep body sizes and SHA-256 digests, never the bodies. */
  record_bodies: boolean;
  created_at: string;
  updated_at: string;
}

export type SignatureScheme = 'hmac-sha256' | 'ed25519';

export type MappingLanguage = 'typescript' | 'jsonata';

export interface Mapping {
  id: string;
  name: string;
  language: MappingLanguage;
  version: number;
  timeout_ms: number | null;
  memory_mb: number | null;
  created_at: string;
  updated_at: string;
  source?: string;
}

/** An entry of GET /v1/mappings/:id/versions (newest first, paged, no source). */
export interface MappingVersion {
  version: number;
  created_at: string;
}

/** GET /v1/mappings/:id/versions/:version */
export interface MappingVersionSource extends MappingVersion {
  source: string;
}

export interface CheckError {
  code?: string;
  message: string;
  line?: number;
  column?: number;
}

export interface TestResult {
  result: unknown;
  logs: string[];
  duration_ms: number;
}

export type ConnectionKind = 'headers' | 'basic' | 'oauth2_client_credentials' | 'oauth2_authorization_code';

export interface Connection {
  id: string;
  name: string;
  kind: ConnectionKind;
  status: 'connected' | 'needs_reauth' | 'error';
  last_error: { code: string; message: string; at: string } | null;
  /** What is set of its TLS, never the PEM; null: the system's CAs and no client certificate. */
  tls?: { ca_certificates: CertificateInfo[]; client_certificate: CertificateInfo | null; client_key_set: boolean } | null;
  created_at: string;
  updated_at: string;
  header_names?: string[];
  username?: string;
  token_url?: string;
  client_id?: string;
  scope?: string | null;
  audience?: string | null;
  auth_method?: 'client_secret_basic' | 'client_secret_post';
  provider?: string;
  authorized_at?: string | null;
  token_expires_at?: string | null;
  authorize_path?: string;
}

export interface CertificateInfo {
  subject: string;
  issuer: string;
  not_after: string;
  fingerprint: string;
}

/** GET /v1/oauth2/providers: a provider the operator configured (src/routes/oauth2.schema.ts). */
export interface OAuth2Provider {
  name: string;
  display_name: string | null;
  scopes: string[];
}

export type DeliveryStatus = 'pending' | 'delivered' | 'retrying' | 'failed' | 'skipped' | 'cancelled';
export const DELIVERY_STATUSES: DeliveryStatus[] = ['pending', 'delivered', 'retrying', 'failed', 'skipped', 'cancelled'];

export interface DeliverySummary {
  id: string;
  run_id: string;
  status: DeliveryStatus;
  workflow_status: string;
  event_id: string;
  event_type: string;
  destination_id: string;
  call_id: string | null;
  lead_id: string | null;
  started_at: string;
  closed_at: string | null;
}

export interface Attempt {
  n: number;
  started_at: string;
  duration_ms: number;
  request?: { method: string; url: string; headers: Record<string, string>; body: string; body_bytes: number; body_truncated: boolean; body_sha256?: string; body_recorded?: false };
  response?: { status: number; headers: Record<string, string>; body: string; body_truncated: boolean; body_bytes?: number; body_sha256?: string; body_recorded?: false };
  error?: { code: string; message: string };
  verdict: string;
  retry_after_ms?: number;
}

export interface Delivery {
  id: string;
  status: DeliveryStatus;
  reason?: string;
  event_id: string;
  event_type: string;
  destination_id: string;
  mapping_id?: string;
  mapping_version?: number;
  transform?: {
    mapping: { id: string; version: number } | null;
    request: unknown;
    duration_ms: number;
    logs?: string[];
    error?: CheckError;
  };
  attempts: Attempt[];
  next_attempt_at?: string;
  accepted_at?: string;
  delivered_at?: string;
  workflow: { id: string; run_id: string; status: string };
}

export interface EventType {
  type: string;
  description: string;
  schema: unknown;
  sample?: unknown;
}

/** One message of a pull destination's stream (GET /v1/destinations/:id/stream, /messages). */
export interface StreamMessage {
  cursor: string;
  delivery_id: string;
  event_id: string;
  event_type: string;
  call_id?: string;
  headers: Record<string, string>;
  body: string;
}
