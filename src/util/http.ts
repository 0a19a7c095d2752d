/**
 * A small HTTP(S) client over node:http/https: extra CA certificates, a total deadline for every
 * request (connect, sending, headers and the body read to its end), redirects followed only as
 * far as the caller allows, and coded errors in the caller's domain that name the URL.
 *
 * Redirects: within the origin (scheme, host and port) by default. A caller that must follow
 * another origin (a registry's blob storage, a download's CDN) says so; then credentials are
 * dropped, a request body is never sent there, and plain HTTP is reached only where allowed.
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { Readable } from 'node:stream';
import { AirgapError, type ErrorCode, type HttpErrorDomain } from '../errors.js';
import { asStreamBroken } from './retry.js';
import { printable } from './untrusted-text.js';

/** The whole of one request, connect to last byte, unless the caller gives another. */
export const DEFAULT_DEADLINE_MS = 60_000;
/** The whole of one file download (an artifact, a Node.js runtime): 20 minutes. */
export const DOWNLOAD_DEADLINE_MS = 20 * 60_000;
/** A connection that stays silent this long is given up (within the deadline). */
const IDLE_MS = 60_000;

export interface HttpOptions {
  /** Domain of the error codes (REGISTRY_UNREACHABLE, SMOKE_TIMEOUT, ARTIFACT_TLS, ...). */
  errorPrefix: HttpErrorDomain;
  method?: string;
  headers?: Record<string, string>;
  ca?: string | Buffer | undefined;
  body?: string | Buffer;
  /** A streamed request body, opened afresh for each request (set content-length in headers). */
  bodyStream?: () => Readable;
  /** Everything — connect, sending, headers, redirects and the body read to its end — within this. */
  deadlineMs?: number;
  maxRedirects?: number;
  /** `same-origin` (the default): a redirect elsewhere is refused. `any-origin`: followed without credentials or body. */
  redirects?: 'same-origin' | 'any-origin';
  /** May a redirect lead to plain HTTP on this host:port? (Never from HTTPS when absent.) */
  plainHttpAllowed?: (hostPort: string) => boolean;
  /** Connect here instead of the URL's host (TLS still checks the URL's host name). */
  connectAddress?: string | undefined;
}

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  url: URL;
  body: Readable;
}

interface DomainCodes {
  tls: ErrorCode;
  unreachable: ErrorCode;
  timeout: ErrorCode;
  tooLarge: ErrorCode;
  tooManyRedirects: ErrorCode;
  redirectRefused: ErrorCode;
  /** A redirect to plain HTTP where it is not allowed. */
  plainHttp: ErrorCode;
  /** What to do about a certificate the client does not trust. */
  tlsHint: string;
}

const CODES: Record<HttpErrorDomain, DomainCodes> = {
  REGISTRY: {
    tls: 'REGISTRY_TLS',
    unreachable: 'REGISTRY_UNREACHABLE',
    timeout: 'REGISTRY_TIMEOUT',
    tooLarge: 'REGISTRY_RESPONSE_TOO_LARGE',
    tooManyRedirects: 'REGISTRY_TOO_MANY_REDIRECTS',
    redirectRefused: 'REGISTRY_REDIRECT_REFUSED',
    plainHttp: 'REGISTRY_PLAIN_HTTP_REFUSED',
    tlsHint: 'pass its CA with --registry-ca',
  },
  ARTIFACT: {
    tls: 'ARTIFACT_TLS',
    unreachable: 'ARTIFACT_UNREACHABLE',
    timeout: 'ARTIFACT_TIMEOUT',
    tooLarge: 'ARTIFACT_RESPONSE_TOO_LARGE',
    tooManyRedirects: 'ARTIFACT_TOO_MANY_REDIRECTS',
    redirectRefused: 'ARTIFACT_REDIRECT_REFUSED',
    plainHttp: 'ARTIFACT_REDIRECT_REFUSED',
    tlsHint: 'downloads trust the system CAs and those given with --registry-ca',
  },
  SMOKE: {
    tls: 'SMOKE_TLS',
    unreachable: 'SMOKE_UNREACHABLE',
    timeout: 'SMOKE_TIMEOUT',
    tooLarge: 'SMOKE_ANSWER_TOO_LARGE',
    tooManyRedirects: 'SMOKE_TOO_MANY_REDIRECTS',
    redirectRefused: 'SMOKE_REDIRECT_REFUSED',
    plainHttp: 'SMOKE_REDIRECT_REFUSED',
    tlsHint: 'the server is not trusted by the given CA',
  },
};

const REDIRECTS: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);

/** The URL each response body came from, for messages about reading it. */
const bodySource = new WeakMap<object, URL>();

/** A URL (which may come from a server's Location header) for a message. */
export function shownUrl(u: URL | string): string {
  return printable(typeof u === 'string' ? u : u.href, { max: 200 });
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

/** `headers` without Authorization (in any letter case). */
function withoutCredentials(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([k]) => k.toLowerCase() !== 'authorization'));
}

/** Where a redirect from `from` may go, or the coded refusal. */
function redirectTarget(from: URL, location: string, opts: HttpOptions, hasBody: boolean): URL {
  const codes = CODES[opts.errorPrefix];
  let to: URL;
  try {
    to = new URL(location, from);
  } catch (e) {
    throw new AirgapError(
      codes.redirectRefused,
      `${shownUrl(from)} redirected to ${JSON.stringify(printable(location, { max: 200 }))}, which is not a URL`,
      { cause: e },
    );
  }
  const refuse = (code: ErrorCode, why: string) =>
    new AirgapError(code, `${shownUrl(from)} redirected to ${shownUrl(to)}: refused, ${why}`, {
      details: { from: from.href, to: to.href },
    });
  if (to.protocol !== 'https:' && to.protocol !== 'http:')
    throw refuse(codes.redirectRefused, `${to.protocol} is not HTTP`);
  // Plain HTTP after HTTPS, or plain HTTP to another host, only where the caller allows it.
  if (
    to.protocol === 'http:' &&
    (from.protocol === 'https:' || to.host !== from.host) &&
    !opts.plainHttpAllowed?.(to.host)
  ) {
    throw refuse(codes.plainHttp, `plain HTTP is not allowed there${from.protocol === 'https:' ? ' after HTTPS' : ''}`);
  }
  if (to.origin !== from.origin) {
    if (opts.redirects !== 'any-origin')
      throw refuse(codes.redirectRefused, `redirects are followed only within ${from.origin}`);
    if (hasBody) throw refuse(codes.redirectRefused, 'a request body is not sent to another origin');
  }
  return to;
}

export async function httpRequest(url: URL, opts: HttpOptions): Promise<HttpResponse> {
  const deadlineMs = opts.deadlineMs ?? DEFAULT_DEADLINE_MS;
  const deadlineAt = Date.now() + deadlineMs;
  const hasBody = opts.body !== undefined || opts.bodyStream !== undefined;
  let current = url;
  let headers = { ...(opts.headers ?? {}) };
  let connectAddress = opts.connectAddress;
  for (let hop = 0; hop <= (opts.maxRedirects ?? 5); hop++) {
    const res = await once(current, { ...opts, headers, connectAddress }, deadlineAt, deadlineMs);
    if (!REDIRECTS.has(res.status) || !res.headers.location) return res;
    // The redirect's own body is not read: a server cannot hold the client with it.
    res.body.destroy();
    const next = redirectTarget(current, res.headers.location, opts, hasBody);
    // Credentials, and the address the URL's host was pinned to, follow the origin only.
    if (next.origin !== current.origin) {
      headers = withoutCredentials(headers);
      connectAddress = undefined;
    }
    current = next;
  }
  throw new AirgapError(CODES[opts.errorPrefix].tooManyRedirects, `too many redirects from ${shownUrl(url)}`);
}

/** One request under way: what its deadline and its error handler need to know. */
interface Exchange {
  url: URL;
  codes: DomainCodes;
  deadlineMs: number;
  /** The request was sent to its end. */
  sent: boolean;
  /** The answer, once its headers arrived. */
  res?: http.IncomingMessage;
}

function once(url: URL, opts: HttpOptions, deadlineAt: number, deadlineMs: number): Promise<HttpResponse> {
  const x: Exchange = { url, codes: CODES[opts.errorPrefix], deadlineMs, sent: false };
  return new Promise((resolve, reject) => {
    const mod = url.protocol === 'https:' ? https : http;
    const req = mod.request(url, requestOptions(url, opts, deadlineMs), (r) => {
      x.res = r;
      bodySource.set(r, url);
      // The deadline runs on while the caller reads the body; it ends with the body.
      r.once('close', () => clearTimeout(timer));
      resolve({ status: r.statusCode ?? 0, headers: r.headers, url, body: r });
    });
    // The deadline covers what an idle timeout does not: a server that sends a byte now and then.
    const timer = setTimeout(() => deadlinePassed(x, req), Math.max(0, deadlineAt - Date.now()));
    timer.unref();
    req.on('finish', () => {
      x.sent = true;
    });
    req.on('timeout', () => req.destroy(new Error(`no answer for ${formatSeconds(Math.min(IDLE_MS, deadlineMs))}`)));
    req.on('error', (e: NodeJS.ErrnoException) => {
      if (!x.res) clearTimeout(timer);
      reject(requestError(x, e));
    });
    sendBody(req, opts);
  });
}

/** node:http's options for one request: method, headers, CA, the pinned address, the idle timeout. */
function requestOptions(url: URL, opts: HttpOptions, deadlineMs: number): https.RequestOptions {
  return {
    method: opts.method ?? 'GET',
    headers: opts.headers,
    ...(url.protocol === 'https:' && opts.ca ? { ca: opts.ca } : {}),
    ...(opts.connectAddress
      ? {
          lookup: pinnedLookup(opts.connectAddress),
          ...(net.isIP(url.hostname) ? {} : { servername: url.hostname }),
        }
      : {}),
    timeout: Math.min(IDLE_MS, deadlineMs),
  };
}

/** A DNS lookup that answers every name with `address` (TLS still checks the URL's host name). */
function pinnedLookup(address: string): net.LookupFunction {
  return ((
    _h: string,
    o: unknown,
    cb: (e: null, a: string | Array<{ address: string; family: number }>, f?: number) => void,
  ) => {
    const family = address.includes(':') ? 6 : 4;
    if ((o as { all?: boolean })?.all) cb(null, [{ address, family }]);
    else cb(null, address, family);
  }) as never;
}

/** The deadline passed: the request, or the body being read, ends with DOMAIN_TIMEOUT naming what it waited for. */
function deadlinePassed(x: Exchange, req: http.ClientRequest): void {
  const { url, res } = x;
  const waiting = res ? 'the body' : x.sent ? "the answer's headers" : 'the connection and the sending of the request';
  const err = new AirgapError(
    x.codes.timeout,
    `${shownUrl(url)}: gave up after ${formatSeconds(x.deadlineMs)} waiting for ${waiting}`,
    { details: { url: url.href, waitingFor: res ? 'body' : 'headers' } },
  );
  if (!res) req.destroy(err);
  // A body nobody reads any more (an error answer that was only drained) ends quietly.
  else res.destroy(res.listenerCount('error') > 0 ? err : undefined);
}

/** A failed request as a coded error: TLS (with the domain's hint) or unreachable; coded errors pass as they are. */
function requestError(x: Exchange, e: NodeJS.ErrnoException): AirgapError {
  if (e instanceof AirgapError) return e;
  const { url, codes } = x;
  const tls =
    /certificate|self[- ]signed|SSL|TLS/i.test(e.message) ||
    (e.code ?? '').startsWith('ERR_TLS') ||
    (e.code ?? '').includes('CERT');
  return new AirgapError(
    tls ? codes.tls : codes.unreachable,
    tls
      ? `TLS with ${url.host} failed: ${e.message} (${codes.tlsHint})`
      : `cannot reach ${url.host}: ${e.code ?? ''} ${e.message}`.replace(/\s+/g, ' '),
    { cause: e, details: { host: url.host } },
  );
}

/** Sends the request's body (a stream, or bytes) and ends it. */
function sendBody(req: http.ClientRequest, opts: HttpOptions): void {
  if (opts.bodyStream) {
    const src = opts.bodyStream();
    src.on('error', (e) => req.destroy(e));
    src.pipe(req);
    return;
  }
  if (opts.body !== undefined) req.write(opts.body);
  req.end();
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}

/**
 * Reads a whole body of at most `limit` bytes, or throws DOMAIN_RESPONSE_TOO_LARGE (for a log:
 * SMOKE_ANSWER_TOO_LARGE) — at once when the declared Content-Length is already too large.
 */
export async function readAll(body: Readable, limit: number, domain: HttpErrorDomain): Promise<Buffer> {
  const codes = CODES[domain];
  const from = bodySource.get(body);
  const tooLarge = (size: string) => {
    body.destroy();
    return new AirgapError(
      codes.tooLarge,
      `${from ? `${shownUrl(from)}: ` : ''}the answer is ${size}, more than the ${limit} bytes accepted`,
    );
  };
  const declared = (body as Partial<http.IncomingMessage>).headers?.['content-length'];
  if (declared !== undefined && /^\d+$/.test(declared) && Number(declared) > limit)
    throw tooLarge(`${declared} bytes long (Content-Length)`);
  const chunks: Buffer[] = [];
  let n = 0;
  try {
    for await (const c of body) {
      n += (c as Buffer).length;
      if (n > limit) throw tooLarge('longer');
      chunks.push(c as Buffer);
    }
  } catch (e) {
    throw asStreamBroken(e, domain, from ? shownUrl(from) : 'response body');
  }
  return Buffer.concat(chunks);
}
