// The process test/support/product-process.ts starts from source: a worker (its /metrics on PORT once
// it polls) or the HTTP API on PORT, on the configuration a stack handed over as JSON — the stack's
// parsed allow-lists and keys, which no round trip through environment variables would keep as they are.
import { readFileSync } from 'node:fs';
import type { Config } from '../../src/config.ts';
import { serveMetrics } from '../../src/metrics.ts';
import { buildApi, createClient, createCore, startWorker } from '../../src/runtime.ts';
import { targetFromConfig } from '../../src/temporal/connection.ts';

const config = JSON.parse(process.env.VOICEOI_TEST_CONFIG ?? '') as Config;
const port = Number(process.env.PORT);
const core = await createCore(config);
const target = targetFromConfig(config, config.TEMPORAL_ADDRESS!);
const stops: (() => Promise<unknown>)[] = [];
if (process.env.VOICEOI_TEST_ROLE === 'worker') {
  const bundle = process.env.VOICEOI_TEST_BUNDLE;
  const worker = await startWorker(core, target, { workflowBundle: bundle ? { code: readFileSync(bundle, 'utf8') } : undefined });
  const metrics = await serveMetrics(core.metrics, port, '127.0.0.1');
  stops.push(() => metrics.close(), () => worker.stop());
} else {
  const { client, connection } = await createClient(core, target);
  const api = await buildApi(core, client);
  await api.listen({ port, host: '127.0.0.1' });
  stops.push(() => api.close(), () => connection.close());
}
stops.push(() => core.store.close(), () => core.engine.close());

// stop(): as the product's own entry point does on SIGTERM, take no new work, then close what is under it.
process.once('SIGTERM', () => {
  void (async () => {
    for (const stop of stops) await stop();
    process.exit(0);
  })();
});
