/**
 * HTTPS to a log, trusting only the given CA; untrusted input is returned as bytes. Redirects are
 * followed within the log's origin only (never to plain HTTP, never with the body elsewhere), and
 * every request — connect to last byte — has a deadline (60 s unless the endpoint says otherwise).
 */
import { AirgapError } from '../errors.js';
import { httpRequest, readAll } from '../util/http.js';
import { parseUntrustedJson } from '../util/untrusted-json.js';
import { printable } from '../util/untrusted-text.js';

export interface LogEndpoint {
  /** e.g. https://rekor.example.internal:3443 */
  url: string;
  /** PEM of the only CA trusted for this log. */
  ca: string;
  /** Connect to this address instead of resolving the URL's host (TLS still checks the host). */
  connectAddress?: string | undefined;
  /** Each request, connect to last byte, within this (default 60 s). */
  timeoutMs?: number | undefined;
}

export interface LogResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** The largest answer read from a log (a tile is 8 KiB, an entry bundle at most 16 MiB). */
const MAX_ANSWER = 32 * 1024 * 1024;

export async function logRequest(
  ep: LogEndpoint,
  method: 'GET' | 'POST',
  path: string,
  json?: unknown,
  raw?: { body: Buffer; contentType: string },
): Promise<LogResponse> {
  const url = new URL(path.replace(/^\//, ''), ep.url.endsWith('/') ? ep.url : `${ep.url}/`);
  const body = raw ? raw.body : json === undefined ? undefined : Buffer.from(JSON.stringify(json));
  const res = await httpRequest(url, {
    method,
    ca: ep.ca,
    errorPrefix: 'SMOKE',
    ...(ep.timeoutMs ? { deadlineMs: ep.timeoutMs } : {}),
    ...(ep.connectAddress ? { connectAddress: ep.connectAddress } : {}),
    headers: body
      ? {
          'content-type': raw?.contentType ?? 'application/json',
          'content-length': String(body.length),
          accept: raw ? '*/*' : 'application/json',
        }
      : { accept: '*/*' },
    ...(body ? { body } : {}),
  });
  return { status: res.status, headers: res.headers, body: await readAll(res.body, MAX_ANSWER, 'SMOKE') };
}

/** A JSON object from the log (not null, not a list), or SMOKE_BAD_RESPONSE. */
export function parseJsonBody<T extends object>(res: LogResponse, what: string): Partial<T> {
  return parseJsonText<T>(res.body, `${what}: the log answered HTTP ${res.status}`);
}

/** A JSON object from the log, or SMOKE_BAD_RESPONSE (size and nesting capped). */
export function parseJsonText<T extends object>(text: string | Uint8Array, what: string): Partial<T> {
  const v = parseUntrustedJson(text, { what: `${what} with a body that`, code: 'SMOKE_BAD_RESPONSE' });
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new AirgapError('SMOKE_BAD_RESPONSE', `${what} with JSON that is not an object: ${show(v)}`);
  return v as Partial<T>;
}

/** A log's text answer (a health check, an error) for a message: escaped and cut short. */
export function showText(body: Uint8Array | string): string {
  return printable(
    typeof body === 'string'
      ? body.trim()
      : Buffer.from(body.buffer, body.byteOffset, Math.min(body.length, 4096)).toString('utf8').trim(),
    { max: 300 },
  );
}

/** A list from the log, or SMOKE_BAD_RESPONSE (absent is an empty list). */
export function decodeList(v: unknown, what: string): unknown[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new AirgapError('SMOKE_BAD_RESPONSE', `${what} is not a list`);
  return v;
}

export function decodeB64(s: unknown, what: string): Uint8Array {
  if (typeof s !== 'string' || !/^[A-Za-z0-9+/_-]*={0,2}$/.test(s))
    throw new AirgapError('SMOKE_BAD_RESPONSE', `${what} is not base64`);
  return new Uint8Array(Buffer.from(s.replace(/-/g, '+').replace(/_/g, '/'), 'base64'));
}

export function decodeInt(s: unknown, what: string): number {
  const n = typeof s === 'number' ? s : typeof s === 'string' && /^\d+$/.test(s) ? Number(s) : NaN;
  if (!Number.isSafeInteger(n))
    throw new AirgapError('SMOKE_BAD_RESPONSE', `${what} is not a whole number: ${JSON.stringify(s)}`);
  return n;
}

/** An untrusted value for a message: never throws (an object may have no usable toString). */
export function show(v: unknown): string {
  if (typeof v === 'string') return printable(v, { max: 200 });
  if (typeof v === 'number' || typeof v === 'boolean' || v === undefined || v === null) return String(v);
  try {
    return printable(JSON.stringify(v) ?? typeof v, { max: 200 });
  } catch {
    return `(a ${typeof v})`;
  }
}
