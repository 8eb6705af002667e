import { fileURLToPath } from 'node:url';
import type { Client } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { DefaultLogger, Runtime, Worker, type NativeConnection, type WorkflowBundle } from '@temporalio/worker';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import pino from 'pino';
import { createDeliveryActivities } from './activities/index.ts';
import { resolveAdminToken } from './admin-token.ts';
import app, { type AppDeps } from './app.ts';
import type { Config } from './config.ts';
import { loadKeyRing, type KeyRing } from './crypto/keyring.ts';
import { createDeliveryService } from './deliveries.ts';
import { createDeliveryAgent } from './delivery/http-client.ts';
import { createNetworkPolicy, type NetworkPolicy } from './delivery/network-policy.ts';
import { createIngestService } from './ingest.ts';
import { loggerOptions } from './logger.ts';
import { resumeSignal } from '../workflows/delivery.ts';
import { createStore, type Store } from './store/index.ts';
import { createEncryptionCodec } from './temporal/codec.ts';
import { connectClient, connectWorker, type TemporalTarget } from './temporal/connection.ts';
import { SA } from './temporal/search-attributes.ts';
import { join } from 'node:path';

export const workflowsPath = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

/** What every role shares: configuration, the key ring, the control-plane store, the network policy. */
export interface Core {
  config: Config;
  keyRing: KeyRing;
  store: Store;
  policy: NetworkPolicy;
  dataConverter: DataConverter;
  logger: pino.Logger;
}

let runtimeInstalled = false;

export async function createCore(config: Config): Promise<Core> {
  const logger = pino(loggerOptions(config.LOG_LEVEL));
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
  const store = await createStore({ file: join(config.VOICEOI_DATA_DIR, 'voiceoi.db'), keyRing });
  const policy = createNetworkPolicy({
    blockPrivateNetworks: config.VOICEOI_BLOCK_PRIVATE_NETWORKS,
    allowedNetworks: config.VOICEOI_ALLOWED_NETWORKS,
  });
  return { config, keyRing, store, policy, logger, dataConverter: { payloadCodecs: [createEncryptionCodec(keyRing)] } };
}

export const createClient = (core: Core, target: TemporalTarget) => connectClient(target, core.dataConverter);

export interface WorkerHandle {
  worker: Worker;
  connection: NativeConnection;
  run: Promise<void>;
  stop(): Promise<void>;
}

export async function startWorker(core: Core, target: TemporalTarget, opts: { workflowBundle?: WorkflowBundle; taskQueue?: string } = {}): Promise<WorkerHandle> {
  const connection = await connectWorker(target);
  const agent = createDeliveryAgent(core.policy);
  const activities = createDeliveryActivities({
    destinations: core.store.destinations,
    agent,
    policy: core.policy,
    version: core.config.version,
  });
  const worker = await Worker.create({
    connection,
    namespace: target.namespace,
    taskQueue: opts.taskQueue ?? core.config.VOICEOI_TASK_QUEUE,
    ...(opts.workflowBundle ? { workflowBundle: opts.workflowBundle } : { workflowsPath }),
    activities,
    dataConverter: core.dataConverter,
    // Attempts are I/O-bound HTTP calls: many can wait on receivers at once.
    maxConcurrentActivityTaskExecutions: 200,
    shutdownGraceTime: '10 seconds',
  });
  const run = worker.run();
  return {
    worker,
    connection,
    run,
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await run;
      await connection.close();
      await agent.close();
    },
  };
}

export async function buildApi(core: Core, client: Client, opts: { taskQueue?: string } = {}): Promise<FastifyInstance> {
  const { config, store, policy } = core;
  const admin = resolveAdminToken(config.VOICEOI_ADMIN_TOKEN, config.VOICEOI_DATA_DIR);
  if (admin.generated) {
    core.logger.warn(`generated an admin token (stored in ${admin.file}); read it there to create accounts`);
  }
  const ingest = createIngestService({ store, client, taskQueue: opts.taskQueue ?? config.VOICEOI_TASK_QUEUE });
  const deps: AppDeps = {
    config,
    store,
    client,
    ingest,
    policy,
    adminToken: admin.token,
    deliveries: createDeliveryService({ client, store }),
    async resumeDeliveries(accountId, destinationId) {
      const query = `${SA.destination.name} = '${destinationId}' AND ${SA.account.name} = '${accountId}' AND ExecutionStatus = 'Running'`;
      const signals: Promise<void>[] = [];
      for await (const wf of client.workflow.list({ query })) {
        signals.push(client.workflow.getHandle(wf.workflowId, wf.runId).signal(resumeSignal).catch(() => undefined));
      }
      await Promise.all(signals);
    },
  };
  const server = Fastify({
    loggerInstance: core.logger as FastifyBaseLogger,
    bodyLimit: 1024 * 1024,
    // Producers retry on timeouts; keep the socket budget generous but bounded.
    requestTimeout: 30_000,
    trustProxy: true,
  });
  await server.register(app, deps);
  return server;
}
