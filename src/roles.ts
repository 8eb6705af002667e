import { join, resolve } from 'node:path';
import pino from 'pino';
import { codecUiEndpoint, codecUiSecretFor } from './admin-token.ts';
import { loadConfig, type Config } from './config.ts';
import { ensureConsoleBuilt } from './console-build.ts';
import { listeningPorts, localTemporal } from './delivery/own-listeners.ts';
import { loggerOptions } from './logger.ts';
import type { DevServer } from './temporal/dev-server.ts';

// Start-up is mostly waiting: on loading the product's modules (about a second of this process's
// CPU), on the Temporal dev server's boot (its own process) and on the sandbox child and the type
// checker thread. So the dev server is spawned before the rest of the product is imported (only the
// light modules above are loaded first), and the warm-ups run while it boots, or after the process is
// ready when there is no dev server to wait for: a transform or upload that comes first waits for
// them, as it would on a cold sandbox.

function startTemporal(config: Config, localBase: string, log: pino.Logger): Promise<DevServer> {
  log.info('starting the Temporal dev server');
  return import('./temporal/dev-server.ts').then(({ startDevServer }) =>
    startDevServer({
      port: config.TEMPORAL_PORT,
      httpPort: config.TEMPORAL_HTTP_PORT,
      uiPort: config.TEMPORAL_UI_PORT,
      dbFile: resolve(join(config.VOICEOI_DATA_DIR, 'temporal.db')),
      namespace: config.TEMPORAL_NAMESPACE,
      sqliteSynchronous: config.VOICEOI_DEV_SERVER_SYNCHRONOUS,
      // The UI's codec URL holds the install's secret (src/routes/codec.ts): never log it.
      codecEndpoint: codecUiEndpoint(config.VOICEOI_PUBLIC_URL ?? localBase, codecUiSecretFor(config)),
      log: (l) => log.info(l),
    }),
  );
}

/**
 * Starts the roles the configuration asks for (src/server.ts is the entry point that calls this) and
 * stops them in reverse order on SIGINT/SIGTERM, or when one of them fails to start.
 */
export async function runRoles(): Promise<void> {
  const config = loadConfig();
  const role = config.VOICEOI_ROLE;
  const log = pino(loggerOptions(config.LOG_LEVEL));
  // The API serves the console; an operator's own VOICEOI_CONSOLE_DIR is theirs to build.
  if (role !== 'worker' && !config.VOICEOI_CONSOLE_DIR) ensureConsoleBuilt((line) => process.stdout.write(`${line}\n`));
  const stops: (() => Promise<void>)[] = [];
  async function stopAll(): Promise<void> {
    // Stop taking new work first (API, then worker), then the infrastructure under them.
    for (const stop of stops.splice(0).reverse()) {
      try {
        await stop();
      } catch (err) {
        log.error({ err }, 'error while shutting down');
      }
    }
  }

  // Where this machine reaches the port this process listens on (the API, or a worker's /metrics).
  const localBase = `http://${config.HOST === '0.0.0.0' ? '127.0.0.1' : config.HOST}:${config.PORT}`;
  const devServerStarting = !config.TEMPORAL_ADDRESS && role === 'all' ? startTemporal(config, localBase, log) : undefined;
  // Awaited below; until then a failure must not count as unhandled.
  devServerStarting?.catch(() => {});
  stops.push(async () => (await devServerStarting?.catch(() => undefined))?.stop());

  let devServer: DevServer | undefined;
  let address = config.TEMPORAL_ADDRESS;
  let urls = '';
  try {
    const { buildApi, createClient, createCore, createSharedClient, startWorker } = await import('./runtime.ts');
    const core = await createCore(config, log);
    let warming: Promise<void> | undefined;
    const warmup = () => {
      // The sandbox process (and, where uploads are validated, the type checker), before the first
      // transform or upload needs them.
      warming ??= core.engine.warmup({ typeChecker: role !== 'worker' }).catch((err: unknown) => log.warn({ err }, 'the transform engine did not warm up'));
    };
    stops.push(() => core.store.close());
    stops.push(() => core.engine.close());
    if (devServerStarting) {
      warmup();
      devServer = await devServerStarting;
      address = devServer.address;
      // Every port it listens on, not only the configured ones: its metrics and internal services too.
      if (devServer.pid) for (const port of listeningPorts(devServer.pid)) core.policy.addOwnListener({ name: 'Temporal dev server', port });
    }
    address ??= localTemporal(config);
    const [{ targetFromConfig }, { prepareNamespace }] = await Promise.all([import('./temporal/connection.ts'), import('./temporal/namespace.ts')]);
    const target = targetFromConfig(config, address);

    // API and worker in one process share one NativeConnection: eager workflow start needs it.
    const shared = role === 'all' && core.tuning.eagerWorkflowStart ? await createSharedClient(core, target) : undefined;
    const { client, connection } = shared ?? (await createClient(core, target));
    stops.push(() => connection.close());
    await prepareNamespace(connection, target.namespace, config.VOICEOI_RETENTION_DAYS);

    // Side by side: the worker loads the workflow bundle into its sandbox on a thread of its own
    // meanwhile. The API listens once the worker polls.
    const [workerStart, apiBuild] = await Promise.allSettled([
      role !== 'api' ? startWorker(core, target, { sharedConnection: shared?.connection }) : undefined,
      role !== 'worker' ? buildApi(core, client, { eagerStart: Boolean(shared) }) : undefined,
    ]);
    const worker = workerStart.status === 'fulfilled' ? workerStart.value : undefined;
    const server = apiBuild.status === 'fulfilled' ? apiBuild.value : undefined;
    if (worker) stops.push(() => worker.stop());
    if (server) stops.push(() => server.close());
    for (const started of [workerStart, apiBuild]) if (started.status === 'rejected') throw started.reason;
    worker?.run.catch((err: unknown) => {
      log.fatal({ err }, 'the worker stopped unexpectedly');
      process.exitCode = 1;
      void shutdown('worker failure');
    });

    if (server) {
      await server.listen({ port: config.PORT, host: config.HOST });
      urls += `\n  API          ${localBase}\n  API docs     ${localBase}/docs\n  Console      ${localBase}/console`;
    }
    if (role === 'worker') {
      const { serveMetrics } = await import('./metrics.ts');
      const metrics = await serveMetrics(core.metrics, config.PORT, config.HOST);
      stops.push(() => metrics.close());
      urls += `\n  Metrics      ${localBase}/metrics`;
    }
    if (devServer?.uiUrl) urls += `\n  Temporal UI  ${devServer.uiUrl}/namespaces/${target.namespace}/workflows`;
    process.stdout.write(`\nVoiceOI Hooks is running (role: ${role}, Temporal: ${address}, namespace: ${target.namespace})${urls}\n  Press Ctrl-C to stop.\n\n`);
    warmup();
  } catch (err) {
    await stopAll();
    throw err;
  }

  let stopping = false;
  async function shutdown(signal: string): Promise<void> {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    await stopAll();
    process.exit(process.exitCode ?? 0);
  }
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
}
