/**
 * The Docker Registry v2 token flow against a small local server that behaves like a registry
 * with a separate token service (the rig's registries use basic auth, so this flow is tested here).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RegistryClient } from '../../../src/registry/client.js';
import { sha256Digest } from '../../../src/oci/digest.js';
import { expectCodeAsync } from '../../helpers/expect-code.js';

const MANIFEST = Buffer.from(
  JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'x', digest: 'sha256:' + '0'.repeat(64), size: 1 },
    layers: [],
  }),
);
let server: http.Server;
let host: string;
const seen: string[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    seen.push(`${req.method} ${url.pathname}${url.search}`);
    if (url.pathname === '/token') {
      const ok = req.headers.authorization === `Basic ${Buffer.from('alice:s3cret').toString('base64')}`;
      if (
        !ok ||
        url.searchParams.get('scope') !== 'repository:team/app:pull' ||
        url.searchParams.get('service') !== 'test-registry'
      ) {
        res.writeHead(401).end('{"errors":[{"code":"UNAUTHORIZED"}]}');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: 'the-token' }));
      return;
    }
    if (req.headers.authorization !== 'Bearer the-token') {
      res
        .writeHead(401, {
          'www-authenticate': `Bearer realm="http://${host}/token",service="test-registry",scope="repository:team/app:pull"`,
        })
        .end();
      return;
    }
    if (url.pathname === '/v2/team/app/manifests/v1') {
      res
        .writeHead(200, {
          'content-type': 'application/vnd.oci.image.manifest.v1+json',
          'docker-content-digest': sha256Digest(MANIFEST),
        })
        .end(MANIFEST);
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));
// What the server saw is each test's own: a request of another test never satisfies an assertion.
beforeEach(() => {
  seen.length = 0;
});

describe('bearer token challenge', () => {
  it('fetches a token with the configured credentials and uses it', async () => {
    const c = new RegistryClient({
      host,
      credential: { username: 'alice', password: 's3cret', source: 'test config (user alice)' },
    });
    const m = await c.manifest('team/app', 'v1');
    expect(m.digest).toBe(sha256Digest(MANIFEST));
    expect(
      seen.some((s) => s.startsWith('GET /token?service=test-registry&scope=repository%3Ateam%2Fapp%3Apull')),
    ).toBe(true);
  });

  describe('when the token service refuses', () => {
    it('says which credentials were tried', async () => {
      const c = new RegistryClient({
        host,
        credential: { username: 'alice', password: 'wrong', source: '/home/op/.docker/config.json (user alice)' },
      });
      const e = await expectCodeAsync(() => c.manifest('team/app', 'v1'), 'REGISTRY_UNAUTHORIZED');
      expect(e.message).toContain('/home/op/.docker/config.json (user alice)');
    });

    it('says that anonymous access was tried when there were no credentials', async () => {
      const c = new RegistryClient({ host });
      const e = await expectCodeAsync(() => c.manifest('team/app', 'v1'), 'REGISTRY_UNAUTHORIZED');
      expect(e.message).toContain('anonymous');
    });
  });

  it('treats localhost as loopback: plain HTTP is allowed there after HTTPS fails', async () => {
    const c = new RegistryClient({
      host: host.replace('127.0.0.1', 'localhost'),
      credential: { username: 'alice', password: 's3cret', source: 't' },
    });
    expect((await c.manifest('team/app', 'v1')).digest).toBe(sha256Digest(MANIFEST));
  });
});
