import type { Client } from '@temporalio/client';
import type { PayloadCodec } from '@temporalio/common';
import type { Config } from './config.ts';
import type { DeliveryService } from './deliveries/index.ts';
import type { ErasureService } from './erasure/erase.ts';
import type { NetworkPolicy } from './delivery/network-policy.ts';
import type { IngestService } from './ingest.ts';
import type { Metrics } from './metrics.ts';
import type { Store } from './store/index.ts';
import type { StreamTokens } from './stream-tokens.ts';
import type { TransformEngine } from '../sandboxes/index.ts';

/**
 * The services the HTTP API is built from (src/runtime.ts, buildApi, assembles them). src/app.ts hands
 * each route plugin this whole object; a route reads only the slice its own `…RouteDeps` names.
 */
export interface AppDeps {
  config: Config;
  store: Store;
  client: Client;
  ingest: IngestService;
  deliveries: DeliveryService;
  /** Erases a call's data (src/erasure/erase.ts). */
  erasure: ErasureService;
  policy: NetworkPolicy;
  engine: TransformEngine;
  adminToken: string;
  /** The Temporal payload codec served at /codec for the Temporal UI. */
  codec: PayloadCodec;
  /** The secret path segment of the Temporal UI's codec URL (src/admin-token.ts). */
  codecUiSecret: string;
  /** Temporal UI origins whose browser may read the codec's answers: CORS, not authentication (src/routes/codec.ts). */
  codecOrigins: readonly string[];
  /** Set when a Temporal UI with sign-in passes its users' access tokens to the codec (src/temporal/ui-access-token.ts). */
  uiAccessTokens?: { verify(token: string): Promise<unknown> };
  metrics: Metrics;
  /** Short-lived tokens that read one pull destination's stream (src/stream-tokens.ts). */
  streamTokens: StreamTokens;
}
