import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { callCompleted } from '../../test/support/events.ts';

export interface Sent {
  /** performance.now() when the ingest request was issued: the propagation clock starts here. */
  start: number;
  /** How late the send was against its schedule (open-loop fidelity), ms. */
  lagMs: number;
  ingestMs?: number;
  status?: number;
  error?: string;
}

export interface LoadOptions {
  baseUrl: string;
  token: string;
  rate: number;
  durationS: number;
  idPrefix: string;
  /** Upper bound of concurrent ingest connections; further sends queue in the client (and it shows). */
  connections?: number;
}

/**
 * Open loop: event i is sent at start + i/rate whether or not earlier ones were answered, so a slow
 * system meets the same arrival rate as in production instead of being politely waited for.
 * Resolves once every send has its answer (or its error).
 */
export async function sendOpenLoop(o: LoadOptions, onSent?: (id: string) => void): Promise<Map<string, Sent>> {
  const pool = new Pool(o.baseUrl, { connections: o.connections ?? 1024, pipelining: 1, keepAliveTimeout: 60_000 });
  const total = Math.max(1, Math.round(o.rate * o.durationS));
  const interval = 1000 / o.rate;
  const sent = new Map<string, Sent>();
  const inflight: Promise<void>[] = [];
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${o.token}` };

  const fire = (i: number, due: number) => {
    const id = `${o.idPrefix}-${i}`;
    const body = JSON.stringify(callCompleted(id));
    const start = performance.now();
    const rec: Sent = { start, lagMs: start - due };
    sent.set(id, rec);
    onSent?.(id);
    inflight.push(
      pool
        .request({ method: 'POST', path: '/v1/events', headers, body, headersTimeout: 60_000, bodyTimeout: 60_000 })
        .then(async (res) => {
          await res.body.dump();
          rec.status = res.statusCode;
          rec.ingestMs = performance.now() - start;
        })
        .catch((err: unknown) => {
          rec.error = (err as Error).message;
          rec.ingestMs = performance.now() - start;
        }),
    );
  };

  const t0 = performance.now() + 2;
  let i = 0;
  while (i < total) {
    const now = performance.now();
    while (i < total && t0 + i * interval <= now) {
      fire(i, t0 + i * interval);
      i++;
    }
    if (i < total) await sleep(Math.max(0, t0 + i * interval - performance.now()));
  }
  await Promise.all(inflight);
  await pool.close();
  return sent;
}
