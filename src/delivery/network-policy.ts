import { networkInterfaces } from 'node:os';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import type { z } from 'zod';

export type Address = ipaddr.IPv4 | ipaddr.IPv6;
type Cidr = [Address, number];

/** A listener of this product (API, Temporal, database…): never a destination, whatever is allowed. */
export interface OwnListener {
  /** What it is, as the refusal names it: "API (PORT)". */
  name: string;
  port: number;
  /** Addresses it answers on; omitted: this host (loopback, unspecified and every interface address). */
  addresses?: string[];
}

export interface NetworkPolicyOptions {
  /** Operator-opened CIDRs for the whole install (VOICEOI_ALLOWED_NETWORKS). */
  allowedNetworks: string[];
  ownListeners?: OwnListener[];
}

/** A reason when `address:port` must not be contacted, else undefined (no port: one no listener of ours has). */
export type Refusal = (address: string, port: number | undefined) => string | undefined;

export interface NetworkPolicy {
  /**
   * A reason when `address:port` must not be contacted, else undefined. `accountNetworks` are the
   * CIDRs an operator opened for the one account the request is made for.
   */
  refuse(address: string, port: number | undefined, accountNetworks?: readonly string[]): string | undefined;
  /** `refuse` for one account's list, parsed once: what a pool of the delivery agent holds. */
  forAccount(accountNetworks: readonly string[]): Refusal;
  /** Listeners learned after start (the API's port once it listens, a dev server's ports). */
  addOwnListener(listener: OwnListener): void;
}

// Always refused, whatever an allow-list says: nothing a BPO delivers to lives there, and they are
// the classic SSRF targets (instance metadata, the link's own hosts, every listener on the box).
const NEVER_NAMES: Record<string, string> = { unspecified: 'unspecified', broadcast: 'broadcast', multicast: 'multicast', linkLocal: 'link-local' };
const NEVER: ReadonlySet<string> = new Set(Object.keys(NEVER_NAMES));

// Metadata services at addresses that are not link-local (ipaddr.js has no range for these).
const METADATA = new Map<string, string>([
  ['169.254.169.254', 'the cloud instance metadata service'],
  ['169.254.170.2', 'the AWS ECS task metadata service'],
  ['fd00:ec2::254', 'the AWS instance metadata service (IPv6)'],
  ['fd00:ec2::23', 'the AWS DNS resolver (IPv6)'],
  ['100.100.100.200', 'the Alibaba Cloud metadata service'],
  ['192.0.0.192', 'the Oracle Cloud metadata service'],
  ['168.63.129.16', 'the Azure platform endpoint (WireServer)'],
]);

const RANGE_TEXT: Record<string, string> = {
  loopback: 'a loopback address',
  private: 'a private (RFC 1918) address',
  uniqueLocal: 'a unique local (ULA, fc00::/7) address',
  carrierGradeNat: 'a carrier-grade NAT (100.64.0.0/10) address',
  reserved: 'a reserved or documentation address',
  benchmarking: 'a benchmarking address',
  unspecified: 'the unspecified address',
  broadcast: 'the broadcast address',
  multicast: 'a multicast address',
  linkLocal: 'a link-local address',
};
const rangeText = (range: string) => RANGE_TEXT[range] ?? `in the special-purpose range '${range}'`;

const HOW_TO_OPEN =
  'which destinations may not reach unless an operator opens that network (VOICEOI_ALLOWED_NETWORKS for the install, or the account\'s allowed_networks)';

/** Parses an address as a host name or a resolver gives it, brackets and odd IPv4 spellings included. */
export function parseAddress(raw: string): Address | undefined {
  const text = raw.startsWith('[') && raw.endsWith(']') ? raw.slice(1, -1) : raw;
  // ipaddr.js also reads the inet_aton spellings (2130706433, 0x7f.1, 0177.0.0.1) the way resolvers do.
  if (!ipaddr.isValid(text)) return undefined;
  try {
    return ipaddr.parse(text);
  } catch {
    return undefined;
  }
}

const v4 = (hi: number, lo: number) => new ipaddr.IPv4([hi >> 8, hi & 0xff, lo >> 8, lo & 0xff]);

/**
 * The IPv4 addresses an IPv6 address carries, with the form's name: where a packet to it really goes
 * (a NAT64 gateway, a 6to4 or Teredo relay, or the v4 stack for mapped and compatible forms).
 */
function embeddedIPv4(a: ipaddr.IPv6): { form: string; inner: ipaddr.IPv4[] } | undefined {
  const p = a.parts;
  switch (a.range()) {
    case 'ipv4Mapped':
      return { form: 'IPv4-mapped', inner: [v4(p[6]!, p[7]!)] };
    case 'rfc6145':
      return { form: 'IPv4-translated', inner: [v4(p[6]!, p[7]!)] };
    case 'rfc6052':
      // 64:ff9b::/96 puts the IPv4 last; the local-use 64:ff9b:1::/48 may use any RFC 6052 length,
      // so both the /96 and the /48 layouts are judged.
      return p[2] === 1
        ? { form: 'NAT64', inner: [v4(p[6]!, p[7]!), v4(p[3]!, ((p[4]! & 0xff) << 8) | (p[5]! >> 8))] }
        : { form: 'NAT64', inner: [v4(p[6]!, p[7]!)] };
    case '6to4':
      return { form: '6to4', inner: [v4(p[1]!, p[2]!)] };
    case 'teredo':
      // The server, then the client (stored inverted, RFC 4380).
      return { form: 'Teredo', inner: [v4(p[2]!, p[3]!), v4(p[6]! ^ 0xffff, p[7]! ^ 0xffff)] };
  }
  // IPv4-compatible ::a.b.c.d (deprecated, but stacks still route some of it); :: and ::1 are their own ranges.
  if (p.slice(0, 6).every((x) => x === 0) && (p[6] !== 0 || p[7]! > 1)) return { form: 'IPv4-compatible', inner: [v4(p[6]!, p[7]!)] };
  return undefined;
}

/** Why `text` is not an allow-list entry, or undefined when it is one. */
export function cidrProblem(text: string): string | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return `'${text}' is not a CIDR such as 10.20.0.0/16 or fd00:1234::/32 (one address is written with /32 or /128)`;
  const addr = text.slice(0, slash);
  const bits = text.slice(slash + 1);
  const family = isIP(addr);
  if (!family) return `'${text}': '${addr}' is not an IPv4 or IPv6 address`;
  const max = family === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(bits) || Number(bits) > max) return `'${text}': the prefix length must be a number from 0 to ${max}`;
  const [ip, prefix] = ipaddr.parseCIDR(text) as Cidr;
  const network = (family === 4 ? ipaddr.IPv4 : ipaddr.IPv6).networkAddressFromCIDR(text);
  if (network.toString() !== ip.toString()) return `'${text}' has bits set past its /${prefix} prefix: write ${network.toString()}/${prefix}`;
  const last = (family === 4 ? ipaddr.IPv4 : ipaddr.IPv6).broadcastAddressFromCIDR(text);
  if (ip.kind() === 'ipv6' && embeddedIPv4(ip as ipaddr.IPv6) && embeddedIPv4(last as ipaddr.IPv6))
    return `'${text}' holds IPv6 forms of IPv4 addresses, which are judged by the IPv4 inside: list the IPv4 network instead`;
  const range = ip.range();
  if (NEVER.has(range) && last.range() === range) return `'${text}' holds only ${NEVER_NAMES[range]} addresses, which no allow-list opens`;
  return undefined;
}

/** A zod refinement: an issue, in cidrProblem's words, for each entry that is not an allow-list entry. */
export function refineCidrs(value: string | readonly string[], ctx: z.core.$RefinementCtx): void {
  for (const c of typeof value === 'string' ? [value] : value) {
    const problem = cidrProblem(c);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  }
}

/** The allow-list entries of `list`; one that is not an entry goes to `bad` (which may throw) and is left out. */
function parseCidrs(list: readonly string[], bad: (problem: string) => void): Cidr[] {
  const cidrs: Cidr[] = [];
  for (const c of list) {
    const problem = cidrProblem(c);
    if (problem) bad(problem);
    else cidrs.push(ipaddr.parseCIDR(c) as Cidr);
  }
  return cidrs;
}

const within = (a: Address, nets: readonly Cidr[]) => nets.some(([net, bits]) => net.kind() === a.kind() && a.match(net, bits));

// Interfaces come and go, but reading them on every connect costs more than the connect's own check.
const INTERFACES_TTL_MS = 1000;
let interfaces = { readAt: -Infinity, addresses: new Set<string>() };

/** This host's interface addresses (normalized), read again once they are a second old. */
function interfaceAddresses(): ReadonlySet<string> {
  const now = performance.now();
  if (now - interfaces.readAt >= INTERFACES_TTL_MS) {
    const addresses = new Set<string>();
    for (const list of Object.values(networkInterfaces())) {
      for (const i of list ?? []) {
        const a = parseAddress(i.address);
        if (a) addresses.add(a.toNormalizedString());
      }
    }
    interfaces = { readAt: now, addresses };
  }
  return interfaces.addresses;
}

/** Whether this host answers on `a` (loopback, unspecified, an interface's). */
export function isThisHost(a: Address): boolean {
  const range = a.range();
  // An IPv4 and an IPv6 address never normalize to the same text: the set needs no family.
  return range === 'loopback' || range === 'unspecified' || interfaceAddresses().has(a.toNormalizedString());
}

/** The listeners on one port: the one on every address of this host, and those on given addresses, by address. */
interface PortListeners {
  here?: string;
  at: Map<string, string>;
}

export function createNetworkPolicy(opts: NetworkPolicyOptions): NetworkPolicy {
  const installNetworks = parseCidrs(opts.allowedNetworks, (problem) => {
    throw new Error(`VOICEOI_ALLOWED_NETWORKS: ${problem}`);
  });
  // The first listener named for a port (and address) keeps its name: adding it again changes nothing.
  const listeners = new Map<number, PortListeners>();

  const ownListener = (a: Address, port: number | undefined): string | undefined => {
    const mine = port === undefined ? undefined : listeners.get(port);
    if (!mine) return undefined;
    return mine.at.get(a.toNormalizedString()) ?? (mine.here !== undefined && isThisHost(a) ? mine.here : undefined);
  };

  /** Judges one IPv4 or non-embedding IPv6 address; `shown` is how the message names it. */
  const judge = (a: Address, port: number | undefined, shown: string, account: readonly Cidr[]): string | undefined => {
    const metadata = METADATA.get(a.toString()) ?? METADATA.get(a.toNormalizedString());
    if (metadata) return `${shown} is ${metadata}, which is never contacted (no allow-list opens it)`;
    const range = a.range();
    if (NEVER.has(range)) return `${shown} is ${rangeText(range)}, which is never contacted (no allow-list opens it)`;
    const own = ownListener(a, port);
    if (own) return `${shown} port ${port} is this product's own ${own}, which is never a destination, even inside an allowed network; deliver to another host or port`;
    if (range === 'unicast' || within(a, installNetworks) || within(a, account)) return undefined;
    return `${shown} is ${rangeText(range)}, ${HOW_TO_OPEN}`;
  };

  const addOwnListener = (l: OwnListener) => {
    let mine = listeners.get(l.port);
    if (!mine) listeners.set(l.port, (mine = { at: new Map() }));
    if (!l.addresses) mine.here ??= l.name;
    for (const raw of l.addresses ?? []) {
      const text = parseAddress(raw)?.toNormalizedString();
      if (text !== undefined && !mine.at.has(text)) mine.at.set(text, l.name);
    }
  };
  for (const l of opts.ownListeners ?? []) addOwnListener(l);

  const refusalFor = (account: readonly Cidr[]): Refusal => (raw, port) => {
    const a = parseAddress(raw);
    if (!a) return `'${raw}' is not an IP address`;
    if (a.kind() === 'ipv6') {
      const embedded = embeddedIPv4(a as ipaddr.IPv6);
      if (embedded) {
        for (const inner of embedded.inner) {
          const reason = judge(inner, port, `${raw} (${embedded.form}, carrying ${inner.toString()})`, account);
          if (reason) return reason;
        }
        return undefined;
      }
    }
    return judge(a, port, a.kind() === 'ipv4' ? a.toString() : raw, account);
  };
  const installOnly = refusalFor([]);
  // Per-account lists were validated when the operator set them; a bad stored entry opens nothing.
  const forAccount = (list: readonly string[]): Refusal =>
    list.length ? refusalFor(parseCidrs(list, () => undefined)) : installOnly;

  return {
    refuse: (raw, port, accountNetworks = []) => forAccount(accountNetworks)(raw, port),
    forAccount,
    addOwnListener,
  };
}

/** The host of a URL as an IP address (brackets removed, IPv4 spelled canonically), or undefined for a name. */
export function ipLiteral(hostname: string): string | undefined {
  const a = parseAddress(hostname);
  return a?.toString();
}

const SCHEME_PORTS: Readonly<Record<string, number>> = { 'http:': 80, 'https:': 443, 'postgres:': 5432, 'postgresql:': 5432 };

/** The port a URL (or undici's connect options) connects to: its own, else its scheme's; undefined for a scheme it does not know. */
export const portOf = (url: { port: string; protocol: string }): number | undefined => (url.port ? Number(url.port) : SCHEME_PORTS[url.protocol]);
