import { createServer, connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A loopback TCP proxy with a fixed address in front of an API that may be restarted on another port:
 * a client (the CLI) keeps one URL while the test cuts its connections, refuses new ones for a while
 * (the network is down) or points it at a new process.
 */
export interface TcpProxy {
  url: string;
  /** Where new connections go. */
  target(url: string): void;
  /** Destroys every open connection, as a dropped network does. */
  cut(): void;
  /** While refusing, a new connection is closed at once. */
  refuse(refusing: boolean): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetUrl: string): Promise<TcpProxy> {
  let port = Number(new URL(targetUrl).port);
  let refusing = false;
  const open = new Set<Socket>();
  const server = createServer((client) => {
    if (refusing) return client.destroy();
    const upstream = connect(port, '127.0.0.1');
    for (const s of [client, upstream]) {
      open.add(s);
      s.on('close', () => open.delete(s));
      s.on('error', () => {});
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const cut = () => {
    for (const s of open) s.destroy();
  };
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    target: (url) => {
      port = Number(new URL(url).port);
    },
    cut,
    refuse: (r) => {
      refusing = r;
    },
    close: () =>
      new Promise<void>((resolve) => {
        cut();
        server.close(() => resolve());
      }),
  };
}
