import { createServer } from 'node:http';
import type { InjectedSinks } from '@temporalio/worker';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import type { DeliverySinks } from '../workflows/sinks.ts';
import type { AttemptRecord, DeliveryStatus } from '../workflows/types.ts';

// Each process counts what it observes: ingest in the API, attempts and outcomes in the worker. In
// `npm start` both roles share one registry, so one scrape sees everything. Labels never carry
// account, destination or event ids: the cardinality stays bounded and no tenant shows in a scrape.

type StatusClass = '1xx' | '2xx' | '3xx' | '4xx' | '5xx' | 'timeout' | 'network_error' | 'not_sent';

/** Not sent: the attempt stopped before a request left (disabled, refused address, credentials). */
function statusClass(record: AttemptRecord): StatusClass {
  if (record.response) return `${Math.min(5, Math.max(1, Math.floor(record.response.status / 100)))}xx` as StatusClass;
  const code = record.error?.code ?? '';
  if (code === 'timeout') return 'timeout';
  if (code.startsWith('network_')) return 'network_error';
  return 'not_sent';
}

export interface Metrics {
  registry: Registry;
  eventIngested(eventType: string): void;
  attempted(record: AttemptRecord): void;
  deliveryFinished(status: DeliveryStatus, info: { replay: boolean; propagationMs?: number }): void;
  /** Hooked to the transform step's onDuration (src/transform/transform-step.ts). */
  transformed(durationMs: number, language: string): void;
  /** Worker sinks the delivery workflow reports through (workflows/sinks.ts). */
  sinks(): InjectedSinks<DeliverySinks>;
}

export function createMetrics(opts: { defaultMetrics?: boolean } = {}): Metrics {
  // One registry per Core (not prom-client's global one): tests run several stacks in one process.
  const registry = new Registry();
  if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry });

  const ingested = new Counter({
    name: 'voiceoi_events_ingested_total',
    help: 'Events accepted by POST /v1/events (a duplicate id is not counted again)',
    labelNames: ['event_type'],
    registers: [registry],
  });
  const deliveries = new Counter({
    name: 'voiceoi_deliveries_total',
    help: 'Deliveries that reached a final status; replay="true" for runs started by retry or recover',
    labelNames: ['outcome', 'replay'],
    registers: [registry],
  });
  const attempts = new Counter({
    name: 'voiceoi_delivery_attempts_total',
    help: 'HTTP attempts by response status class (or timeout, network_error, not_sent)',
    labelNames: ['class'],
    registers: [registry],
  });
  const propagation = new Histogram({
    name: 'voiceoi_propagation_latency_seconds',
    help: 'Event accepted by the API to 2xx received from the destination (first delivery, not replays)',
    // From a first-attempt success (milliseconds) to a delivery that waited out the retry schedule.
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 21_600, 86_400, 259_200],
    registers: [registry],
  });
  const transform = new Histogram({
    name: 'voiceoi_transform_duration_seconds',
    help: 'Time to run a destination mapping (JSONata or TypeScript) on one event',
    labelNames: ['language'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });

  const metrics: Metrics = {
    registry,
    eventIngested: (eventType) => ingested.inc({ event_type: eventType }),
    attempted(record) {
      // A check that found the destination paused is not an attempt: the workflow drops it from the log.
      if (record.error?.code === 'destination_paused') return;
      attempts.inc({ class: statusClass(record) });
    },
    deliveryFinished(status, info) {
      deliveries.inc({ outcome: status, replay: String(info.replay) });
      if (info.propagationMs !== undefined && info.propagationMs >= 0) propagation.observe(info.propagationMs / 1000);
    },
    transformed: (durationMs, language) => transform.observe({ language }, durationMs / 1000),
    sinks: () => ({
      metrics: {
        finished: { fn: (_info, status, info) => metrics.deliveryFinished(status, info) },
      },
    }),
  };
  return metrics;
}

/**
 * `/metrics` for a worker-only process (VOICEOI_ROLE=worker), which has no API to serve it: that is
 * where attempts, outcomes and transform durations are counted.
 */
export async function serveMetrics(metrics: Metrics, port: number, host: string): Promise<{ port: number; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"code":"route_not_found","message":"only GET /metrics here"}');
      return;
    }
    metrics.registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
      () => res.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const address = server.address();
  return { port: typeof address === 'object' && address ? address.port : port, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
