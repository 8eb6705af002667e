import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** A loopback receiver that timestamps the first byte of each delivery, keyed by its webhook-id. */
export interface TimingReceiver {
  url: string;
  /** webhook-id → performance.now() of the first byte of its first request. */
  firstByte: Map<string, number>;
  /** webhook-ids that arrived more than once (retries after a lost answer). */
  duplicates: Map<string, number>;
  /** webhook-id → performance.now() of the first byte of the first request answered 200. */
  okAt: Map<string, number>;
  /** Requests without a webhook-id (should stay 0). */
  anonymous: number;
  close(): Promise<void>;
}

export interface ReceiverOptions {
  /**
   * Requests whose path starts with this answer 500 the first time each webhook-id arrives and 200
   * after: every delivery there takes exactly one retry.
   */
  failFirstUnder?: string;
  /** Every answer is held this long (a CRM that hangs inside the sender's timeout). */
  answerAfterMs?: number;
}

export async function startTimingReceiver(o: ReceiverOptions = {}): Promise<TimingReceiver> {
  const firstByte = new Map<string, number>();
  const okAt = new Map<string, number>();
  const duplicates = new Map<string, number>();
  // Senders keep one request in flight per connection (no pipelining), so the first unclaimed
  // chunk on a socket starts the next request on it.
  const pending = new WeakMap<Socket, number>();
  const state = { anonymous: 0 };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const at = pending.get(req.socket) ?? performance.now();
    pending.delete(req.socket);
    const id = req.headers['webhook-id'];
    const seen = typeof id === 'string' && firstByte.has(id);
    if (typeof id !== 'string') state.anonymous++;
    else if (seen) duplicates.set(id, (duplicates.get(id) ?? 0) + 1);
    else firstByte.set(id, at);
    const fail = !seen && o.failFirstUnder !== undefined && typeof id === 'string' && (req.url ?? '').startsWith(o.failFirstUnder);
    if (!fail && typeof id === 'string' && !okAt.has(id)) okAt.set(id, at);
    req.resume();
    req.on('end', () => {
      // Body chunks also passed the socket listener; the next request starts after this answer.
      pending.delete(req.socket);
      const answer = () => {
        res.writeHead(fail ? 500 : 200, { 'content-type': 'text/plain', 'content-length': '2' });
        res.end(fail ? 'no' : 'ok');
      };
      if (o.answerAfterMs) setTimeout(answer, o.answerAfterMs).unref();
      else answer();
    });
  });
  server.on('connection', (socket: Socket) => {
    // prependListener: runs before the HTTP parser's own listener, which emits 'request' synchronously.
    socket.prependListener('data', () => {
      if (!pending.has(socket)) pending.set(socket, performance.now());
    });
  });
  // Longer than the delivery agent's keep-alive, so idle pooled connections are not cut under it.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    firstByte,
    duplicates,
    okAt,
    get anonymous() {
      return state.anonymous;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
