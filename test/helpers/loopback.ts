/**
 * Hostile servers for the network tests, on loopback addresses only (127.0.0.0/8): a certificate
 * for them, listening, and a count of the connections each one received.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { AddressInfo, Server } from 'node:net';
import path from 'node:path';
import { tempDir } from './fixtures.js';

export interface TestCert {
  key: Buffer;
  cert: Buffer;
  /** The certificate as the CA to trust (it is self-signed). */
  ca: string;
  /** The file holding `ca`. */
  caFile: string;
}

/** A self-signed P-256 certificate for `localhost` and the given loopback IPs. */
export function loopbackCert(ips: string[] = ['127.0.0.1']): TestCert {
  if (!ips.every((ip) => ip.startsWith('127.'))) throw new Error('test servers listen on loopback addresses only');
  const dir = tempDir('loopback-tls-');
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      `subjectAltName=DNS:localhost,${ips.map((ip) => `IP:${ip}`).join(',')}`,
    ],
    { stdio: 'pipe' },
  );
  return { key: readFileSync(key), cert: readFileSync(cert), ca: readFileSync(cert, 'utf8'), caFile: cert };
}

/** Listens on a loopback address (port 0: any free one) and returns the port. */
export async function listenLoopback(server: Server, host = '127.0.0.1', port = 0): Promise<number> {
  if (!host.startsWith('127.')) throw new Error('test servers listen on loopback addresses only');
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

/** Counts the TCP connections a server accepts (before any TLS or HTTP). */
export function countConnections(server: Server): { readonly count: number; reset(): void } {
  let n = 0;
  server.on('connection', () => {
    n++;
  });
  return {
    get count() {
      return n;
    },
    reset() {
      n = 0;
    },
  };
}

/** Closes servers and every connection they still hold. */
export async function closeAll(...servers: Array<Server | undefined>): Promise<void> {
  await Promise.all(
    servers.map(
      (s) =>
        s &&
        new Promise<void>((r) => {
          (s as Server & { closeAllConnections?: () => void }).closeAllConnections?.();
          s.close(() => r());
        }),
    ),
  );
}
