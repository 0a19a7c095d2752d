/**
 * A small HTTP(S) client over node:http/https: extra CA certificates, redirects (dropping
 * credentials when the host changes), and coded errors that name the host.
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { Readable } from 'node:stream';
import { AirgapError, type HttpErrorDomain } from '../errors.js';
import { asStreamBroken } from './retry.js';

export interface HttpOptions {
  method?: string;
  headers?: Record<string, string>;
  ca?: string | Buffer | undefined;
  body?: string | Buffer;
  /** A streamed request body, opened afresh for each request (set content-length in headers). */
  bodyStream?: () => Readable;
  timeoutMs?: number;
  maxRedirects?: number;
  /** Domain prefix of the error codes (REGISTRY_UNREACHABLE, SMOKE_UNREACHABLE, ...). */
  errorPrefix?: HttpErrorDomain;
  /** Connect here instead of the URL's host (TLS still checks the URL's host name). */
  connectAddress?: string;
}

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  url: URL;
  body: Readable;
}

/**
 * Loopback means an IP literal in 127.0.0.0/8, ::1, or the name `localhost` — never a name that
 * merely starts with "127." (127.attacker.example).
 */
export function isLoopbackHost(hostPort: string): boolean {
  let h = hostPort;
  const v6 = /^\[([^\]]+)\](?::\d+)?$/.exec(h);
  if (v6) h = v6[1]!;
  else if ((h.match(/:/g) ?? []).length === 1) h = h.replace(/:\d+$/, '');
  if (h === 'localhost' || h === '::1') return true;
  return net.isIPv4(h) && h.split('.')[0] === '127';
}

export async function httpRequest(url: URL, opts: HttpOptions = {}): Promise<HttpResponse> {
  let current = url;
  let headers = { ...(opts.headers ?? {}) };
  for (let hop = 0; hop <= (opts.maxRedirects ?? 5); hop++) {
    const res = await once(current, { ...opts, headers });
    if ([301, 302, 303, 307, 308].includes(res.status) && res.headers.location) {
      res.body.resume();
      const next = new URL(res.headers.location, current);
      // Credentials follow the origin (scheme, host and port): an https → http hop on the same
      // host, or any other origin, gets none.
      if (next.origin !== current.origin) {
        const { authorization: _drop, Authorization: _drop2, ...rest } = headers;
        headers = rest;
      }
      current = next;
      continue;
    }
    return res;
  }
  throw new AirgapError(`${opts.errorPrefix ?? 'REGISTRY'}_TOO_MANY_REDIRECTS` as const, `too many redirects from ${url.host}`);
}

function once(url: URL, opts: HttpOptions): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const mod = url.protocol === 'https:' ? https : http;
    const req = mod.request(url, {
      method: opts.method ?? 'GET',
      headers: opts.headers,
      ...(url.protocol === 'https:' && opts.ca ? { ca: opts.ca } : {}),
      ...(opts.connectAddress ? { lookup: ((_h: string, o: unknown, cb: (e: null, a: string | Array<{ address: string; family: number }>, f?: number) => void) => {
        const family = opts.connectAddress!.includes(':') ? 6 : 4;
        if ((o as { all?: boolean })?.all) cb(null, [{ address: opts.connectAddress!, family }]);
        else cb(null, opts.connectAddress!, family);
      }) as never, servername: url.hostname } : {}),
      timeout: opts.timeoutMs ?? 60_000,
    }, (res) => {
      resolve({ status: res.statusCode ?? 0, headers: res.headers, url, body: res });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${opts.timeoutMs ?? 60_000} ms`)));
    req.on('error', (e: NodeJS.ErrnoException) => {
      const tls = /certificate|self[- ]signed|SSL|TLS/i.test(e.message) || (e.code ?? '').startsWith('ERR_TLS') || (e.code ?? '').includes('CERT');
      const prefix = opts.errorPrefix ?? 'REGISTRY';
      reject(new AirgapError(tls ? `${prefix}_TLS` as const : `${prefix}_UNREACHABLE` as const,
        tls ? `TLS with ${url.host} failed: ${e.message}${prefix === 'REGISTRY' ? ' (pass its CA with --registry-ca)' : ' (the server is not trusted by the given CA)'}`
          : `cannot reach ${url.host}: ${e.code ?? ''} ${e.message}`.replace(/\s+/g, ' '),
        { cause: e, details: { host: url.host } }));
    });
    if (opts.bodyStream) {
      const src = opts.bodyStream();
      src.on('error', (e) => req.destroy(e));
      src.pipe(req);
      return;
    }
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

export async function readAll(body: Readable, limit = 64 * 1024 * 1024, domain: HttpErrorDomain = 'REGISTRY'): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  try {
    for await (const c of body) {
      n += (c as Buffer).length;
      if (n > limit) {
        body.destroy();
        throw new AirgapError(`${domain}_RESPONSE_TOO_LARGE` as const, `response larger than ${limit} bytes`);
      }
      chunks.push(c as Buffer);
    }
  } catch (e) {
    throw asStreamBroken(e, domain, 'response body');
  }
  return Buffer.concat(chunks);
}
