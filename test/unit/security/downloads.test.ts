/**
 * Artifact and Node.js runtime downloads (bundle create) fail in their own error domain
 * (ARTIFACT_*), never as a registry's (REGISTRY_*: "pass its CA with --registry-ca"); they follow a
 * redirect to another origin (a release CDN) but never to plain HTTP after HTTPS.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fetchArtifact } from '../../../src/bundle/artifacts.js';
import { resolveNodeRuntime } from '../../../src/bundle/node-runtime.js';
import { hostPlatform } from '../../../src/registry/platform.js';
import { httpRequest, readAll } from '../../../src/util/http.js';
import { expectCodeAsync } from '../../helpers/expect-code.js';
import { tempDir } from '../../helpers/fixtures.js';
import { closeAll, countConnections, listenLoopback, loopbackCert, type TestCert } from '../../helpers/loopback.js';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;
let handle: Handler = (_req, res) => {
  res.writeHead(404).end();
};
let cert: TestCert;
let plain: http.Server;
let secure: https.Server;
let other: http.Server;
let otherCount: ReturnType<typeof countConnections>;
let plainUrl = '';
let secureUrl = '';
let otherPort = 0;

beforeAll(async () => {
  cert = loopbackCert(['127.0.0.1']);
  const h: Handler = (req, res) => handle(req, res);
  plain = http.createServer(h);
  secure = https.createServer({ key: cert.key, cert: cert.cert }, h);
  other = http.createServer((_req, res) => {
    res.writeHead(200).end('x');
  });
  otherCount = countConnections(other);
  plainUrl = `http://127.0.0.1:${await listenLoopback(plain)}`;
  secureUrl = `https://127.0.0.1:${await listenLoopback(secure)}`;
  otherPort = await listenLoopback(other, '127.0.0.2');
});
afterEach(() => {
  otherCount.reset();
  handle = (_req, res) => {
    res.writeHead(404).end();
  };
});
afterAll(() => closeAll(plain, secure, other));

const artifact = (url: string) => ({ name: 'tool', url, sha256: createHash('sha256').update('x').digest('hex') });

describe('artifact downloads fail as artifacts', () => {
  it("a certificate not trusted: ARTIFACT_TLS, not a registry's", async () => {
    const e = await expectCodeAsync(() => fetchArtifact(artifact(`${secureUrl}/tool.zip`), new Map()), 'ARTIFACT_TLS');
    expect(e.message).not.toContain('pass its CA with --registry-ca');
  });

  it('a connection cut inside the body: ARTIFACT_STREAM_BROKEN', async () => {
    handle = (req, res) => {
      res.writeHead(200, { 'content-length': '1000' });
      res.write('partial');
      setTimeout(() => req.socket.destroy(), 20);
    };
    await expectCodeAsync(() => fetchArtifact(artifact(`${plainUrl}/tool.zip`), new Map()), 'ARTIFACT_STREAM_BROKEN');
  });

  it('a redirect from HTTPS to plain HTTP is refused, and nothing is asked there', async () => {
    handle = (_req, res) => {
      res.writeHead(302, { location: `http://127.0.0.2:${otherPort}/tool.zip` }).end();
    };
    await expectCodeAsync(
      () => fetchArtifact(artifact(`${secureUrl}/tool.zip`), new Map(), cert.ca),
      'ARTIFACT_REDIRECT_REFUSED',
    );
    expect(otherCount.count).toBe(0);
  });

  it("the Node.js runtime's metadata, declared too large: ARTIFACT_RESPONSE_TOO_LARGE", async () => {
    handle = (_req, res) => {
      res.writeHead(200, { 'content-length': String(64 * 1024 * 1024) });
      res.write('{');
    };
    const host = hostPlatform();
    const other = host.architecture === 'arm64' ? 'amd64' : 'arm64';
    await expectCodeAsync(
      () =>
        resolveNodeRuntime({
          platform: { os: 'linux', architecture: other },
          npmRegistry: plainUrl,
          cacheDir: tempDir('node-cache-'),
        }),
      'ARTIFACT_RESPONSE_TOO_LARGE',
    );
  });
});

describe('the HTTP client itself', () => {
  it('never sends a request body to another origin, even where other origins are followed', async () => {
    handle = (req, res) => {
      req.resume();
      res.writeHead(307, { location: `http://127.0.0.2:${otherPort}/upload` }).end();
    };
    await expectCodeAsync(
      () =>
        httpRequest(new URL(`${plainUrl}/upload`), {
          errorPrefix: 'REGISTRY',
          method: 'PUT',
          body: Buffer.from('the blob'),
          redirects: 'any-origin',
          plainHttpAllowed: () => true,
        }),
      'REGISTRY_REDIRECT_REFUSED',
    );
    expect(otherCount.count).toBe(0);
  });

  it('a redirect to another scheme than HTTP(S) is refused', async () => {
    handle = (_req, res) => {
      res.writeHead(302, { location: 'file:///etc/passwd' }).end();
    };
    await expectCodeAsync(
      () => httpRequest(new URL(plainUrl), { errorPrefix: 'ARTIFACT', redirects: 'any-origin' }),
      'ARTIFACT_REDIRECT_REFUSED',
    );
  });

  it('a body is read in the domain it is asked for', async () => {
    handle = (_req, res) => {
      res.writeHead(200, { 'content-length': '100' }).end();
    };
    const res = await httpRequest(new URL(plainUrl), { errorPrefix: 'ARTIFACT' });
    await expectCodeAsync(() => readAll(res.body, 10, 'ARTIFACT'), 'ARTIFACT_RESPONSE_TOO_LARGE');
  });
});
