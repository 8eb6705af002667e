import { createServer } from 'node:net';
import { freePort } from '../../src/temporal/dev-server.ts';

const bindable = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });

/**
 * A free TEMPORAL_PORT for an `npm start` under test: its derived HTTP API (+10) and UI (+1000) ports
 * are free too, and none is in `taken` (ports already handed to another instance of the same test).
 */
export async function freeTemporalPort(taken = new Set<number>()): Promise<number> {
  for (;;) {
    const port = await freePort();
    const all = [port, port + 10, port + 1000];
    if (port + 1000 > 65535 || all.some((p) => taken.has(p))) continue;
    if ((await Promise.all(all.map(bindable))).every(Boolean)) {
      for (const p of all) taken.add(p);
      return port;
    }
  }
}
