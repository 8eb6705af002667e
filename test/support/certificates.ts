import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ReceivedRequest } from './receiver.ts';

/** A PEM certificate and its key, as a BPO's security team hands them over. */
export interface Issued {
  cert: string;
  key: string;
}

/**
 * A private CA made with Debian's `openssl` CLI, as a BPO's internal PKI would: it issues server
 * certificates (for 127.0.0.1 and localhost) and client certificates. `days` may be negative (an
 * expired certificate) or small (one about to expire).
 */
export interface PrivateCa extends Issued {
  issue(opts: { cn: string; days?: number; server?: boolean }): Issued;
}

export function createPrivateCa(name: string): PrivateCa {
  const dir = mkdtempSync(join(tmpdir(), 'voiceoi-ca-'));
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const ecKey = (file: string) => run('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file);
  // Everything is read into memory as it is made; the files go when the test process ends.
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  ecKey('ca.key');
  run('req', '-x509', '-new', '-key', 'ca.key', '-out', 'ca.pem', '-days', '30', '-subj', `/O=${name}/CN=${name} Root CA`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  const ca = { cert: readFileSync(join(dir, 'ca.pem'), 'utf8'), key: readFileSync(join(dir, 'ca.key'), 'utf8') };
  let serial = 0;
  return {
    ...ca,
    issue({ cn, days = 30, server = false }) {
      const n = ++serial;
      ecKey(`${n}.key`);
      run('req', '-new', '-key', `${n}.key`, '-out', `${n}.csr`, '-subj', `/O=${name}/CN=${cn}`);
      writeFileSync(join(dir, `${n}.ext`), server
        ? 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n'
        : 'extendedKeyUsage=clientAuth\n');
      run('x509', '-req', '-in', `${n}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-set_serial', String(1000 + n), '-days', String(days), '-extfile', `${n}.ext`, '-out', `${n}.pem`);
      return { cert: readFileSync(join(dir, `${n}.pem`), 'utf8'), key: readFileSync(join(dir, `${n}.key`), 'utf8') };
    },
  };
}

/** A real HTTPS receiver on loopback: with `clientCa`, it requires a client certificate that CA issued. */
export interface HttpsReceiver {
  url: string;
  requests: (ReceivedRequest & { clientCertificate?: string })[];
  close(): Promise<void>;
}

export async function startHttpsReceiver(server: Issued, opts: { clientCa?: string; respond?: (req: ReceivedRequest) => { status: number; body?: string; headers?: Record<string, string> } } = {}): Promise<HttpsReceiver> {
  const requests: HttpsReceiver['requests'] = [];
  const https: Server = createServer(
    { cert: server.cert, key: server.key, ...(opts.clientCa ? { ca: opts.clientCa, requestCert: true, rejectUnauthorized: true } : {}) },
    (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const peer = (req.socket as import('node:tls').TLSSocket).getPeerCertificate?.();
        const rec = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString(), at: Date.now(), clientCertificate: peer?.subject?.CN as string | undefined };
        requests.push(rec);
        const r = opts.respond?.(rec) ?? { status: 200 };
        res.writeHead(r.status, { 'content-type': 'application/json', ...r.headers });
        res.end(r.body ?? '');
      });
    },
  );
  await new Promise<void>((r) => https.listen(0, '127.0.0.1', r));
  return {
    url: `https://127.0.0.1:${(https.address() as AddressInfo).port}`,
    requests,
    close: () => new Promise<void>((r) => { https.closeAllConnections(); https.close(() => r()); }),
  };
}
