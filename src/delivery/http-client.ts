import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { Agent, buildConnector, type Dispatcher } from 'undici';
import { LruCache } from '../../sandboxes/lru-cache.ts';
import { tlsKeyOf, tlsOptionsOf, type TlsMaterial } from '../connections/tls.ts';
import { ipLiteral, portOf, type NetworkPolicy, type Refusal } from './network-policy.ts';
import { watchTlsSocket } from './tls-errors.ts';

export class RefusedAddressError extends Error {
  readonly code = 'address_refused';
}

/** The pooled HTTP agents for deliveries and token requests, one pool per account allow-list. */
export interface DeliveryAgent {
  /**
   * The dispatcher for a request made for an account whose operator-opened networks are
   * `accountNetworks`. Pools are never shared between different lists: a kept-alive connection
   * opened under one account's list would otherwise carry another account's request unchecked.
   * `tls`: a connection's TLS (src/connections/tls.ts): its own pool, so a socket that trusts its CAs
   * or presents its client certificate never carries another connection's request.
   */
  forAccount(accountNetworks: readonly string[], tls?: TlsMaterial | null): Dispatcher;
  close(): Promise<void>;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * One pool: the address check runs inside the connection's own DNS lookup, so the address checked is
 * the address connected to: a name that resolves to a public address at creation and to 127.0.0.1
 * later (DNS rebinding) is still refused. The lookup does not see the port (the own-listener check
 * needs it), so there is one connector per destination port.
 */
function createPool(refuse: Refusal, connections: number, tls?: TlsMaterial): Agent {
  const guardedLookup = (port: number | undefined) => (hostname: string, options: object, callback: LookupCallback): void => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, []);
      const list = addresses as LookupAddress[];
      for (const a of list) {
        const reason = refuse(a.address, port);
        if (reason) return callback(new RefusedAddressError(`${hostname} resolves to ${reason}`), []);
      }
      if ((options as { all?: boolean }).all) return callback(null, list);
      const first = list[0];
      if (!first) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), []);
      callback(null, first.address, first.family);
    });
  };
  const connectors = new LruCache<number | undefined, buildConnector.connector>(64);
  const connect: buildConnector.connector = (opts, callback) => {
    const port = portOf(opts);
    // An IP literal involves no lookup: it is judged here.
    const ip = ipLiteral(opts.hostname);
    const reason = ip ? refuse(ip, port) : undefined;
    if (reason) return callback(new RefusedAddressError(reason), null);
    let connector = connectors.get(port);
    if (!connector) {
      // Verification stays on: a connection's CAs are added to the system's roots, never instead of checking.
      connector = buildConnector({ lookup: guardedLookup(port) as never, ...(tls ? tlsOptionsOf(tls) : {}), rejectUnauthorized: true });
      connectors.set(port, connector);
    }
    connector(opts, (err, socket) => {
      if (socket && 'encrypted' in socket) watchTlsSocket(socket, Boolean(tls?.client_certificate));
      callback(err as never, socket as never);
    });
  };
  return new Agent({ connections, keepAliveTimeout: 30_000, keepAliveMaxTimeout: 120_000, connect });
}

export function createDeliveryAgent(policy: NetworkPolicy, opts: { connections?: number } = {}): DeliveryAgent {
  const connections = opts.connections ?? 128;
  const shared = createPool(policy.forAccount([]), connections);
  // Few accounts have a list of their own; an evicted pool finishes its requests, then closes.
  const pools = new LruCache<string, Agent>(256, (_k, pool) => void pool.close().catch(() => undefined));
  return {
    forAccount(accountNetworks, tls) {
      const ownTls = tls && (tls.ca_certificates || tls.client_certificate) ? tls : undefined;
      if (accountNetworks.length === 0 && !ownTls) return shared;
      const key = `${[...accountNetworks].sort().join(',')}|${ownTls ? tlsKeyOf(ownTls) : ''}`;
      let pool = pools.get(key);
      if (!pool) {
        pool = createPool(policy.forAccount(accountNetworks), connections, ownTls);
        pools.set(key, pool);
      }
      return pool;
    },
    async close() {
      pools.clear();
      await shared.close();
    },
  };
}

/** Checks a URL whose host is an IP literal before anything is sent (a clearer error than the connect one). */
export function refuseLiteral(policy: NetworkPolicy, url: URL, accountNetworks: readonly string[] = []): string | undefined {
  const ip = ipLiteral(url.hostname);
  return ip ? policy.refuse(ip, portOf(url), accountNetworks) : undefined;
}
