import { join } from 'node:path';
import { Client } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { DefaultLogger, Runtime, Worker, type NativeConnection, type WorkflowBundle } from '@temporalio/worker';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import pino from 'pino';
import { createDeliveryActivities } from './activities/index.ts';
import { createSlotGuard } from './delivery/destination-slots.ts';
import { createResumeActivities } from './activities/resume.ts';
import { createConnectionCredentials } from './connections/credential-provider.ts';
import { createTokenClient } from './connections/token-client.ts';
import { codecUiSecretFor, resolveAdminToken } from './admin-token.ts';
import app from './app.ts';
import type { AppDeps } from './app-deps.ts';
import type { Config } from './config.ts';
import { loadKeyRing, type KeyRing } from './crypto/keyring.ts';
import { createDeliveryService, type DeliveryService } from './deliveries/index.ts';
import { createDestinationHealth } from './delivery/destination-health.ts';
import { createFailingStreak } from './delivery/failing-streak.ts';
import { createDeliveryAgent } from './delivery/http-client.ts';
import { createNetworkPolicy, type NetworkPolicy } from './delivery/network-policy.ts';
import { ownListenersOf } from './delivery/own-listeners.ts';
import { startEventPrune, startStreamPrune } from './events/prune-job.ts';
import { startCertificateExpiryJob } from './connections/certificate-expiry-job.ts';
import { createCallKeys } from './erasure/call-keys.ts';
import { createErasureService, type ErasureService } from './erasure/erase.ts';
import { withErasure } from './erasure/erased-deliveries.ts';
import { startCallRetention } from './erasure/retention-job.ts';
import { createOperationalEvents } from './events/operational.ts';
import { createIngestService, type IngestDeps, type IngestService } from './ingest.ts';
import { loggerOptions } from './logger.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { codecOriginsFor } from './routes/codec.ts';
import { databaseTargetOf } from './store/db.ts';
import { createStore, type KyselyStore } from './store/index.ts';
import { createStreamTokens } from './stream-tokens.ts';
import { createTransformEngine, type TransformEngine } from '../sandboxes/index.ts';
import { createTransformStep } from './transform/transform-step.ts';
import { createEncryptionCodec } from './temporal/codec.ts';
import { WatchdogFreeWorker } from './temporal/watchdog-free-worker.ts';
import { connectClient, connectWorker, type TemporalTarget } from './temporal/connection.ts';
import { loadTuning, type Tuning } from './temporal/tuning.ts';
import { projectRoot } from './build/layout.ts';
import { MAX_DELIVERY_ID_PARAM_LENGTH } from './temporal/delivery-ids.ts';
import { createUiAccessTokenVerifier } from './temporal/ui-access-token.ts';
import { createGateActivities } from './temporal/gates.ts';

// The sources, also from dist/: the Temporal bundler compiles them itself (a start from dist/ loads the
// prebuilt bundle instead, src/temporal/tuning.ts).
export const workflowsPath = join(projectRoot, 'workflows', 'index.ts');

/** What every role shares: configuration, the key ring, the control-plane store, the network policy. */
export interface Core {
  config: Config;
  keyRing: KeyRing;
  store: KyselyStore;
  policy: NetworkPolicy;
  dataConverter: DataConverter;
  logger: pino.Logger;
  /** Performance switches (src/temporal/tuning.ts), read from the process environment. */
  tuning: Tuning;
  /** This process's Prometheus registry: the API counts ingest, the worker attempts and outcomes. */
  metrics: Metrics;
  /** Mapping validation (API) and sandboxed runs (worker); its sandbox process starts on first use. */
  engine: TransformEngine;
  /** Drops an erased call key from this process's caches (the store no longer has it). */
  forgetCallKey(keyId: string): void;
}

let runtimeInstalled = false;

/** `logger`: the entry point's own, when it logged before the core existed (src/roles.ts). */
export async function createCore(config: Config, logger: pino.Logger = pino(loggerOptions(config.LOG_LEVEL))): Promise<Core> {
  if (!runtimeInstalled) {
    // The Temporal core runtime can be installed once per process; later calls reuse it.
    runtimeInstalled = true;
    try {
      Runtime.install({ logger: new DefaultLogger(config.LOG_LEVEL === 'debug' || config.LOG_LEVEL === 'trace' ? 'INFO' : 'WARN') });
    } catch {
      // Already installed by an earlier Core in this process (tests).
    }
  }
  const keyRing = loadKeyRing({ masterKeys: config.VOICEOI_MASTER_KEYS, dataDir: config.VOICEOI_DATA_DIR });
  // DATABASE_URL: PostgreSQL, shared by every replica; unset: SQLite under the data directory.
  const store = await createStore({ ...databaseTargetOf(config), keyRing });
  const policy = createNetworkPolicy({
    allowedNetworks: config.VOICEOI_ALLOWED_NETWORKS,
    // Never a destination, even inside an allowed network (src/delivery/own-listeners.ts).
    ownListeners: await ownListenersOf(config, (message) => logger.warn(message)),
  });
  const engine = createTransformEngine({ maxPerAccount: config.VOICEOI_SANDBOX_QUEUE_PER_ACCOUNT });
  // A call's deliveries are encrypted under the call's own key (src/erasure/), every other payload under the ring.
  const callKeys = createCallKeys({ calls: store.calls });
  const codec = createEncryptionCodec(keyRing, { callKeys });
  const forgetCallKey = (keyId: string) => {
    callKeys.forget(keyId);
    codec.forget(keyId);
  };
  return { config, keyRing, store, policy, logger, engine, tuning: loadTuning(), metrics: createMetrics(), dataConverter: { payloadCodecs: [codec] }, forgetCallKey };
}

export const createClient = (core: Core, target: TemporalTarget) => connectClient(target, core.dataConverter);

/**
 * One NativeConnection for the API's client and the worker of the same process: the only way the
 * SDK allows eager workflow start, and one gRPC channel instead of two. The caller closes it after
 * the worker has stopped.
 */
export async function createSharedClient(core: Core, target: TemporalTarget): Promise<{ client: Client; connection: NativeConnection }> {
  const connection = await connectWorker(target);
  return { client: new Client({ connection, namespace: target.namespace, dataConverter: core.dataConverter }), connection };
}

export interface WorkerHandle {
  worker: Worker;
  connection: NativeConnection;
  run: Promise<void>;
  stop(): Promise<void>;
}

export async function startWorker(
  core: Core,
  target: TemporalTarget,
  opts: { workflowBundle?: WorkflowBundle; taskQueue?: string; sharedConnection?: NativeConnection } = {},
): Promise<WorkerHandle> {
  const { tuning } = core;
  const connection = opts.sharedConnection ?? (await connectWorker(target));
  const agent = createDeliveryAgent(core.policy, { connections: tuning.httpConnections });
  const workflowBundle = opts.workflowBundle ?? (tuning.workflowBundle ? { codePath: tuning.workflowBundle } : undefined);
  const taskQueue = opts.taskQueue ?? core.config.VOICEOI_TASK_QUEUE;
  // The worker's own client, on its connection: operational events and rate-limit permits.
  const client = new Client({ connection, namespace: target.namespace, dataConverter: core.dataConverter });
  // The worker emits operational events (hook.*) through the same ingest path as the API.
  const operational = createOperationalEvents({ ingest: ingestFor(core, client, taskQueue) });
  const streak = createFailingStreak({
    streaks: core.store.failingStreaks,
    destinations: core.store.destinations,
    onError: (err) => core.logger.warn({ err }, 'could not record the failing streak of a destination'),
  });
  const health = createDestinationHealth({
    destinations: core.store.destinations,
    streak,
    onDisabled: (accountId, destinationId, reason) => operational.destinationDisabled(accountId, destinationId, reason),
    onError: (err) => core.logger.warn({ err }, 'could not emit hook.destination_disabled'),
  });
  const slots = createSlotGuard({
    slots: core.store.slots,
    client,
    accountMax: core.config.VOICEOI_ACCOUNT_MAX_IN_FLIGHT,
    onError: (err, what) => core.logger.warn({ err }, what),
  });
  const activities = createDeliveryActivities({
    slots,
    operational,
    health,
    destinations: core.store.destinations,
    messages: core.store.messages,
    agent,
    policy: core.policy,
    version: core.config.version,
    transform: createTransformStep({
      engine: core.engine,
      mappings: core.store.mappings,
      destinations: core.store.destinations,
      onDuration: (ms, language) => core.metrics.transformed(ms, language),
    }),
    onOutcome: (record) => core.metrics.attempted(record),
    erased: core.store.calls.isErased,
    // The OAuth2 token cache lives here, in the worker process that sends the requests.
    credentials: createConnectionCredentials({
      connections: core.store.connections,
      providers: core.config.VOICEOI_OAUTH2_PROVIDERS,
      tokens: createTokenClient({ agent, policy: core.policy }),
      logger: core.logger,
      onNeedsReauth: (accountId, connectionId, rev, reason) => operational.connectionNeedsReauth(accountId, connectionId, rev, reason),
    }),
  });
  const worker = await (tuning.workflowVmWatchdog ? Worker : WatchdogFreeWorker).create({
    connection,
    namespace: target.namespace,
    taskQueue,
    ...(workflowBundle ? { workflowBundle } : { workflowsPath }),
    // A delivery asks its destination's rate limiter for permits through the worker's own connection.
    activities: { ...activities, ...createGateActivities(client), ...createResumeActivities(client) },
    sinks: core.metrics.sinks(),
    dataConverter: core.dataConverter,
    maxConcurrentActivityTaskExecutions: tuning.activitySlots,
    ...(tuning.workflowSlots ? { maxConcurrentWorkflowTaskExecutions: tuning.workflowSlots } : {}),
    ...(tuning.workflowPollers ? { maxConcurrentWorkflowTaskPolls: tuning.workflowPollers } : {}),
    ...(tuning.activityPollers ? { maxConcurrentActivityTaskPolls: tuning.activityPollers } : {}),
    ...(tuning.eagerActivities ? {} : { maxEagerActivityReservationsPerWorkflowTask: 0 }),
    shutdownGraceTime: '10 seconds',
  });
  const run = worker.run();
  const sweeper = slots.startSweeper();
  const prune = startEventPrune({ events: core.store.events, retentionDays: core.config.VOICEOI_RETENTION_DAYS, log: core.logger });
  const streamPrune = startStreamPrune({ messages: core.store.messages, defaultHours: core.config.VOICEOI_STREAM_RETENTION_HOURS, log: core.logger });
  const certificates = startCertificateExpiryJob({ connections: core.store.connections, operational, log: core.logger });
  // Finishes erasures a crash interrupted, then shreds the calls past their account's retention.
  const shredding = startCallRetention({
    calls: core.store.calls,
    erasure: erasureFor(core, client, taskQueue),
    defaultDays: core.config.VOICEOI_DATA_RETENTION_DAYS,
    log: core.logger,
  });
  return {
    worker,
    connection,
    run,
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await Promise.all([run, prune.stop(), sweeper.stop(), streamPrune.stop(), certificates.stop(), shredding.stop()]);
      if (!opts.sharedConnection) await connection.close();
      await agent.close();
    },
  };
}

/** Erasures run by this process (the API's route, the worker's retention job), reading deliveries through `deliveries`. */
export function erasureFor(
  core: Core,
  client: Client,
  taskQueue: string,
  deliveries: Pick<DeliveryService, 'get'> = createDeliveryService({ client, store: core.store, ingest: ingestFor(core, client, taskQueue), taskQueue, keyRing: core.keyRing }),
): ErasureService {
  return createErasureService({
    calls: core.store.calls,
    messages: core.store.messages,
    client,
    readDelivery: deliveries.get,
    forget: core.forgetCallKey,
    log: core.logger,
  });
}

/** The ingest service of a role: the API's for the platform's events, the worker's for operational ones. */
function ingestFor(core: Core, client: Client, taskQueue: string, extra: Pick<IngestDeps, 'eagerStart' | 'onIngested'> = {}): IngestService {
  return createIngestService({
    store: core.store,
    client,
    taskQueue,
    engine: core.engine,
    onFilterError: (destinationId, error) =>
      core.logger.warn({ destination_id: destinationId, code: error.code, message: error.message }, 'destination filter failed; the event is delivered'),
    ...extra,
  });
}

export async function buildApi(core: Core, client: Client, opts: { taskQueue?: string; eagerStart?: boolean } = {}): Promise<FastifyInstance> {
  const { config, store, policy } = core;
  const admin = resolveAdminToken(config.VOICEOI_ADMIN_TOKEN, config.VOICEOI_DATA_DIR);
  if (admin.generated) {
    core.logger.warn(`generated an admin token (stored in ${admin.file}); read it there to create accounts`);
  }
  const taskQueue = opts.taskQueue ?? config.VOICEOI_TASK_QUEUE;
  const ingest = ingestFor(core, client, taskQueue, {
    eagerStart: opts.eagerStart,
    onIngested: (eventType) => core.metrics.eventIngested(eventType),
  });
  const inner = createDeliveryService({ client, store, ingest, taskQueue, keyRing: core.keyRing });
  const deliveries = withErasure(inner, store.calls);
  const erasure = erasureFor(core, client, taskQueue, inner);
  const deps: AppDeps = {
    config,
    store,
    client,
    ingest,
    policy,
    engine: core.engine,
    adminToken: admin.token,
    deliveries,
    erasure,
    // The codec endpoint shows history to people, so it hands back the server's own plaintext payloads,
    // and an erased call's as a placeholder; it reads call keys afresh, so it never shows an erased call.
    codec: createEncryptionCodec(core.keyRing, { passPlaintext: true, callKeys: createCallKeys({ calls: store.calls, ttlMs: 0 }) }),
    codecUiSecret: codecUiSecretFor(config),
    codecOrigins: codecOriginsFor(config),
    uiAccessTokens:
      config.VOICEOI_CODEC_JWKS_URL && config.VOICEOI_CODEC_JWT_ISSUER && config.VOICEOI_CODEC_JWT_AUDIENCE
        ? createUiAccessTokenVerifier({ jwksUrl: config.VOICEOI_CODEC_JWKS_URL, issuer: config.VOICEOI_CODEC_JWT_ISSUER, audience: config.VOICEOI_CODEC_JWT_AUDIENCE })
        : undefined,
    metrics: core.metrics,
    streamTokens: createStreamTokens(core.keyRing),
  };
  const server = Fastify({
    loggerInstance: core.logger as FastifyBaseLogger,
    bodyLimit: 1024 * 1024,
    // Every id the API hands out must work in its own URLs (GET /v1/deliveries/:id with a 200-character event id).
    routerOptions: { maxParamLength: MAX_DELIVERY_ID_PARAM_LENGTH },
    // Producers retry on timeouts; keep the socket budget generous but bounded.
    requestTimeout: 30_000,
    // X-Forwarded-* only from the operator's own proxies: from anyone else they would choose the
    // OAuth2 redirect URI and the client address that failed-key attempts are counted by.
    trustProxy: config.VOICEOI_TRUSTED_PROXIES.length > 0 ? config.VOICEOI_TRUSTED_PROXIES : false,
    // One access-log line per request, written with its answer (below), instead of Fastify's two.
    disableRequestLogging: true,
  });
  // req.log carries a route's own level, so routes that silence their request logs stay silent.
  server.addHook('onResponse', async (req, reply) => {
    req.log.info({ req, res: reply, responseTime: reply.elapsedTime }, 'request completed');
  });
  await server.register(app, deps);
  // The port it really got (PORT=0 in tests picks one): a destination can never aim at the API itself.
  server.addHook('onListen', async () => {
    for (const a of server.addresses()) if (typeof a === 'object') policy.addOwnListener({ name: 'API', port: a.port });
  });
  return server;
}
