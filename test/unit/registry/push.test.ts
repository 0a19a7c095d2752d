/**
 * Uploads over the distribution API against a small in-memory registry that records every request:
 * the whole-blob PUT, the chunked PATCH sequence with its Content-Range, cross-repository mounts,
 * the push scope asked of the token service, and a manifest put in its own media type.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RegistryClient, type UploadBlob } from '../../../src/registry/client.js';
import { checkPrefix, targetRepository } from '../../../src/bundle/push.js';
import { expectCode } from '../../helpers/expect-code.js';

const blobs = new Map<string, Map<string, Buffer>>(); // repo → digest → bytes
const uploads = new Map<string, Buffer[]>();
const manifests = new Map<string, { type: string; bytes: Buffer }>();
const seen: string[] = [];
const scopes: string[] = [];
let server: http.Server;
let host: string;

const digestOf = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const repoBlobs = (repo: string) => blobs.get(repo) ?? blobs.set(repo, new Map()).get(repo)!;

beforeAll(async () => {
  let n = 0;
  server = http.createServer(async (req, res) => {
    const url = new URL(req.url!, 'http://x');
    const body: Buffer[] = [];
    for await (const c of req) body.push(c as Buffer);
    const data = Buffer.concat(body);
    seen.push(`${req.method} ${url.pathname}${req.headers['content-range'] ? ` ${req.headers['content-range']}` : ''}`);
    if (url.pathname === '/token') {
      scopes.push(url.searchParams.get('scope') ?? '');
      res.writeHead(200).end(JSON.stringify({ token: 't' }));
      return;
    }
    if (req.headers.authorization !== 'Bearer t') {
      res
        .writeHead(401, {
          'www-authenticate': `Bearer realm="http://${host}/token",service="reg",scope="repository:${url.pathname.split('/').slice(2, -2).join('/')}:pull,push"`,
        })
        .end();
      return;
    }
    let m;
    if ((m = /^\/v2\/(.+)\/blobs\/(sha256:[a-f0-9]{64})$/.exec(url.pathname)) && req.method === 'HEAD') {
      const b = repoBlobs(m[1]!).get(m[2]!);
      res.writeHead(b ? 200 : 404, b ? { 'content-length': String(b.length) } : {}).end();
    } else if ((m = /^\/v2\/(.+)\/blobs\/uploads\/$/.exec(url.pathname)) && req.method === 'POST') {
      const mount = url.searchParams.get('mount');
      const from = url.searchParams.get('from');
      if (mount && from && blobs.get(from)?.has(mount)) {
        repoBlobs(m[1]!).set(mount, blobs.get(from)!.get(mount)!);
        res.writeHead(201).end();
        return;
      }
      const id = `u${n++}`;
      uploads.set(id, []);
      res.writeHead(202, { location: `/v2/${m[1]}/blobs/uploads/${id}?state=0` }).end();
    } else if ((m = /^\/v2\/(.+)\/blobs\/uploads\/(u\d+)$/.exec(url.pathname))) {
      const parts = uploads.get(m[2]!)!;
      parts.push(data);
      if (req.method === 'PATCH') {
        res.writeHead(202, { location: `/v2/${m[1]}/blobs/uploads/${m[2]}?state=${parts.length}` }).end();
        return;
      }
      const all = Buffer.concat(parts);
      if (digestOf(all) !== url.searchParams.get('digest')) {
        res.writeHead(400).end('{"errors":[{"code":"DIGEST_INVALID","message":"digest did not match"}]}');
        return;
      }
      repoBlobs(m[1]!).set(digestOf(all), all);
      res.writeHead(201).end();
    } else if ((m = /^\/v2\/(.+)\/manifests\/(.+)$/.exec(url.pathname)) && req.method === 'PUT') {
      manifests.set(`${m[1]}:${m[2]}`, { type: String(req.headers['content-type']), bytes: data });
      res.writeHead(201, { 'docker-content-digest': digestOf(data) }).end();
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((r) => server.close(() => r())));
// Each test starts with an empty registry and empty records of what it was asked: nothing one test
// pushed or requested is seen by another.
beforeEach(() => {
  blobs.clear();
  uploads.clear();
  manifests.clear();
  seen.length = 0;
  scopes.length = 0;
});

function blobOf(bytes: Buffer): UploadBlob {
  return {
    digest: digestOf(bytes),
    size: bytes.length,
    open: (range) => Readable.from([range ? bytes.subarray(range.start, range.end + 1) : bytes]),
  };
}

describe('pushing to a registry', () => {
  it('uploads a blob whole, asks the token service for push access, and finds it there afterwards', async () => {
    const c = new RegistryClient({ host });
    const data = Buffer.from('a layer '.repeat(1000));
    expect(await c.hasBlob('team/app', digestOf(data))).toBe(false);
    expect(await c.pushBlob('team/app', blobOf(data))).toBe('uploaded');
    expect(await c.hasBlob('team/app', digestOf(data), data.length)).toBe(true);
    expect(blobs.get('team/app')!.get(digestOf(data))).toEqual(data);
    expect(scopes).toContain('repository:team/app:pull,push');
  });

  it('uploads in chunks with Content-Range, then closes the upload with the digest', async () => {
    const c = new RegistryClient({ host });
    const data = Buffer.from(Array.from({ length: 2500 }, (_, i) => i % 251));
    expect(await c.pushBlob('team/chunked', blobOf(data), { chunkSize: 1000 })).toBe('uploaded');
    expect(seen.filter((s) => s.startsWith('PATCH')).map((s) => s.split(' ')[2])).toEqual([
      '0-999',
      '1000-1999',
      '2000-2499',
    ]);
    expect(blobs.get('team/chunked')!.get(digestOf(data))).toEqual(data);
  });

  it('mounts a blob another repository has, instead of sending it', async () => {
    const c = new RegistryClient({ host });
    const data = Buffer.from('shared base layer');
    await c.pushBlob('team/one', blobOf(data));
    seen.length = 0;
    expect(await c.pushBlob('team/two', blobOf(data), { mountFrom: 'team/one' })).toBe('mounted');
    expect(seen.some((s) => s.startsWith('PUT'))).toBe(false);
  });

  it('puts a manifest in its own media type and checks the digest the registry computed', async () => {
    const c = new RegistryClient({ host });
    const bytes = Buffer.from('{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json"}');
    expect(
      await c.putManifest('team/app', digestOf(bytes), bytes, 'application/vnd.docker.distribution.manifest.v2+json'),
    ).toBe(digestOf(bytes));
    expect(manifests.get(`team/app:${digestOf(bytes)}`)).toEqual({
      type: 'application/vnd.docker.distribution.manifest.v2+json',
      bytes,
    });
  });

  it('a registry that refuses the digest is an error that says why', async () => {
    const c = new RegistryClient({ host });
    const bytes = Buffer.from('real bytes');
    const lying: UploadBlob = { ...blobOf(bytes), digest: `sha256:${'1'.repeat(64)}` };
    await expect(c.pushBlob('team/app', lying)).rejects.toThrow(/HTTP 400 uploading .* digest did not match/);
  });
});

describe('target repositories', () => {
  it('put the prefix before the upstream repository', () => {
    expect(targetRepository('ghcr.io/sigstore/rekor-tiles/posix:v2.4.2', 'site/mirror')).toBe(
      'site/mirror/sigstore/rekor-tiles/posix',
    );
    expect(targetRepository('docker.io/library/nginx:1.22.1', '')).toBe('library/nginx');
    expect(targetRepository('docker.io/library/nginx:1.22.1', '/x/')).toBe('x/library/nginx');
  });

  it('refuse a prefix that is not a repository path', () => {
    expectCode(() => checkPrefix('Upper/Case'), 'USAGE_INVALID');
    expectCode(() => checkPrefix('a//b'), 'USAGE_INVALID');
    expect(checkPrefix('ok/path-1')).toBe('ok/path-1');
  });
});
