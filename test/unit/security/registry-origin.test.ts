/**
 * `bundle push` against a hostile registry: credentials follow the registry's origin on every
 * request (uploads, chunks, manifests, pulls). An upload Location or a redirect on another origin
 * gets no Authorization; plain HTTP after HTTPS is refused before a connection is made; a request
 * body is never sent to another origin by a redirect; a 201 to an upload that asked for no mount is
 * a protocol error; the registry's error text is shown escaped and cut short.
 *
 * Every server listens on a loopback address: the registry on 127.0.0.1, the "other host" on
 * 127.0.0.2 (reached as [::ffff:127.0.0.2] where it must look like a host that is not loopback).
 */
import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { pushBundle } from '../../../src/bundle/push.js';
import { RegistryClient } from '../../../src/registry/client.js';
import { silentProgress } from '../../../src/util/progress.js';
import { expectCodeAsync } from '../../helpers/expect-code.js';
import { tempDir } from '../../helpers/fixtures.js';
import { closeAll, countConnections, listenLoopback, loopbackCert, type TestCert } from '../../helpers/loopback.js';
import { syntheticImageBundle } from '../../helpers/synthetic-bundle.js';

const BASIC = `Basic ${Buffer.from('alice:s3cret').toString('base64')}`;
const digestOf = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

interface Seen {
  server: 'registry' | 'other';
  method: string;
  url: string;
  auth: string | undefined;
}
const seen: Seen[] = [];
const seenAt = (server: Seen['server']) => seen.filter((s) => s.server === server);

/** How the registry answers the start of an upload and a manifest PUT, per test. */
let onUploadStart: (id: number) => { status: number; location?: string } = () => ({ status: 500 });
let onManifestPut: () => { status: number; location?: string } | undefined = () => undefined;
let onUploadEnd: (body: Buffer) => { status: number; body?: string } | undefined = () => undefined;

let cert: TestCert;
let plainRegistry: http.Server;
let tlsRegistry: https.Server;
let plainOther: http.Server;
let tlsOther: https.Server;
let plainOtherConnections: { readonly count: number; reset(): void };
let tlsOtherConnections: { readonly count: number; reset(): void };
let plainHost = '';
let tlsHost = '';
let plainOtherPort = 0;
let tlsOtherPort = 0;
let bundleDir = '';
let layers: Buffer[] = [];
let keys: Array<{ file: string; key: import('node:crypto').KeyObject }> = [];
const savedDockerConfig = process.env.DOCKER_CONFIG;

async function body(req: http.IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of req) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

function registry(req: http.IncomingMessage, res: http.ServerResponse): void {
  void body(req).then((data) => {
    const url = new URL(req.url!, 'http://x');
    seen.push({ server: 'registry', method: req.method!, url: req.url!, auth: req.headers.authorization });
    if (req.headers.authorization !== BASIC) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="registry"' }).end();
      return;
    }
    let m;
    if (req.method === 'HEAD' && /\/blobs\/sha256:/.test(url.pathname)) {
      res.writeHead(404).end();
      return;
    }
    if (req.method === 'POST' && /\/blobs\/uploads\/$/.test(url.pathname)) {
      const a = onUploadStart(seen.length);
      res.writeHead(a.status, a.location ? { location: a.location } : {}).end();
      return;
    }
    if (/^\/v2\/(.+)\/blobs\/uploads\/(\w+)$/.test(url.pathname)) {
      const a = onUploadEnd(data);
      if (a) {
        res.writeHead(a.status).end(a.body ?? '');
        return;
      }
      res.writeHead(req.method === 'PATCH' ? 202 : 201, req.method === 'PATCH' ? { location: url.pathname } : {}).end();
      return;
    }
    if (req.method === 'PUT' && /\/manifests\//.test(url.pathname)) {
      const a = onManifestPut();
      if (a) {
        res.writeHead(a.status, a.location ? { location: a.location } : {}).end();
        return;
      }
      res.writeHead(201, { 'docker-content-digest': digestOf(data) }).end();
      return;
    }
    if (req.method === 'GET' && (m = /\/blobs\/(sha256:\w+)$/.exec(url.pathname))) {
      res.writeHead(307, { location: `http://127.0.0.2:${plainOtherPort}/storage/${m[1]}` }).end();
      return;
    }
    res.writeHead(404).end();
  });
}

/** The other host: takes whatever it is sent, as a blob store would. */
function other(req: http.IncomingMessage, res: http.ServerResponse): void {
  void body(req).then(() => {
    seen.push({ server: 'other', method: req.method!, url: req.url!, auth: req.headers.authorization });
    if (req.method === 'PATCH') res.writeHead(202, { location: req.url!.split('?')[0]! }).end();
    else if (req.method === 'GET') res.writeHead(200).end(layers[0]);
    else res.writeHead(201).end();
  });
}

beforeAll(async () => {
  cert = loopbackCert(['127.0.0.1', '127.0.0.2']);
  plainRegistry = http.createServer(registry);
  tlsRegistry = https.createServer({ key: cert.key, cert: cert.cert }, registry);
  plainOther = http.createServer(other);
  tlsOther = https.createServer({ key: cert.key, cert: cert.cert }, other);
  plainOtherConnections = countConnections(plainOther);
  tlsOtherConnections = countConnections(tlsOther);
  plainHost = `127.0.0.1:${await listenLoopback(plainRegistry, '127.0.0.1')}`;
  tlsHost = `127.0.0.1:${await listenLoopback(tlsRegistry, '127.0.0.1')}`;
  plainOtherPort = await listenLoopback(plainOther, '127.0.0.2');
  tlsOtherPort = await listenLoopback(tlsOther, '127.0.0.2');

  const dir = tempDir('registry-origin-');
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  keys = [{ file: path.join(dir, 'trust.pub'), key: publicKey }];
  layers = [Buffer.from('a layer of the image '.repeat(150))];
  bundleDir = syntheticImageBundle(path.join(dir, 'bundle'), privateKey, layers).dir;
  // The site's credentials, for both registries.
  const dockerConfig = path.join(dir, 'docker');
  mkdirSync(dockerConfig);
  const auth = Buffer.from('alice:s3cret').toString('base64');
  writeFileSync(
    path.join(dockerConfig, 'config.json'),
    JSON.stringify({ auths: { [plainHost]: { auth }, [tlsHost]: { auth } } }),
  );
  process.env.DOCKER_CONFIG = dockerConfig;
});

afterAll(async () => {
  if (savedDockerConfig === undefined) delete process.env.DOCKER_CONFIG;
  else process.env.DOCKER_CONFIG = savedDockerConfig;
  await closeAll(plainRegistry, tlsRegistry, plainOther, tlsOther);
});

afterEach(() => {
  seen.length = 0;
  plainOtherConnections.reset();
  tlsOtherConnections.reset();
  onUploadStart = () => ({ status: 500 });
  onManifestPut = () => undefined;
  onUploadEnd = () => undefined;
});

function push(registryHost: string, extra: { chunkSize?: number; ca?: string } = {}) {
  return pushBundle({
    bundleDir,
    keys,
    registry: registryHost,
    prefix: 'site',
    concurrency: 1,
    mapFile: path.join(tempDir('map-'), 'map.json'),
    progress: silentProgress,
    ...(extra.chunkSize ? { chunkSize: extra.chunkSize } : {}),
    ...(extra.ca ? { ca: extra.ca } : {}),
  });
}

describe("bundle push: credentials follow the registry's origin", () => {
  it('an upload Location on another host receives the blob, never the credentials', async () => {
    onUploadStart = (id) => ({ status: 202, location: `http://127.0.0.2:${plainOtherPort}/upload/${id}?state=0` });
    const map = await push(plainHost);
    expect(map.artifacts[0]!.blobs.uploaded).toBe(2);
    const puts = seenAt('other').filter((s) => s.method === 'PUT');
    expect(puts.length).toBe(2);
    expect(seenAt('other').map((s) => s.auth)).toEqual(seenAt('other').map(() => undefined));
    // The registry itself did get them (uploads were started, the manifest put).
    expect(
      seenAt('registry')
        .filter((s) => s.auth === BASIC)
        .map((s) => s.method),
    ).toEqual(expect.arrayContaining(['POST', 'PUT']));
  });

  it('in chunks too: no PATCH and no closing PUT to the other host carries them', async () => {
    onUploadStart = (id) => ({ status: 202, location: `http://127.0.0.2:${plainOtherPort}/upload/${id}` });
    await push(plainHost, { chunkSize: 1000 });
    const methods = seenAt('other').map((s) => s.method);
    expect(methods.filter((m) => m === 'PATCH').length).toBeGreaterThanOrEqual(4);
    expect(methods).toContain('PUT');
    expect(seenAt('other').every((s) => s.auth === undefined)).toBe(true);
  });

  it('an HTTPS registry: an upload Location on another HTTPS origin gets no credentials', async () => {
    onUploadStart = (id) => ({ status: 202, location: `https://127.0.0.2:${tlsOtherPort}/upload/${id}` });
    await push(tlsHost, { ca: cert.ca });
    expect(seenAt('other').length).toBeGreaterThanOrEqual(2);
    expect(seenAt('other').every((s) => s.auth === undefined)).toBe(true);
    expect(seenAt('registry').some((s) => s.auth === BASIC)).toBe(true);
  });

  it('an HTTPS registry: an upload Location on plain HTTP is refused before anything is sent there', async () => {
    // [::ffff:127.0.0.2] reaches the 127.0.0.2 listener but is not "loopback" by name: plain HTTP is not allowed to it.
    onUploadStart = (id) => ({ status: 202, location: `http://[::ffff:127.0.0.2]:${plainOtherPort}/upload/${id}` });
    const e = await expectCodeAsync(() => push(tlsHost, { ca: cert.ca }), 'REGISTRY_PLAIN_HTTP_REFUSED');
    expect(e.exitCode).toBe(5);
    expect(e.message).toContain(`:${plainOtherPort}/upload/`);
    expect(plainOtherConnections.count).toBe(0);
  });

  it('a 201 to an upload that asked for no mount is a protocol error, not "already there"', async () => {
    onUploadStart = () => ({ status: 201 });
    const e = await expectCodeAsync(() => push(plainHost), 'REGISTRY_PROTOCOL_ERROR');
    expect(e.exitCode).toBe(5);
    expect(seen.some((s) => s.method === 'PUT' && s.url.includes('/manifests/'))).toBe(false);
  });

  it('a manifest PUT redirected to another origin is refused: the manifest is not sent there', async () => {
    onUploadStart = (id) => ({ status: 202, location: `/v2/site/example/app/blobs/uploads/u${id}` });
    onManifestPut = () => ({ status: 307, location: `http://127.0.0.2:${plainOtherPort}/manifests/x` });
    const e = await expectCodeAsync(() => push(plainHost), 'REGISTRY_REDIRECT_REFUSED');
    expect(e.message).toContain(`http://127.0.0.2:${plainOtherPort}/manifests/x`);
    expect(plainOtherConnections.count).toBe(0);
  });

  it('pulls as before: a blob redirected to another origin is fetched there without the credentials', async () => {
    const c = new RegistryClient({
      host: plainHost,
      credential: { username: 'alice', password: 's3cret', source: 'test' },
    });
    const bytes = await c.blobBytes('site/example/app', digestOf(layers[0]!));
    expect(bytes.equals(layers[0]!)).toBe(true);
    expect(seenAt('other')).toEqual([expect.objectContaining({ method: 'GET', auth: undefined })]);
  });

  it("the registry's error text reaches the message escaped and cut short", async () => {
    onUploadStart = (id) => ({ status: 202, location: `/v2/site/example/app/blobs/uploads/u${id}` });
    const message = `\u001b]0;pwned\u0007\u001b[2J${'A'.repeat(60_000)}`;
    onUploadEnd = () => ({ status: 400, body: JSON.stringify({ errors: [{ code: 'DENIED', message }] }) });
    const e = await expectCodeAsync(() => push(plainHost), 'REGISTRY_BAD_STATUS');
    // eslint-disable-next-line no-control-regex -- the assertion is that no control character reaches the message
    expect(e.message).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
    expect(e.message).toContain('\\x1b]0;pwned\\x07');
    expect(e.message.length).toBeLessThan(1000);
  });
});
