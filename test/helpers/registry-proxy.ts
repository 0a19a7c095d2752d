/**
 * A loopback HTTP proxy in front of the rig's plain registry, for faults a real registry would
 * not produce on demand: a blob download that hangs (to interrupt a create) or a flipped byte.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ProxyFaults {
  /** Hang every blob request after this many have been served. */
  stallBlobsAfter?: number;
  /** Flip one byte in the body of every layer blob larger than 1 MiB. */
  corruptLargeBlobs?: boolean;
  /** Let this many blob uploads (PUT to an upload session) through, then cut every later one's connection. */
  cutUploadsAfter?: number;
}

export interface RegistryProxy {
  host: string;
  /** Settles when the first blob request is held (with `stallBlobsAfter`). */
  stalled: Promise<void>;
  close: () => Promise<void>;
}

export async function startRegistryProxy(upstream: string, faults: ProxyFaults): Promise<RegistryProxy> {
  let blobs = 0;
  let markStalled = () => {};
  const stalled = new Promise<void>((r) => {
    markStalled = r;
  });
  let uploads = 0;
  const server = http.createServer((req, res) => {
    const isUpload = req.method === 'PUT' && /\/blobs\/uploads\//.test(req.url ?? '');
    if (isUpload && faults.cutUploadsAfter !== undefined && uploads++ >= faults.cutUploadsAfter) {
      req.socket.destroy();
      return;
    }
    const isBlob = /\/blobs\/sha256:/.test(req.url ?? '');
    if (isBlob && faults.stallBlobsAfter !== undefined && blobs++ >= faults.stallBlobsAfter) {
      markStalled();
      return; // hang
    }
    const up = http.request(
      `http://${upstream}${req.url}`,
      { method: req.method, headers: { ...req.headers, host: upstream, 'x-forwarded-host': req.headers.host ?? '' } },
      (ur) => {
        const big = Number(ur.headers['content-length'] ?? 0) > 1024 * 1024;
        res.writeHead(ur.statusCode ?? 502, ur.headers);
        if (isBlob && faults.corruptLargeBlobs && big) {
          let flipped = false;
          ur.on('data', (c: Buffer) => {
            if (!flipped) {
              c[100] = c[100]! ^ 0xff;
              flipped = true;
            }
            res.write(c);
          });
          ur.on('end', () => res.end());
        } else {
          ur.pipe(res);
        }
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    host: `127.0.0.1:${port}`,
    stalled,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
