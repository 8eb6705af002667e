import { lookup } from 'node:dns/promises';
import { ipLiteral, portOf, type NetworkPolicy } from '../delivery/network-policy.ts';
import { refuseLiteral } from '../delivery/http-client.ts';
import { AppError } from '../errors.ts';

/**
 * Refuses, when a tenant sets it, a URL whose host is or resolves to an address the worker would
 * refuse for this account. The worker checks again on the address it connects to (DNS may change).
 */
export async function checkUrlAddress(
  policy: NetworkPolicy,
  raw: string,
  accountNetworks: readonly string[],
  opts: { field: string; code: string },
): Promise<void> {
  const url = new URL(raw);
  const literal = refuseLiteral(policy, url, accountNetworks);
  if (literal) throw new AppError(400, opts.code, `${opts.field}: ${literal}`);
  if (ipLiteral(url.hostname)) return;
  let addresses: { address: string }[];
  try {
    addresses = await lookup(url.hostname, { all: true });
  } catch {
    // A name only the worker's network resolves is legitimate; the connect-time check still guards it.
    return;
  }
  for (const a of addresses) {
    const reason = policy.refuse(a.address, portOf(url), accountNetworks);
    if (reason) throw new AppError(400, opts.code, `${opts.field}: ${url.hostname} resolves to ${reason}`);
  }
}
