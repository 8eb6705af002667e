import { BlockList, isIP } from 'node:net';

export interface NetworkPolicyOptions {
  blockPrivateNetworks: boolean;
  /** CIDRs that stay reachable even when private networks are blocked. */
  allowedNetworks: string[];
}

export interface NetworkPolicy {
  /** A reason when this resolved address must not be contacted, else undefined. */
  refuse(address: string): string | undefined;
}

type Family = 'ipv4' | 'ipv6';

function addCidr(list: BlockList, cidr: string): void {
  const [net, bits] = cidr.split('/');
  const family = isIP(net ?? '');
  if (!net || !family || bits === undefined || !/^\d+$/.test(bits)) throw new Error(`'${cidr}' is not a CIDR such as 10.1.0.0/16 or fd00::/8`);
  const prefix = Number(bits);
  if (prefix > (family === 4 ? 32 : 128)) throw new Error(`'${cidr}' has a prefix longer than the address`);
  list.addSubnet(net, prefix, family === 4 ? 'ipv4' : 'ipv6');
}

function listOf(cidrs: string[]): BlockList {
  const list = new BlockList();
  for (const c of cidrs) addCidr(list, c);
  return list;
}

// Link-local covers the cloud metadata services (169.254.169.254, fd00:ec2::254 sits in ULA but AWS
// also answers on the link-local one); these are refused whatever the configuration says.
const alwaysRefused = listOf(['169.254.0.0/16', 'fe80::/10', '0.0.0.0/8', '::/128', '224.0.0.0/4', 'ff00::/8', 'fd00:ec2::254/128']);
const privateRanges = listOf(['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '127.0.0.0/8', '100.64.0.0/10', '::1/128', 'fc00::/7']);

/** Strips IPv4-mapped IPv6 (::ffff:169.254.169.254) down to the IPv4 address it really names. */
function normalise(address: string): { address: string; family: Family } | undefined {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  const a = mapped?.[1] ?? address;
  const fam = isIP(a);
  if (!fam) return undefined;
  return { address: a, family: fam === 4 ? 'ipv4' : 'ipv6' };
}

export function createNetworkPolicy(opts: NetworkPolicyOptions): NetworkPolicy {
  const allowed = listOf(opts.allowedNetworks);
  return {
    refuse(raw) {
      const n = normalise(raw);
      if (!n) return `'${raw}' is not an IP address`;
      if (alwaysRefused.check(n.address, n.family))
        return `${n.address} is a link-local, metadata, multicast or unspecified address, which is never contacted`;
      if (opts.blockPrivateNetworks && privateRanges.check(n.address, n.family) && !allowed.check(n.address, n.family))
        return `${n.address} is on a private or loopback network, blocked by VOICEOI_BLOCK_PRIVATE_NETWORKS (add it to VOICEOI_ALLOWED_NETWORKS to allow it)`;
      return undefined;
    },
  };
}

/** The host of a URL as an IP literal (brackets removed), or undefined for a name. */
export function ipLiteral(hostname: string): string | undefined {
  const h = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
  return isIP(h) ? h : undefined;
}
