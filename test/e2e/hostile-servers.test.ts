/**
 * The built CLI against hostile servers on loopback addresses (no rig needed): `bundle push` to a
 * registry whose upload Location names another host, and `smoke --url`, `log get` and `doctor`
 * against a log that redirects elsewhere, trickles its answer, declares a 10 GB body, or answers
 * with terminal escapes. The other host is a listener on 127.0.0.2 that counts what reaches it.
 */
import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { logKeyId } from '../../src/tlog/note.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/fixtures.js';
import { closeAll, countConnections, listenLoopback, loopbackCert, type TestCert } from '../helpers/loopback.js';
import { syntheticImageBundle } from '../helpers/synthetic-bundle.js';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;
const notFound: Handler = (req, res) => {
  req.resume();
  res.writeHead(404).end();
};
let handle: Handler = notFound;
let otherHandle: Handler = (req, res) => {
  req.resume();
  res.writeHead(201).end();
};

interface Seen {
  method: string;
  url: string;
  auth: string | undefined;
}
const otherSeen: Seen[] = [];

let cert: TestCert;
let log: https.Server;
let plainRegistry: http.Server;
let other: http.Server;
let otherCount: ReturnType<typeof countConnections>;
let logUrl = '';
let registryHost = '';
let otherPort = 0;
let dir = '';
let logKeyFile = '';
const timers = new Set<NodeJS.Timeout>();
const { publicKey: logKey } = generateKeyPairSync('ed25519');

/** One chunk every `everyMs`, `n` at most (a bounded loop), until the connection closes. */
function trickle(res: http.ServerResponse, n: number, everyMs: number): void {
  let i = 0;
  const t = setInterval(() => {
    if (i++ >= n || res.destroyed) {
      clearInterval(t);
      timers.delete(t);
      return;
    }
    res.write('x');
  }, everyMs);
  timers.add(t);
  res.once('close', () => {
    clearInterval(t);
    timers.delete(t);
  });
}

beforeAll(async () => {
  cert = loopbackCert(['127.0.0.1', '127.0.0.2']);
  log = https.createServer({ key: cert.key, cert: cert.cert }, (req, res) => handle(req, res));
  plainRegistry = http.createServer((req, res) => handle(req, res));
  other = http.createServer((req, res) => {
    otherSeen.push({ method: req.method!, url: req.url!, auth: req.headers.authorization });
    otherHandle(req, res);
  });
  otherCount = countConnections(other);
  logUrl = `https://127.0.0.1:${await listenLoopback(log)}`;
  registryHost = `127.0.0.1:${await listenLoopback(plainRegistry)}`;
  otherPort = await listenLoopback(other, '127.0.0.2');
  dir = tempDir('hostile-');
  logKeyFile = path.join(dir, 'log.pub');
  writeFileSync(logKeyFile, logKey.export({ type: 'spki', format: 'pem' }));
});

afterEach(() => {
  for (const t of timers) clearInterval(t);
  timers.clear();
  otherSeen.length = 0;
  otherCount.reset();
  handle = notFound;
  otherHandle = (req, res) => {
    req.resume();
    res.writeHead(201).end();
  };
});

afterAll(() => closeAll(log, plainRegistry, other));

const smoke = (...extra: string[]) =>
  runCli(['smoke', '--url', logUrl, '--ca', cert.caFile, '--log-key', logKeyFile, '--origin', '127.0.0.1', ...extra], {
    timeout: 120_000,
  });

describe('bundle push to a registry that names another host for the upload', () => {
  const BASIC = `Basic ${Buffer.from('alice:s3cret').toString('base64')}`;
  let bundle = '';
  let trust = '';
  let env: Record<string, string> = {};

  beforeAll(() => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    trust = path.join(dir, 'trust.pub');
    writeFileSync(trust, publicKey.export({ type: 'spki', format: 'pem' }));
    bundle = syntheticImageBundle(path.join(dir, 'bundle'), privateKey, [Buffer.from('layer '.repeat(500))]).dir;
    const dockerConfig = path.join(dir, 'docker');
    mkdirSync(dockerConfig);
    writeFileSync(
      path.join(dockerConfig, 'config.json'),
      JSON.stringify({ auths: { [registryHost]: { auth: Buffer.from('alice:s3cret').toString('base64') } } }),
    );
    env = { DOCKER_CONFIG: dockerConfig };
  });

  /** A registry with Basic auth; the start of an upload is answered by `start`. */
  const registry =
    (start: () => { status: number; location?: string }): Handler =>
    (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (req.headers.authorization !== BASIC) {
          res.writeHead(401, { 'www-authenticate': 'Basic realm="r"' }).end();
          return;
        }
        if (req.method === 'HEAD') {
          res.writeHead(404).end();
          return;
        }
        if (req.method === 'POST') {
          const a = start();
          res.writeHead(a.status, a.location ? { location: a.location } : {}).end();
          return;
        }
        if (req.method === 'PUT' && req.url!.includes('/manifests/')) {
          res
            .writeHead(201, {
              'docker-content-digest': `sha256:${createHash('sha256').update(Buffer.concat(chunks)).digest('hex')}`,
            })
            .end();
          return;
        }
        res.writeHead(404).end();
      });
    };

  it('the other host gets the blob, never the credentials', async () => {
    let n = 0;
    handle = registry(() => ({ status: 202, location: `http://127.0.0.2:${otherPort}/uploads/${n++}` }));
    const r = await runCli(
      [
        'bundle',
        'push',
        bundle,
        '--trust',
        trust,
        '--registry',
        registryHost,
        '--prefix',
        'site',
        '--map',
        path.join(dir, 'map.json'),
        '--json',
      ],
      { env },
    );
    expect(r.exitCode, r.stderr).toBe(0);
    expect(otherSeen.filter((s) => s.method === 'PUT').length).toBe(2);
    expect(otherSeen.map((s) => s.auth)).toEqual(otherSeen.map(() => undefined));
  });

  it('a 201 to an upload that asked for no mount: exit 5, REGISTRY_PROTOCOL_ERROR', async () => {
    handle = registry(() => ({ status: 201 }));
    const r = await runCli(
      ['bundle', 'push', bundle, '--trust', trust, '--registry', registryHost, '--map', path.join(dir, 'map2.json')],
      { env },
    );
    expect(r.exitCode).toBe(5);
    expect(r.stderr).toContain('error [REGISTRY_PROTOCOL_ERROR]');
  });
});

describe('smoke, log get and doctor against a log that redirects elsewhere', () => {
  const toPlain = () => {
    handle = (req, res) => {
      req.resume();
      res.writeHead(307, { location: `http://127.0.0.2:${otherPort}${req.url}` }).end();
    };
  };

  it('smoke --url: exit 10, the target named, and the other host sees no connection', async () => {
    toPlain();
    const r = await smoke();
    expect(r.exitCode, r.stderr).toBe(10);
    expect(r.stderr).toContain('error [SMOKE_REDIRECT_REFUSED]');
    expect(r.stderr).toContain(`http://127.0.0.2:${otherPort}/healthz`);
    expect(r.stdout).not.toMatch(/ok +log reachable/);
    expect(otherCount.count).toBe(0);
  });

  it('log get: exit 10, nothing sent to the other host', async () => {
    toPlain();
    const r = await runCli([
      'log',
      'get',
      '--index',
      '0',
      '--url',
      logUrl,
      '--ca',
      cert.caFile,
      '--log-key',
      logKeyFile,
      '--origin',
      '127.0.0.1',
    ]);
    expect(r.exitCode, r.stderr).toBe(10);
    expect(r.stderr).toContain('error [SMOKE_REDIRECT_REFUSED]');
    expect(otherCount.count).toBe(0);
  });

  it('doctor: exit 10 at the health check, nothing sent to the other host', async () => {
    toPlain();
    const trustDir = path.join(dir, 'trust');
    mkdirSync(trustDir, { recursive: true });
    writeFileSync(path.join(trustDir, 'ca.crt'), cert.ca);
    writeFileSync(
      path.join(trustDir, 'trusted_root.json'),
      JSON.stringify({
        tlogs: [
          {
            baseUrl: logUrl,
            publicKey: { rawBytes: logKey.export({ type: 'spki', format: 'der' }).toString('base64') },
            logId: { keyId: Buffer.from(logKeyId('127.0.0.1', logKey)).toString('base64') },
          },
        ],
      }),
    );
    const r = await runCli(['doctor', '--url', logUrl, '--trust-dir', trustDir]);
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(10);
    expect(r.stdout).toMatch(/FAIL health: .*SMOKE|FAIL health/);
    expect(r.stderr).toContain('error [SMOKE_REDIRECT_REFUSED]');
    expect(otherCount.count).toBe(0);
  });
});

describe('smoke against a log that holds the client', () => {
  const oneBytePerFiveSeconds = () => {
    handle = (req, res) => {
      req.resume();
      res.writeHead(200, { 'content-length': '100' }).flushHeaders();
      trickle(res, 30, 5000);
    };
  };

  it('one byte every 5 s, no --timeout: the default deadline (60 s) ends it with exit 10, naming the URL and the body', async () => {
    oneBytePerFiveSeconds();
    const started = Date.now();
    const r = await smoke();
    const took = Date.now() - started;
    expect(r.exitCode, r.stderr).toBe(10);
    expect(r.stderr).toContain('error [SMOKE_TIMEOUT]');
    expect(r.stderr).toContain(`${logUrl}/healthz: gave up after 60 s waiting for the body`);
    expect(took).toBeGreaterThan(58_000);
    expect(took).toBeLessThan(80_000);
  }, 120_000);

  it('--timeout 3: the same, in 3 s', async () => {
    oneBytePerFiveSeconds();
    const started = Date.now();
    const r = await smoke('--timeout', '3');
    expect(r.exitCode, r.stderr).toBe(10);
    expect(r.stderr).toContain(`${logUrl}/healthz: gave up after 3 s waiting for the body`);
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('a 10 GB Content-Length: exit 10 at once (too large), not a failed proof', async () => {
    handle = (req, res) => {
      req.resume();
      res.writeHead(200, { 'content-length': String(10 * 1024 ** 3) });
      res.write('{"status":');
    };
    const started = Date.now();
    const r = await smoke();
    expect(r.exitCode, r.stderr).toBe(10);
    expect(r.stderr).toContain('error [SMOKE_ANSWER_TOO_LARGE]');
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('--timeout must be a positive number of seconds', async () => {
    const r = await smoke('--timeout', '0');
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('error [USAGE_BAD_TIMEOUT]');
  });
});

describe("the log's text on the terminal", () => {
  it('escapes and cuts what the log answers', async () => {
    const hostile = `\u001b]52;c;ZXZpbA==\u0007\u001b[2J\u202e${'A'.repeat(2 * 1024 * 1024)}`;
    handle = (req, res) => {
      req.resume();
      res.writeHead(req.method === 'GET' ? 200 : 400).end(hostile);
    };
    const r = await smoke();
    expect(r.exitCode).toBe(11);
    for (const out of [r.stdout, r.stderr]) {
      // eslint-disable-next-line no-control-regex -- the assertion is that no control character reaches the terminal
      expect(out).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e]/);
      expect(out.length).toBeLessThan(4000);
    }
    expect(r.stdout).toContain('\\x1b]52;c;');
  });
});
