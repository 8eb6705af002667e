import { lookup } from 'node:dns/promises';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import type { Config } from '../config.ts';
import { isThisHost, parseAddress, portOf, type OwnListener } from './network-policy.ts';

/** The Temporal frontend the roles use when TEMPORAL_ADDRESS is unset: the dev server `npm start` runs. */
export const localTemporal = (config: Pick<Config, 'TEMPORAL_PORT'>): string => `127.0.0.1:${config.TEMPORAL_PORT}`;

interface Endpoint {
  name: string;
  host: string;
  port: number;
}

function hostPort(address: string, defaultPort: number): { host: string; port: number } | undefined {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(address) ?? /^([^:]+)(?::(\d+))?$/.exec(address);
  return m ? { host: m[1]!, port: m[2] ? Number(m[2]) : defaultPort } : undefined;
}

function fromUrl(name: string, raw: string | undefined): Endpoint | undefined {
  if (!raw || !URL.canParse(raw)) return undefined;
  const url = new URL(raw);
  const port = portOf(url);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return port && host ? { name, host, port } : undefined;
}

/** The product's own listeners that the configuration names (the API's actual port is added once it listens). */
function endpointsOf(config: Config): Endpoint[] {
  const out: (Endpoint | undefined)[] = [];
  // The API in the api/all roles, the metrics listener in the worker role.
  if (config.PORT) out.push({ name: config.VOICEOI_ROLE === 'worker' ? 'metrics listener (PORT)' : 'API (PORT)', host: config.HOST, port: config.PORT });
  const temporal = hostPort(config.TEMPORAL_ADDRESS ?? localTemporal(config), 7233);
  if (temporal) {
    out.push({ name: 'Temporal frontend (gRPC)', ...temporal });
    out.push({ name: 'Temporal frontend (HTTP API)', host: temporal.host, port: config.TEMPORAL_HTTP_PORT });
  }
  out.push({ name: 'Temporal UI (TEMPORAL_UI_PORT)', host: '127.0.0.1', port: config.TEMPORAL_UI_PORT });
  out.push(fromUrl('API (VOICEOI_PUBLIC_URL)', config.VOICEOI_PUBLIC_URL));
  // PostgreSQL (issue 14) and anything else behind a URL: add it here.
  out.push(fromUrl('database (DATABASE_URL)', config.DATABASE_URL));
  return out.filter((e): e is Endpoint => e !== undefined);
}

/**
 * Where each listener answers: on this host, every address of this host (a 0.0.0.0-bound listener
 * answers on all of them); elsewhere, the addresses its name resolves to now.
 */
async function locate(e: Endpoint, warn: (message: string) => void): Promise<OwnListener> {
  const literal = parseAddress(e.host);
  let addresses = literal ? [literal] : [];
  if (!literal && e.host !== 'localhost') {
    try {
      addresses = (await lookup(e.host, { all: true })).map((a) => parseAddress(a.address)!).filter(Boolean);
    } catch (err) {
      warn(`could not resolve ${e.host} (${e.name}) to protect it from destinations: ${(err as Error).message}`);
    }
  }
  const local = e.host === 'localhost' || addresses.some(isThisHost);
  return { name: e.name, port: e.port, ...(local ? {} : { addresses: addresses.map((a) => a.toString()) }) };
}

export async function ownListenersOf(config: Config, warn: (message: string) => void): Promise<OwnListener[]> {
  return Promise.all(endpointsOf(config).map((e) => locate(e, warn)));
}

/**
 * The TCP ports a process of ours listens on (the dev server opens more than it is told: metrics and
 * its internal services on random ports). Linux only, read from /proc; elsewhere none are found.
 */
export function listeningPorts(pid: number): number[] {
  try {
    const inodes = new Set<string>();
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m) inodes.add(m[1]!);
      } catch {
        // closed meanwhile
      }
    }
    const ports = new Set<number>();
    for (const table of ['tcp', 'tcp6']) {
      for (const line of readFileSync(`/proc/${pid}/net/${table}`, 'utf8').split('\n').slice(1)) {
        const f = line.trim().split(/\s+/);
        // local_address is HEXIP:HEXPORT, st 0A is LISTEN, inode is the tenth field.
        if (f[3] === '0A' && f[9] && inodes.has(f[9])) ports.add(parseInt(f[1]!.split(':')[1]!, 16));
      }
    }
    return [...ports].sort((a, b) => a - b);
  } catch {
    return [];
  }
}
