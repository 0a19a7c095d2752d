/**
 * The log clients (smoke, doctor, log get, status) against a hostile log on a loopback address:
 * redirects are followed within the log's origin only, never to plain HTTP and never with the
 * entry elsewhere (the other host sees no connection at all); every request has a total deadline
 * however slowly the server trickles its headers or its body; an answer declared or sent larger
 * than accepted is "unreachable" (exit 10), not a bad proof; and the server's text is shown
 * escaped and cut short.
 */
import { generateKeyPairSync } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import tls from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readTilesEntry } from '../../../src/rekor/entry-reader.js';
import { logRequest } from '../../../src/rekor/log-http.js';
import { runDoctor } from '../../../src/rekor/doctor.js';
import { logKeyId } from '../../../src/tlog/note.js';
import { smokeV2 } from '../../../src/rekor/smoke-v2.js';
import { expectCodeAsync } from '../../helpers/expect-code.js';
import { closeAll, countConnections, listenLoopback, loopbackCert, type TestCert } from '../../helpers/loopback.js';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;
let handle: Handler = (_req, res) => {
  res.writeHead(404).end();
};

let cert: TestCert;
let log: https.Server;
let otherPlain: http.Server;
let otherTls: https.Server;
let plainCount: ReturnType<typeof countConnections>;
let tlsCount: ReturnType<typeof countConnections>;
let logUrl = '';
let otherPlainPort = 0;
let otherTlsPort = 0;
/** Timers of trickling answers, stopped after each test. */
const trickles = new Set<NodeJS.Timeout>();

const { publicKey: logKey } = generateKeyPairSync('ed25519');
const ORIGIN = '127.0.0.1';

/** Writes `chunks` one every `everyMs` (a bounded loop), stopping when the connection closes. */
function trickle(
  write: (s: string) => void,
  socket: Socket,
  chunks: string[],
  everyMs: number,
  end?: () => void,
): void {
  let i = 0;
  const t = setInterval(() => {
    if (i >= chunks.length || socket.destroyed) {
      clearInterval(t);
      trickles.delete(t);
      if (!socket.destroyed) end?.();
      return;
    }
    write(chunks[i++]!);
  }, everyMs);
  trickles.add(t);
  socket.once('close', () => {
    clearInterval(t);
    trickles.delete(t);
  });
}

beforeAll(async () => {
  cert = loopbackCert(['127.0.0.1', '127.0.0.2']);
  log = https.createServer({ key: cert.key, cert: cert.cert }, (req, res) => {
    req.resume();
    req.on('end', () => handle(req, res));
  });
  const other: Handler = (req, res) => {
    req.resume();
    res.writeHead(200).end('{"status":"SERVING"}');
  };
  otherPlain = http.createServer(other);
  otherTls = https.createServer({ key: cert.key, cert: cert.cert }, other);
  plainCount = countConnections(otherPlain);
  tlsCount = countConnections(otherTls);
  logUrl = `https://127.0.0.1:${await listenLoopback(log, '127.0.0.1')}`;
  otherPlainPort = await listenLoopback(otherPlain, '127.0.0.2');
  otherTlsPort = await listenLoopback(otherTls, '127.0.0.2');
});

afterEach(() => {
  for (const t of trickles) clearInterval(t);
  trickles.clear();
  plainCount.reset();
  tlsCount.reset();
  handle = (_req, res) => {
    res.writeHead(404).end();
  };
});

afterAll(() => closeAll(log, otherPlain, otherTls));

const endpoint = (timeoutMs?: number) => ({ url: logUrl, ca: cert.ca, ...(timeoutMs ? { timeoutMs } : {}) });
const smoke = (timeoutMs?: number) =>
  smokeV2({ endpoint: endpoint(timeoutMs), logKey, origin: ORIGIN, instance: 'test' });
const failedCheck = (r: { checks: Array<{ ok: boolean; name: string; code?: string; detail: string }> }) =>
  r.checks.find((c) => !c.ok);

describe('redirects from the log', () => {
  it('smoke: a redirect to plain HTTP on another host fails "log reachable", names the target, and sends it nothing', async () => {
    handle = (_req, res) => {
      res.writeHead(307, { location: `http://127.0.0.2:${otherPlainPort}/healthz` }).end();
    };
    const r = await smoke();
    expect(r.ok).toBe(false);
    const f = failedCheck(r)!;
    expect(f.name).toBe('log reachable over TLS (pinned CA)');
    expect(f.code).toBe('SMOKE_REDIRECT_REFUSED');
    expect(f.detail).toContain(`http://127.0.0.2:${otherPlainPort}/healthz`);
    expect(plainCount.count).toBe(0);
  });

  it('smoke: a redirect to another HTTPS origin is refused too', async () => {
    handle = (_req, res) => {
      res.writeHead(302, { location: `https://127.0.0.2:${otherTlsPort}/healthz` }).end();
    };
    expect(failedCheck(await smoke())?.code).toBe('SMOKE_REDIRECT_REFUSED');
    expect(tlsCount.count).toBe(0);
  });

  it('smoke: the entry is never sent to another origin (a 307 of the POST)', async () => {
    handle = (req, res) => {
      if (req.method === 'GET') res.writeHead(200).end('{"status":"SERVING"}');
      else res.writeHead(307, { location: `https://127.0.0.2:${otherTlsPort}/api/v2/log/entries` }).end();
    };
    const f = failedCheck(await smoke())!;
    expect(f.name).toBe('entry 1: submit');
    expect(f.code).toBe('SMOKE_REDIRECT_REFUSED');
    expect(tlsCount.count).toBe(0);
  });

  it("a redirect within the log's origin is followed", async () => {
    handle = (req, res) => {
      if (req.url === '/healthz') res.writeHead(308, { location: '/healthz/' }).end();
      else if (req.url === '/healthz/') res.writeHead(200).end('{"status":"SERVING"}');
      else res.writeHead(503).end();
    };
    const r = await smoke();
    expect(r.checks[0]).toMatchObject({ name: 'log reachable over TLS (pinned CA)', ok: true });
  });

  it('log get: a redirect of the checkpoint to plain HTTP is refused', async () => {
    handle = (_req, res) => {
      res.writeHead(301, { location: `http://127.0.0.2:${otherPlainPort}/checkpoint` }).end();
    };
    const e = await expectCodeAsync(
      () => readTilesEntry({ endpoint: endpoint(), logKeyPem: '', origin: ORIGIN, label: 't' }, 0),
      'SMOKE_REDIRECT_REFUSED',
    );
    expect(e.exitCode).toBe(10);
    expect(plainCount.count).toBe(0);
  });

  it('doctor: the health check refuses the redirect, and the other host sees nothing', async () => {
    handle = (_req, res) => {
      res.writeHead(307, { location: `http://127.0.0.2:${otherPlainPort}/healthz` }).end();
    };
    const spki = logKey.export({ type: 'spki', format: 'der' }).toString('base64');
    const trustedRoot = {
      tlogs: [
        {
          baseUrl: logUrl,
          publicKey: { rawBytes: spki },
          logId: { keyId: Buffer.from(logKeyId(ORIGIN, logKey)).toString('base64') },
        },
      ],
    };
    const checks = await runDoctor({
      url: logUrl,
      caPem: cert.ca,
      trustedRoot,
      apiVersion: 2,
      write: true,
      smoke: () => {
        throw new Error('not reached');
      },
      readHead: () => {
        throw new Error('not reached');
      },
    });
    const f = checks.find((c) => !c.ok)!;
    expect(f).toMatchObject({ name: 'health', code: 'SMOKE_REDIRECT_REFUSED' });
    expect(checks.filter((c) => c.ok).map((c) => c.name)).toContain(
      'TLS: the certificate chains to the trusted CA and names the host',
    );
    expect(plainCount.count).toBe(0);
  });
});

describe('a deadline for every request', () => {
  it('a body trickled a byte at a time (never idle long enough for the idle timeout) ends at the deadline, naming the URL and the body', async () => {
    handle = (req, res) => {
      res.writeHead(200, { 'content-length': '1000' });
      trickle(
        (s) => res.write(s),
        req.socket,
        Array.from({ length: 1000 }, () => 'x'),
        200,
      );
    };
    const started = Date.now();
    const r = await smoke(1500);
    const f = failedCheck(r)!;
    expect(f.code).toBe('SMOKE_TIMEOUT');
    expect(f.detail).toContain(`${logUrl}/healthz`);
    expect(f.detail).toContain('waiting for the body');
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('headers trickled a byte at a time end at the deadline too, naming the headers', async () => {
    const slow = tls.createServer({ key: cert.key, cert: cert.cert }, (socket) => {
      socket.on('data', () => undefined);
      trickle(
        (s) => socket.write(s),
        socket,
        [...('HTTP/1.1 200 OK\r\ncontent-length: 2\r\nx-padding: ' + 'y'.repeat(500))],
        200,
      );
    });
    const port = await listenLoopback(slow, '127.0.0.1');
    try {
      const started = Date.now();
      const e = await expectCodeAsync(
        () => logRequest({ url: `https://127.0.0.1:${port}`, ca: cert.ca, timeoutMs: 1500 }, 'GET', '/checkpoint'),
        'SMOKE_TIMEOUT',
      );
      expect(e.exitCode).toBe(10);
      expect(e.message).toContain(`https://127.0.0.1:${port}/checkpoint`);
      expect(e.message).toContain('headers');
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      await closeAll(slow);
    }
  });

  it('without a timeout given, the deadline is 60 s', async () => {
    const { DEFAULT_DEADLINE_MS } = await import('../../../src/util/http.js');
    expect(DEFAULT_DEADLINE_MS).toBe(60_000);
  });
});

describe('answers too large for a log', () => {
  it('a 10 GB Content-Length is refused at once: unreachable / too large (exit 10), not a bad proof', async () => {
    handle = (_req, res) => {
      res.writeHead(200, { 'content-length': String(10 * 1024 ** 3) });
      res.write('{');
    };
    const started = Date.now();
    const f = failedCheck(await smoke(30_000))!;
    expect(f.code).toBe('SMOKE_ANSWER_TOO_LARGE');
    expect(f.detail).toContain('10737418240');
    expect(Date.now() - started).toBeLessThan(5000);
    const e = await expectCodeAsync(() => logRequest(endpoint(30_000), 'GET', '/checkpoint'), 'SMOKE_ANSWER_TOO_LARGE');
    expect(e.exitCode).toBe(10);
  });

  it('a body that grows past the limit without saying so is exit 10 as well', async () => {
    const mib = Buffer.alloc(1024 * 1024, 0x20);
    handle = (_req, res) => {
      res.writeHead(200);
      let n = 0;
      const more = () => {
        while (n < 40 && res.write(mib)) n++;
        if (n < 40) {
          n++;
          res.once('drain', more);
        } else res.end();
      };
      more();
    };
    const e = await expectCodeAsync(() => logRequest(endpoint(30_000), 'GET', '/checkpoint'), 'SMOKE_ANSWER_TOO_LARGE');
    expect(e.exitCode).toBe(10);
  });
});

describe("the log's text in messages", () => {
  const hostile = `\u001b]52;c;ZXZpbA==\u0007\u001b[2J\u202eevil\r\n${'A'.repeat(1024 * 1024)}`;
  // eslint-disable-next-line no-control-regex -- the assertion is that no control character reaches the message
  const noControls = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e]/;

  it('the health answer is shown escaped and cut to a few hundred characters', async () => {
    handle = (req, res) => {
      if (req.method === 'GET') res.writeHead(200).end(hostile);
      else res.writeHead(400).end(hostile);
    };
    const r = await smoke();
    const health = r.checks[0]!;
    expect(health.ok).toBe(true);
    expect(health.detail).not.toMatch(noControls);
    expect(health.detail).toContain('\\x1b]52;c;');
    expect(health.detail.length).toBeLessThan(400);
    const rejected = failedCheck(r)!;
    expect(rejected.code).toBe('SMOKE_REJECTED');
    expect(rejected.detail).not.toMatch(noControls);
    expect(rejected.detail.length).toBeLessThan(500);
  });

  it('a body that is not JSON is quoted escaped', async () => {
    handle = (_req, res) => {
      res.writeHead(200).end(hostile);
    };
    const e = await expectCodeAsync(async () => {
      const { parseJsonBody } = await import('../../../src/rekor/log-http.js');
      parseJsonBody(await logRequest(endpoint(), 'GET', '/api/v1/log'), 'GET /api/v1/log');
    }, 'SMOKE_BAD_RESPONSE');
    expect(e.message).not.toMatch(noControls);
    expect(e.message.length).toBeLessThan(600);
  });
});
