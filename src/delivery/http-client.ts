import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { Agent, type Dispatcher } from 'undici';
import { ipLiteral, type NetworkPolicy } from './network-policy.ts';

export class RefusedAddressError extends Error {
  readonly code = 'address_refused';
}

/**
 * The pooled HTTP agent for deliveries. The address check runs inside the connection's own DNS
 * lookup, so the address checked is the address connected to: a name that resolves to a public
 * address at creation and to 169.254.169.254 later (DNS rebinding) is still refused.
 */
export function createDeliveryAgent(policy: NetworkPolicy, opts: { connections?: number } = {}): Dispatcher {
  const guardedLookup = (
    hostname: string,
    options: object,
    callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
  ): void => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, []);
      const list = addresses as LookupAddress[];
      for (const a of list) {
        const reason = policy.refuse(a.address);
        if (reason) return callback(new RefusedAddressError(`${hostname} resolves to ${reason}`), []);
      }
      if ((options as { all?: boolean }).all) return callback(null, list);
      const first = list[0];
      if (!first) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), []);
      callback(null, first.address, first.family);
    });
  };
  return new Agent({
    connections: opts.connections ?? 128,
    keepAliveTimeout: 30_000,
    keepAliveMaxTimeout: 120_000,
    connect: { lookup: guardedLookup as never },
  });
}

/** Checks a URL whose host is an IP literal (no DNS lookup happens for those at connect time). */
export function refuseLiteral(policy: NetworkPolicy, url: URL): string | undefined {
  const ip = ipLiteral(url.hostname);
  return ip ? policy.refuse(ip) : undefined;
}
