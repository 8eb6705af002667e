import { join, resolve } from 'node:path';
import { codecUiEndpoint, codecUiSecretFor } from './admin-token.ts';
import { loadConfig } from './config.ts';
import { ensureConsoleBuilt } from './console-build.ts';
import { listeningPorts, TEMPORAL_HTTP_PORT } from './delivery/own-listeners.ts';
import { serveMetrics } from './metrics.ts';
import { buildApi, createClient, createCore, createSharedClient, startWorker, type WorkerHandle } from './runtime.ts';
import { startDevServer, type DevServer } from './temporal/dev-server.ts';
import { targetFromConfig } from './temporal/connection.ts';
import { prepareNamespace } from './temporal/namespace.ts';

/**
 * The one process entry point (`npm start`, `npm run api`, `npm run worker`): starts the roles the
 * configuration asks for and stops them in reverse order on SIGINT/SIGTERM.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const role = config.VOICEOI_ROLE;
  // The API serves the console; an operator's own VOICEOI_CONSOLE_DIR is theirs to build.
  if (role !== 'worker' && !config.VOICEOI_CONSOLE_DIR) ensureConsoleBuilt((line) => process.stdout.write(`${line}\n`));
  const stops: (() => Promise<void>)[] = [];
  const core = await createCore(config);
  stops.push(() => core.store.close());
  stops.push(() => core.engine.close());
  const log = core.logger;

  // Where this machine reaches the port this process listens on (the API, or a worker's /metrics).
  const localBase = `http://${config.HOST === '0.0.0.0' ? '127.0.0.1' : config.HOST}:${config.PORT}`;
  let devServer: DevServer | undefined;
  let address = config.TEMPORAL_ADDRESS;
  if (!address && role === 'all') {
    const apiBase = config.VOICEOI_PUBLIC_URL ?? localBase;
    log.info('starting the Temporal dev server');
    devServer = await startDevServer({
      port: 7233,
      httpPort: TEMPORAL_HTTP_PORT,
      uiPort: config.TEMPORAL_UI_PORT,
      dbFile: resolve(join(config.VOICEOI_DATA_DIR, 'temporal.db')),
      namespace: config.TEMPORAL_NAMESPACE,
      // The UI's codec URL holds the install's secret (src/routes/codec.ts): never log it.
      codecEndpoint: codecUiEndpoint(apiBase, codecUiSecretFor(config)),
      log: (l) => log.info(l),
    });
    address = devServer.address;
    // Every port it listens on, not only the configured ones: its metrics and internal services too.
    if (devServer.pid) for (const port of listeningPorts(devServer.pid)) core.policy.addOwnListener({ name: 'Temporal dev server', port });
    stops.push(() => devServer!.stop());
  }
  address ??= '127.0.0.1:7233';
  const target = targetFromConfig(config, address);

  // API and worker in one process share one NativeConnection: eager workflow start needs it.
  const shared = role === 'all' && core.tuning.eagerWorkflowStart ? await createSharedClient(core, target) : undefined;
  const { client, connection } = shared ?? (await createClient(core, target));
  stops.push(() => connection.close());
  await prepareNamespace(connection, target.namespace, config.VOICEOI_RETENTION_DAYS);

  let worker: WorkerHandle | undefined;
  if (role !== 'api') {
    worker = await startWorker(core, target, { sharedConnection: shared?.connection });
    stops.push(() => worker!.stop());
    worker.run.catch((err: unknown) => {
      log.fatal({ err }, 'the worker stopped unexpectedly');
      process.exitCode = 1;
      void shutdown('worker failure');
    });
  }

  // Start the sandbox process (and, where uploads are validated, the type checker) now, so the first
  // transform or upload does not pay their start-up.
  await core.engine.warmup({ typeChecker: role !== 'worker' });

  let urls = '';
  if (role !== 'worker') {
    const api = await buildApi(core, client, { eagerStart: Boolean(shared) });
    await api.listen({ port: config.PORT, host: config.HOST });
    stops.push(() => api.close());
    urls += `\n  API          ${localBase}\n  API docs     ${localBase}/docs\n  Console      ${localBase}/console`;
  }
  if (role === 'worker') {
    const metrics = await serveMetrics(core.metrics, config.PORT, config.HOST);
    stops.push(() => metrics.close());
    urls += `\n  Metrics      ${localBase}/metrics`;
  }
  if (devServer?.uiUrl) urls += `\n  Temporal UI  ${devServer.uiUrl}/namespaces/${target.namespace}/workflows`;
  process.stdout.write(`\nVoiceOI Hooks is running (role: ${role}, Temporal: ${address}, namespace: ${target.namespace})${urls}\n  Press Ctrl-C to stop.\n\n`);

  let stopping = false;
  async function shutdown(signal: string): Promise<void> {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    // Stop taking new work first (API, then worker), then the infrastructure under them.
    for (const stop of stops.reverse()) {
      try {
        await stop();
      } catch (err) {
        log.error({ err }, 'error while shutting down');
      }
    }
    process.exit(process.exitCode ?? 0);
  }
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((err: unknown) => {
  process.stderr.write(`VoiceOI Hooks failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
