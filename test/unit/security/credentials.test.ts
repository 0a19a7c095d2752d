/**
 * Hardening 5: credentials follow the origin (scheme + host + port), never go over plain HTTP
 * except to a host where the rules allow it, and "loopback" means an IP literal or localhost.
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchBearerToken, parseChallenge } from '../../../src/registry/auth.js';
import { httpRequest, isLoopbackHost } from '../../../src/util/http.js';
import { loopbackCert } from '../../helpers/loopback.js';

describe('loopback is an IP literal in 127/8, ::1 or localhost', () => {
  it.each([
    ['127.0.0.1:5000', true],
    ['127.1.2.3', true],
    ['localhost:80', true],
    ['[::1]:5000', true],
    ['::1', true],
    ['127.attacker.example', false],
    ['127.attacker.example:5000', false],
    ['localhost.attacker.example', false],
    ['128.0.0.1', false],
    ['registry.internal:5000', false],
    ['[::2]:5000', false],
    ['127.0.0.1.nip.io', false],
  ])('%s → %s', (h, want) => {
    expect(isLoopbackHost(h)).toBe(want);
  });
});

describe('a bearer realm on plain HTTP', () => {
  const cred = { username: 'alice', password: 's3cret', source: 'test' };
  it('never receives credentials unless plain HTTP is allowed for that exact host', async () => {
    const ch = parseChallenge('Bearer realm="http://tokens.attacker.example/token",service="x"');
    await expect(
      fetchBearerToken({
        challenge: ch,
        scope: 'repository:a:pull',
        credential: cred,
        host: 'registry.example',
        plainAllowed: () => false,
      }),
    ).rejects.toMatchObject({ code: 'REGISTRY_PLAIN_HTTP_REFUSED' });
  });
  it('a realm that is not a URL, or not http(s), is a coded error', async () => {
    for (const realm of ['not a url', 'file:///etc/passwd', 'ftp://x/token']) {
      await expect(
        fetchBearerToken({
          challenge: parseChallenge(`Bearer realm="${realm}"`),
          scope: 's',
          credential: cred,
          host: 'r',
          plainAllowed: () => true,
        }),
      ).rejects.toMatchObject({ code: 'REGISTRY_AUTH_CHALLENGE' });
    }
  });
});

describe('redirects keep credentials only within one origin', () => {
  let plain: http.Server;
  let tls: https.Server;
  let plainPort = 0;
  let tlsPort = 0;
  let ca = '';
  const got: Array<{ server: string; auth: string | undefined }> = [];

  beforeAll(async () => {
    const tlsCert = loopbackCert(['127.0.0.77']);
    ca = tlsCert.ca;
    plain = http.createServer((req, res) => {
      got.push({ server: 'http', auth: req.headers.authorization });
      res.writeHead(200).end('ok');
    });
    // Default ports on a loopback address of their own: https://127.0.0.77 and http://127.0.0.77
    // have the same host string, only the scheme (and so the origin) differs.
    await new Promise<void>((r) => plain.listen(80, '127.0.0.77', r));
    plainPort = (plain.address() as AddressInfo).port;
    tls = https.createServer({ key: tlsCert.key, cert: tlsCert.cert }, (req, res) => {
      got.push({ server: 'https', auth: req.headers.authorization });
      const to = new URL(req.url!, 'https://x').searchParams.get('to');
      if (to) res.writeHead(302, { location: to }).end();
      else res.writeHead(200).end('ok');
    });
    await new Promise<void>((r) => tls.listen(443, '127.0.0.77', r));
    tlsPort = (tls.address() as AddressInfo).port;
  });
  afterAll(() => {
    plain.close();
    tls.close();
  });

  it('an https → http redirect on the same host drops Authorization (where plain HTTP is allowed at all)', async () => {
    got.length = 0;
    expect([tlsPort, plainPort]).toEqual([443, 80]);
    const res = await httpRequest(new URL(`https://127.0.0.77/v2/?to=${encodeURIComponent('http://127.0.0.77/v2/')}`), {
      errorPrefix: 'REGISTRY',
      headers: { authorization: 'Basic c2VjcmV0' },
      ca,
      redirects: 'any-origin',
      plainHttpAllowed: () => true,
    });
    res.body.resume();
    expect(got).toEqual([
      { server: 'https', auth: 'Basic c2VjcmV0' },
      { server: 'http', auth: undefined },
    ]);
  });

  it('an https → http redirect is refused unless plain HTTP is allowed for that host', async () => {
    got.length = 0;
    await expect(
      httpRequest(new URL(`https://127.0.0.77/v2/?to=${encodeURIComponent('http://127.0.0.77/v2/')}`), {
        errorPrefix: 'REGISTRY',
        headers: { authorization: 'Basic c2VjcmV0' },
        ca,
        redirects: 'any-origin',
        plainHttpAllowed: (h) => h === 'other:80',
      }),
    ).rejects.toMatchObject({ code: 'REGISTRY_PLAIN_HTTP_REFUSED' });
    expect(got).toEqual([{ server: 'https', auth: 'Basic c2VjcmV0' }]);
  });

  it('a redirect within the same origin keeps it', async () => {
    got.length = 0;
    const res = await httpRequest(new URL(`https://127.0.0.77/a?to=${encodeURIComponent('https://127.0.0.77/b')}`), {
      errorPrefix: 'REGISTRY',
      headers: { authorization: 'Bearer t' },
      ca,
    });
    res.body.resume();
    expect(got).toEqual([
      { server: 'https', auth: 'Bearer t' },
      { server: 'https', auth: 'Bearer t' },
    ]);
  });
});
