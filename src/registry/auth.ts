/**
 * Registry authentication: the Docker Registry v2 token flow (a `Bearer` challenge answered by the
 * realm, anonymously or with basic credentials) and plain `Basic` auth.
 */
import { AirgapError } from '../errors.js';
import type { Credential } from './credentials.js';
import { httpRequest, readAll } from '../util/http.js';
import { readUntrustedJson } from '../util/untrusted-json.js';
import { printable } from '../util/untrusted-text.js';

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parses a WWW-Authenticate header: `Bearer realm="...",service="...",scope="..."`. */
export function parseChallenge(header: string): Challenge {
  const space = header.indexOf(' ');
  const scheme = (space < 0 ? header : header.slice(0, space)).trim();
  const params: Record<string, string> = {};
  const re = /([a-zA-Z_]+)=(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g;
  for (const m of header.slice(space + 1).matchAll(re)) params[m[1]!.toLowerCase()] = m[2] ?? m[3] ?? '';
  return { scheme, params };
}

export function basicHeader(c: Credential): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
}

/** A request for a bearer token, answering a registry's challenge. */
export interface BearerTokenRequest {
  /** The registry's `Bearer` challenge: the realm (the token service), service and scope. */
  challenge: Challenge;
  /** The scope asked for when the challenge names none. */
  scope: string;
  /** Sent to the token service as basic auth; anonymous without. */
  credential: Credential | undefined;
  /** The CA the token service's certificate must chain to (default: the system's). */
  ca?: string | Buffer | undefined;
  /** host[:port] of the registry that sent the challenge, for messages. */
  host: string;
  /** Whether plain HTTP is allowed to a host[:port] (default: to none). */
  plainAllowed?: (hostPort: string) => boolean;
  /** The token request within this (default: the HTTP client's). */
  deadlineMs?: number | undefined;
}

/**
 * Fetches a bearer token from the challenge's realm (within `deadlineMs`), for the scope the
 * challenge names, or the request's `scope` when it names none.
 */
export async function fetchBearerToken(r: BearerTokenRequest): Promise<string> {
  const { challenge, scope, credential, ca, host, plainAllowed = () => false, deadlineMs } = r;
  const realm = challenge.params.realm;
  if (!realm) throw new AirgapError('REGISTRY_AUTH_CHALLENGE', `${host} sent a Bearer challenge without a realm`);
  let url: URL;
  try {
    url = new URL(realm);
  } catch (e) {
    throw new AirgapError(
      'REGISTRY_AUTH_CHALLENGE',
      `${host} sent a Bearer realm that is not a URL: ${JSON.stringify(printable(realm, { max: 200 }))}`,
      { cause: e },
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new AirgapError(
      'REGISTRY_AUTH_CHALLENGE',
      `${host} sent a Bearer realm with scheme ${printable(url.protocol, { max: 20 })}`,
    );
  // Credentials never travel in clear, except to a host where plain HTTP is allowed.
  if (url.protocol === 'http:' && !plainAllowed(url.host)) {
    throw new AirgapError(
      'REGISTRY_PLAIN_HTTP_REFUSED',
      `${host} sent a token realm on plain HTTP (${url.host}); credentials go over HTTP only to loopback or a host given with --insecure-registry`,
    );
  }
  if (challenge.params.service) url.searchParams.set('service', challenge.params.service);
  url.searchParams.set('scope', challenge.params.scope ?? scope);
  // A redirect from the token service may go elsewhere, without the credentials.
  const res = await httpRequest(url, {
    errorPrefix: 'REGISTRY',
    headers: credential ? { authorization: basicHeader(credential) } : {},
    ca,
    redirects: 'any-origin',
    plainHttpAllowed: plainAllowed,
    ...(deadlineMs ? { deadlineMs } : {}),
  });
  const body = await readAll(res.body, 1024 * 1024, 'REGISTRY');
  if (res.status === 401 || res.status === 403) {
    throw new AirgapError(
      'REGISTRY_UNAUTHORIZED',
      `${host}: the token service ${url.host} refused ${credential ? `the credentials from ${credential.source}` : 'anonymous access (no credentials found for this registry)'} (HTTP ${res.status})`,
      { details: { host, tried: credential?.source ?? 'anonymous' } },
    );
  }
  if (res.status !== 200)
    throw new AirgapError('REGISTRY_AUTH_FAILED', `${host}: token service ${url.host} answered HTTP ${res.status}`);
  const answer = readUntrustedJson(body, {
    what: `${host}: the answer of token service ${url.host}`,
    code: 'REGISTRY_AUTH_FAILED',
  });
  const token = answer.at('token').optString() ?? answer.at('access_token').optString();
  if (!token) throw new AirgapError('REGISTRY_AUTH_FAILED', `${host}: token service ${url.host} sent no token`);
  // It goes into an Authorization header: visible ASCII only.
  if (!/^[\x21-\x7e]+$/.test(token))
    throw new AirgapError(
      'REGISTRY_AUTH_FAILED',
      `${host}: token service ${url.host} sent a token with characters a header cannot carry`,
    );
  return token;
}
