/**
 * OCI distribution / Docker Registry v2 client: manifests and blobs, authentication challenges,
 * extra CA, plain HTTP only for loopback or an explicit insecure host, retries with backoff.
 *
 * Credentials follow the registry's origin on every request — pulls, uploads, mounts, manifests,
 * chunks: a redirect or an upload Location on another origin gets no Authorization, and plain
 * HTTP after HTTPS is refused unless it is allowed for that exact host. Every request has a total
 * deadline: `deadlineMs` (60 s), plus time for the bytes of a blob it carries.
 */
import type { Readable } from 'node:stream';
import { AirgapError } from '../errors.js';
import { sha256Digest } from '../oci/digest.js';
import { MANIFEST_ACCEPT, MediaType } from '../oci/media-types.js';
import { basicHeader, fetchBearerToken, parseChallenge } from './auth.js';
import type { Credential } from './credentials.js';
import {
  DEFAULT_DEADLINE_MS,
  httpRequest,
  isLoopbackHost,
  readAll,
  shownUrl,
  type HttpResponse,
} from '../util/http.js';
import { DEFAULT_RETRY, RETRYABLE_STATUS, withRetry, type RetryPolicy } from '../util/retry.js';
import { parseUntrustedJson, readUntrustedJson } from '../util/untrusted-json.js';
import { printable } from '../util/untrusted-text.js';
import { isDigest } from '../util/sha256.js';

/** Time a blob transfer gets beyond the deadline, per byte: 4 s per MiB (256 KiB/s at least). */
const BLOB_MS_PER_BYTE = 4000 / (1024 * 1024);

export interface RegistryClientOptions {
  host: string;
  ca?: string | Buffer | undefined;
  /** Allow plain HTTP to this host (always allowed for loopback). */
  insecure?: boolean;
  credential?: Credential | undefined;
  retry?: RetryPolicy;
  /** Each request, connect to last byte, within this (default 60 s), plus 4 s per MiB of a blob. */
  deadlineMs?: number;
}

/** What a request sends, and whether it needs push access. */
interface Send {
  push?: boolean;
  body?: Buffer;
  bodyStream?: () => Readable;
  /** Bytes of blob the request moves (sent or received): they extend its deadline. */
  blobBytes?: number;
}

/** A blob to upload: its digest and size, and its bytes (a part of them, for a chunked upload). */
export interface UploadBlob {
  digest: string;
  size: number;
  open(range?: { start: number; end: number }): Readable;
}

/** One blob upload under way: where it goes, and how the bytes it sends are counted. */
interface BlobUpload {
  repo: string;
  blob: UploadBlob;
  /** Counts bytes as they are sent (for progress, and to take them back if the upload fails). */
  count: (n: number) => void;
}

export interface FetchedManifest {
  bytes: Buffer;
  mediaType: string;
  digest: string;
}

export class RegistryClient {
  private scheme: 'https' | 'http' | undefined;
  private readonly tokens = new Map<string, string>();
  private basic = false;

  constructor(private readonly opts: RegistryClientOptions) {}

  get host(): string {
    return this.opts.host;
  }

  /** Plain HTTP goes to loopback, or to the registry itself when it was given as insecure. */
  private readonly plainAllowed = (hostPort: string): boolean =>
    isLoopbackHost(hostPort) || (this.opts.insecure === true && hostPort === this.opts.host);

  private deadline(blobBytes = 0): number {
    return (this.opts.deadlineMs ?? DEFAULT_DEADLINE_MS) + Math.ceil(blobBytes * BLOB_MS_PER_BYTE);
  }

  /** Finds the scheme: HTTPS, or HTTP when allowed and the host does not speak TLS. */
  private async base(): Promise<string> {
    if (!this.scheme) {
      try {
        // A quick probe (15 s unless a deadline was given): it only decides the scheme.
        const res = await httpRequest(new URL(`https://${this.opts.host}/v2/`), {
          errorPrefix: 'REGISTRY',
          ca: this.opts.ca,
          deadlineMs: this.opts.deadlineMs ?? 15_000,
        });
        res.body.resume();
        this.scheme = 'https';
      } catch (e) {
        const err = e as AirgapError;
        // A server that answers TLS with plain HTTP gives "wrong version number"; a certificate
        // problem means it does speak TLS and must not be downgraded.
        const notTls = /wrong version number|EPROTO|packet length too long/i.test(
          String((err.cause as Error | undefined)?.message ?? err.message),
        );
        if (!notTls) throw e;
        if (!this.plainAllowed(this.opts.host)) {
          throw new AirgapError(
            'REGISTRY_PLAIN_HTTP_REFUSED',
            `${this.opts.host} does not speak HTTPS; plain HTTP is allowed only for loopback or with --insecure-registry ${this.opts.host}`,
          );
        }
        this.scheme = 'http';
      }
    }
    return `${this.scheme}://${this.opts.host}/v2`;
  }

  private async authorized(
    url: URL,
    repo: string,
    headers: Record<string, string>,
    method = 'GET',
    send: Send = {},
  ): Promise<HttpResponse> {
    const scope = `repository:${repo}:${send.push ? 'pull,push' : 'pull'}`;
    const registry = new URL(await this.base()).origin;
    // Credentials go to the registry's own origin only (an upload Location may name another).
    const own = url.origin === registry;
    const request = (): Promise<HttpResponse> =>
      httpRequest(url, {
        errorPrefix: 'REGISTRY',
        method,
        headers: own ? this.withAuth(scope, headers) : headers,
        ca: this.opts.ca,
        redirects: 'any-origin',
        plainHttpAllowed: this.plainAllowed,
        deadlineMs: this.deadline(send.blobBytes),
        ...(send.body !== undefined ? { body: send.body } : {}),
        ...(send.bodyStream ? { bodyStream: send.bodyStream } : {}),
      });
    let res = await request();
    if (res.status === 401 && !own) {
      res.body.resume();
      throw new AirgapError(
        'REGISTRY_UNAUTHORIZED',
        `${shownUrl(url)} (named by ${this.opts.host} for ${repo}) asks for credentials; they are sent only to ${registry}`,
        { details: { host: this.opts.host, url: url.href } },
      );
    }
    if (res.status === 401) {
      res.body.resume();
      await this.answerChallenge(res, scope);
      res = await request();
    }
    if (res.status === 401 || res.status === 403) {
      res.body.resume();
      const tried = this.opts.credential ? `the credentials from ${this.opts.credential.source}` : 'anonymous access';
      throw new AirgapError(
        res.status === 401 ? 'REGISTRY_UNAUTHORIZED' : 'REGISTRY_FORBIDDEN',
        `${this.opts.host} refused ${tried} for ${repo} (HTTP ${res.status})`,
        { details: { host: this.opts.host, tried } },
      );
    }
    return res;
  }

  /** `headers` with what the registry accepted for `scope` so far: its bearer token, or basic credentials. */
  private withAuth(scope: string, headers: Record<string, string>): Record<string, string> {
    const token = this.tokens.get(scope);
    if (token) return { ...headers, authorization: `Bearer ${token}` };
    if (this.basic && this.opts.credential) return { ...headers, authorization: basicHeader(this.opts.credential) };
    return headers;
  }

  /**
   * Answers a 401's challenge, for the next request: a bearer token for `scope` is fetched, or basic
   * credentials are sent from now on (when there are any); any other scheme is refused.
   */
  private async answerChallenge(res: HttpResponse, scope: string): Promise<void> {
    const header = res.headers['www-authenticate'];
    const challenge = parseChallenge(Array.isArray(header) ? header[0]! : (header ?? ''));
    if (challenge.scheme.toLowerCase() === 'bearer') {
      this.tokens.set(
        scope,
        await fetchBearerToken({
          challenge,
          scope,
          credential: this.opts.credential,
          ca: this.opts.ca,
          host: this.opts.host,
          plainAllowed: this.plainAllowed,
          deadlineMs: this.deadline(),
        }),
      );
    } else if (challenge.scheme.toLowerCase() === 'basic') {
      if (!this.opts.credential) {
        throw new AirgapError(
          'REGISTRY_UNAUTHORIZED',
          `${this.opts.host} requires credentials and none were found (tried: anonymous; add them to ${process.env.DOCKER_CONFIG ?? '~/.docker'}/config.json)`,
          { details: { host: this.opts.host, tried: 'anonymous' } },
        );
      }
      this.basic = true;
    } else {
      throw new AirgapError(
        'REGISTRY_AUTH_CHALLENGE',
        `${this.opts.host} sent an unsupported authentication challenge: ${printable(challenge.scheme, { max: 40 }) || '(none)'}`,
      );
    }
  }

  private withRetry<T>(fn: () => Promise<T>): Promise<T> {
    return withRetry(fn, this.opts.retry ?? DEFAULT_RETRY);
  }

  /** GET a manifest by tag or digest; verifies the digest when the reference is one. */
  async manifest(repo: string, reference: string): Promise<FetchedManifest> {
    // A digest reference is checked against what arrives; only sha256 can be checked here.
    if (/^[a-z0-9]+(?:[+._-][a-z0-9]+)*:/.test(reference) && !isDigest(reference)) {
      throw new AirgapError(
        'REF_INVALID',
        `${repo}@${reference}: only sha256 digests can be verified; refusing to fetch it unchecked`,
      );
    }
    return this.withRetry(async () => {
      const url = new URL(`${await this.base()}/${repo}/manifests/${reference}`);
      const res = await this.authorized(url, repo, { accept: MANIFEST_ACCEPT });
      if (res.status === 404) {
        res.body.resume();
        throw new AirgapError('REGISTRY_NOT_FOUND', `${this.opts.host}/${repo}:${reference} not found (HTTP 404)`);
      }
      if (RETRYABLE_STATUS.has(res.status)) {
        res.body.resume();
        throw new AirgapError(
          'REGISTRY_SERVER_ERROR',
          `${this.opts.host} answered HTTP ${res.status} for manifest ${repo}:${reference}`,
        );
      }
      if (res.status !== 200) {
        res.body.resume();
        throw new AirgapError(
          'REGISTRY_BAD_STATUS',
          `${this.opts.host} answered HTTP ${res.status} for manifest ${repo}:${reference}`,
        );
      }
      const bytes = await readAll(res.body, 4 * 1024 * 1024, 'REGISTRY');
      const digest = sha256Digest(bytes);
      if (reference.startsWith('sha256:') && digest !== reference) {
        throw new AirgapError(
          'REGISTRY_DIGEST_MISMATCH',
          `manifest ${repo}@${reference} from ${this.opts.host}: sha256 mismatch, got ${digest}`,
        );
      }
      const header = res.headers['docker-content-digest'];
      if (typeof header === 'string' && header.startsWith('sha256:') && header !== digest) {
        throw new AirgapError(
          'REGISTRY_DIGEST_MISMATCH',
          `manifest ${repo}:${reference} from ${this.opts.host}: header says ${printable(header, { max: 100 })}, content is ${digest}`,
        );
      }
      const ct = String(res.headers['content-type'] ?? '')
        .split(';')[0]!
        .trim();
      const doc = readUntrustedJson(bytes, {
        what: `manifest ${repo}:${reference} from ${this.opts.host}`,
        code: 'REGISTRY_BAD_MANIFEST',
      });
      const mediaType = (doc.isObject ? doc.at('mediaType').optString() : undefined) || ct;
      return { bytes, mediaType, digest };
    });
  }

  /**
   * The Referrers API's index of what refers to `digest` (signatures, attestations, SBOMs), or
   * undefined when the registry has no such API (GHCR, Docker Hub and Docker's own registry answer
   * 404: their referrers sit behind the fallback tag `sha256-<hex>`).
   */
  async referrers(repo: string, digest: string): Promise<Buffer | undefined> {
    if (!isDigest(digest)) throw new AirgapError('REF_INVALID', `${repo}@${digest}: not a sha256 digest`);
    return this.withRetry(async () => {
      const url = new URL(`${await this.base()}/${repo}/referrers/${digest}`);
      const res = await this.authorized(url, repo, { accept: MediaType.OCI_INDEX });
      const ct = String(res.headers['content-type'] ?? '')
        .split(';')[0]!
        .trim();
      if (res.status === 200 && ct === MediaType.OCI_INDEX) return readAll(res.body, 4 * 1024 * 1024, 'REGISTRY');
      res.body.resume();
      if (RETRYABLE_STATUS.has(res.status))
        throw new AirgapError(
          'REGISTRY_SERVER_ERROR',
          `${this.opts.host} answered HTTP ${res.status} for the referrers of ${repo}@${digest}`,
        );
      return undefined;
    });
  }

  /**
   * A blob's bytes as a stream (unverified: the caller pipes it through a VerifyingStream). Its
   * expected size, when known, extends the deadline of reading it.
   */
  async blob(repo: string, digest: string, size?: number): Promise<Readable> {
    return this.withRetry(async () => {
      const url = new URL(`${await this.base()}/${repo}/blobs/${digest}`);
      const res = await this.authorized(url, repo, {}, 'GET', { ...(size !== undefined ? { blobBytes: size } : {}) });
      if (res.status === 404) {
        res.body.resume();
        throw new AirgapError('REGISTRY_NOT_FOUND', `blob ${digest} of ${this.opts.host}/${repo} not found (HTTP 404)`);
      }
      if (RETRYABLE_STATUS.has(res.status)) {
        res.body.resume();
        throw new AirgapError(
          'REGISTRY_SERVER_ERROR',
          `${this.opts.host} answered HTTP ${res.status} for blob ${digest}`,
        );
      }
      if (res.status !== 200) {
        res.body.resume();
        throw new AirgapError(
          'REGISTRY_BAD_STATUS',
          `${this.opts.host} answered HTTP ${res.status} for blob ${digest}`,
        );
      }
      return res.body;
    });
  }

  async blobBytes(repo: string, digest: string, limit = 16 * 1024 * 1024): Promise<Buffer> {
    const bytes = await readAll(await this.blob(repo, digest), limit, 'REGISTRY');
    const got = sha256Digest(bytes);
    if (got !== digest)
      throw new AirgapError(
        'REGISTRY_DIGEST_MISMATCH',
        `blob ${digest} from ${this.opts.host}: sha256 mismatch, got ${got}`,
      );
    return bytes;
  }
  /** HEAD a blob: true when the repository has it (the size must match). */
  async hasBlob(repo: string, digest: string, size?: number): Promise<boolean> {
    return this.withRetry(async () => {
      const res = await this.authorized(new URL(`${await this.base()}/${repo}/blobs/${digest}`), repo, {}, 'HEAD', {
        push: true,
      });
      res.body.resume();
      if (res.status === 404) return false;
      if (res.status === 200) return size === undefined || Number(res.headers['content-length'] ?? size) === size;
      throw this.statusError(res, `HEAD blob ${digest} of ${repo}`);
    });
  }

  /**
   * Uploads a blob (whether the repository has it already is the caller's question: `hasBlob`): a
   * cross-repository mount from `mountFrom` first (when given and the registry allows it), else one
   * PUT of the whole blob, or PATCHes of `chunkSize` bytes then a closing PUT. A 201 to an upload
   * that asked for no mount is REGISTRY_PROTOCOL_ERROR. Retried from the start when the connection
   * breaks.
   */
  async pushBlob(
    repo: string,
    blob: UploadBlob,
    opts: { mountFrom?: string; chunkSize?: number; onBytes?: (n: number) => void } = {},
  ): Promise<'mounted' | 'uploaded'> {
    return this.withRetry(async () => {
      const started = await this.startUpload(repo, blob, opts.mountFrom);
      if (started === 'mounted') return 'mounted';
      let sent = 0;
      const upload: BlobUpload = {
        repo,
        blob,
        count: (n) => {
          sent += n;
          opts.onBytes?.(n);
        },
      };
      try {
        if (opts.chunkSize && opts.chunkSize < blob.size) await this.uploadChunks(upload, started, opts.chunkSize);
        else await this.uploadWhole(upload, started);
      } catch (e) {
        opts.onBytes?.(-sent);
        throw e;
      }
      return 'uploaded';
    });
  }

  /**
   * POSTs the start of an upload, asking for a cross-repository mount from `mountFrom` when it is
   * another repository: 'mounted' when the registry mounted it, else where the bytes go.
   */
  private async startUpload(repo: string, blob: UploadBlob, mountFrom: string | undefined): Promise<'mounted' | URL> {
    const base = await this.base();
    const start = new URL(`${base}/${repo}/blobs/uploads/`);
    const mounting = mountFrom !== undefined && mountFrom !== repo;
    if (mounting) {
      start.searchParams.set('mount', blob.digest);
      start.searchParams.set('from', mountFrom);
    }
    const res = await this.authorized(start, repo, { 'content-length': '0' }, 'POST', { push: true });
    res.body.resume();
    if (res.status === 201) {
      if (mounting) return 'mounted';
      // 201 means "created": without a mount nothing was sent that could have been.
      throw new AirgapError(
        'REGISTRY_PROTOCOL_ERROR',
        `${this.opts.host} answered 201 Created to the start of an upload of ${blob.digest} to ${repo} that asked for no mount (expected 202 Accepted and a Location)`,
      );
    }
    if (res.status !== 202) throw this.statusError(res, `starting the upload of ${blob.digest} to ${repo}`);
    return this.location(res, start);
  }

  /** PATCHes of `chunkSize` bytes, each to the Location the last answer gave, then a closing PUT. */
  private async uploadChunks({ repo, blob, count }: BlobUpload, first: URL, chunkSize: number): Promise<void> {
    let location = first;
    for (let from = 0; from < blob.size; from += chunkSize) {
      const to = Math.min(blob.size, from + chunkSize) - 1;
      const patch = await this.authorized(
        location,
        repo,
        {
          'content-type': 'application/octet-stream',
          'content-length': String(to - from + 1),
          'content-range': `${from}-${to}`,
        },
        'PATCH',
        {
          push: true,
          blobBytes: to - from + 1,
          bodyStream: () => this.counting(blob.open({ start: from, end: to }), count),
        },
      );
      patch.body.resume();
      if (patch.status !== 202)
        throw this.statusError(patch, `uploading bytes ${from}-${to} of ${blob.digest} to ${repo}`);
      location = this.location(patch, location);
    }
    location.searchParams.set('digest', blob.digest);
    const put = await this.authorized(location, repo, { 'content-length': '0' }, 'PUT', {
      push: true,
      body: Buffer.alloc(0),
    });
    put.body.resume();
    if (put.status !== 201) throw this.statusError(put, `closing the upload of ${blob.digest} to ${repo}`);
  }

  /** One PUT of the whole blob; a refusal's error body is read into the message. */
  private async uploadWhole({ repo, blob, count }: BlobUpload, location: URL): Promise<void> {
    location.searchParams.set('digest', blob.digest);
    const put = await this.authorized(
      location,
      repo,
      { 'content-type': 'application/octet-stream', 'content-length': String(blob.size) },
      'PUT',
      {
        push: true,
        blobBytes: blob.size,
        bodyStream: () => this.counting(blob.open(), count),
      },
    );
    const text =
      put.status === 201
        ? ''
        : (await readAll(put.body, 64 * 1024, 'REGISTRY').catch(() => Buffer.alloc(0))).toString('utf8');
    if (put.status !== 201) throw this.statusError(put, `uploading ${blob.digest} to ${repo}`, text);
    put.body.resume();
  }

  /** PUT a manifest (or index) by tag or digest, in its own media type; checks the digest the registry computed. */
  async putManifest(repo: string, reference: string, bytes: Buffer, mediaType: string): Promise<string> {
    return this.withRetry(async () => {
      const url = new URL(`${await this.base()}/${repo}/manifests/${reference}`);
      const res = await this.authorized(
        url,
        repo,
        { 'content-type': mediaType, 'content-length': String(bytes.length) },
        'PUT',
        { push: true, body: bytes, blobBytes: bytes.length },
      );
      const text = (await readAll(res.body, 64 * 1024, 'REGISTRY').catch(() => Buffer.alloc(0))).toString('utf8');
      if (res.status !== 201) throw this.statusError(res, `putting manifest ${repo}:${reference}`, text);
      const digest = sha256Digest(bytes);
      const header = res.headers['docker-content-digest'];
      if (typeof header === 'string' && header !== digest) {
        throw new AirgapError(
          'REGISTRY_DIGEST_MISMATCH',
          `${this.opts.host}/${repo}:${reference}: the registry stored the manifest as ${printable(header, { max: 100 })}, not ${digest}`,
        );
      }
      return digest;
    });
  }

  /**
   * Where an upload goes on: the answer's Location, relative to `base`. It may name another origin
   * (it then gets no credentials, see `authorized`), but plain HTTP only where it is allowed.
   */
  private location(res: HttpResponse, base: URL): URL {
    const loc = res.headers.location;
    if (!loc) throw new AirgapError('REGISTRY_BAD_STATUS', `${this.opts.host} answered an upload with no Location`);
    let next: URL;
    try {
      next = new URL(loc, base);
    } catch (e) {
      throw new AirgapError(
        'REGISTRY_PROTOCOL_ERROR',
        `${this.opts.host} answered an upload with a Location that is not a URL: ${JSON.stringify(printable(loc, { max: 200 }))}`,
        { cause: e },
      );
    }
    if (next.protocol !== 'https:' && next.protocol !== 'http:') {
      throw new AirgapError(
        'REGISTRY_PROTOCOL_ERROR',
        `${this.opts.host} answered an upload with a Location that is not HTTP: ${shownUrl(next)}`,
      );
    }
    if (next.protocol === 'http:' && !this.plainAllowed(next.host)) {
      throw new AirgapError(
        'REGISTRY_PLAIN_HTTP_REFUSED',
        `${this.opts.host} sent the upload to ${shownUrl(next)}: plain HTTP is allowed only to loopback or the host given with --insecure-registry`,
      );
    }
    return next;
  }

  private counting(src: Readable, onBytes: (n: number) => void): Readable {
    src.on('data', (b: Buffer) => onBytes(b.length));
    return src;
  }

  private statusError(res: HttpResponse, what: string, body = ''): AirgapError {
    const detail = errorMessages(body);
    const msg = `${this.opts.host} answered HTTP ${res.status} ${what}${detail ? `: ${printable(detail)}` : ''}`;
    if (RETRYABLE_STATUS.has(res.status)) return new AirgapError('REGISTRY_SERVER_ERROR', msg);
    if (res.status === 403 || res.status === 401) return new AirgapError('REGISTRY_FORBIDDEN', msg);
    return new AirgapError('REGISTRY_BAD_STATUS', msg);
  }
}

/** The messages of a distribution API error body (`{"errors":[{"code":…,"message":…}]}`), if it is one. */
function errorMessages(body: string): string | undefined {
  if (!body) return undefined;
  let doc: unknown;
  try {
    doc = parseUntrustedJson(body, { what: 'the error body', code: 'REGISTRY_BAD_STATUS' });
  } catch {
    return undefined;
  }
  const errors = (doc as { errors?: unknown } | null)?.errors;
  if (!Array.isArray(errors)) return undefined;
  const messages = errors
    .map((e) => (e as { message?: unknown } | null)?.message)
    .filter((m): m is string => typeof m === 'string' && m !== '');
  return messages.length ? messages.join('; ') : undefined;
}
