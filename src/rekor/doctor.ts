/**
 * `rekor-airgap doctor`, run from a client host: the self-hosted guide's troubleshooting list as
 * checks, in the order a failure would mask the next — the URL, DNS, TCP, TLS against the CA the
 * client trusts, health, the checkpoint under the trusted key, a test submission with its proofs,
 * the timestamp authority. Each failure says what is wrong and what to do.
 */
import { promises as dns } from 'node:dns';
import net from 'node:net';
import tls from 'node:tls';
import { createPublicKey } from 'node:crypto';
import { AirgapError, type ErrorCode } from '../errors.js';
import { logRequest } from './log-http.js';
import { printable } from '../util/untrusted-text.js';
import { logKeyId } from '../tlog/note.js';
import type { SmokeReport } from './report.js';
import { smokeFailure } from './smoke.js';
import type { LogTarget } from './target.js';
import type { WitnessPolicy } from '../witness/policy.js';
import { requireQuorum } from '../witness/quorum.js';
import { requestTimestamp } from './timestamp.js';

export interface DoctorCheck {
  name: string;
  ok: boolean;
  detail: string;
  /** What to do, when it failed. */
  fix?: string;
  code?: ErrorCode;
}

export interface DoctorInput {
  url: string | undefined;
  caPem: string | undefined;
  /** The parsed trusted_root.json: its tlogs (the one whose baseUrl is the URL is checked) and timestamp authorities. */
  trustedRoot: unknown;
  apiVersion: 1 | 2;
  write: boolean;
  smoke: (t: LogTarget) => Promise<SmokeReport>;
  readHead: (t: LogTarget) => Promise<{ size: number; rootHex: string; checkpoint: string }>;
  /** witness-policy.txt of the trust files: every checkpoint must carry its quorum's cosignatures. */
  witnessPolicy?: WitnessPolicy;
  /** Each connection check and each request to the log within this (default: 10 s to connect, 60 s a request). */
  timeoutMs?: number | undefined;
}

class Failed extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly fix: string,
  ) {
    super(message);
  }
}

interface Tlog {
  baseUrl?: string;
  publicKey?: { rawBytes?: string };
  logId?: { keyId?: string };
}
interface Tsa {
  uri?: string;
  certChain?: { certificates?: Array<{ rawBytes?: string }> };
}

function pemOf(label: string, b64: string): string {
  return `-----BEGIN ${label}-----\n${b64.replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n')}-----END ${label}-----\n`;
}

/** One doctor run: what it was given, the checks recorded so far, and the step that records each. */
interface Run {
  input: DoctorInput;
  checks: DoctorCheck[];
  /** Each connection check within this. */
  connectTimeoutMs: number;
  /** Runs one named check and records it; a failure is recorded and thrown as `Failed`, ending the run. */
  step: <T>(name: string, fn: () => Promise<[T, string]>) => Promise<T>;
}

/** Once the URL is well-formed. */
interface Located extends Run {
  url: URL;
  /** The URL's host without brackets: the name TLS checks and the log's origin. */
  host: string;
  port: number;
}

/** Once the host resolves. */
interface Resolved extends Located {
  /** The first address the host resolves to: every connection goes there. */
  address: string;
}

/** Once the trusted root lists the log: what a client uses to talk to it. */
interface Trusted extends Resolved {
  tlog: Tlog;
  keyPem: string;
  target: LogTarget;
}

function startRun(d: DoctorInput): Run {
  const checks: DoctorCheck[] = [];
  return {
    input: d,
    checks,
    connectTimeoutMs: d.timeoutMs ?? 10_000,
    step: async <T>(name: string, fn: () => Promise<[T, string]>): Promise<T> => {
      try {
        const [v, detail] = await fn();
        checks.push({ name, ok: true, detail });
        return v;
      } catch (e) {
        const f =
          e instanceof Failed
            ? e
            : new Failed(
                e instanceof AirgapError ? e.code : 'SMOKE_INTERNAL',
                (e as Error).message,
                'see the message above',
              );
        checks.push({ name, ok: false, detail: f.message, fix: f.fix, code: f.code });
        throw f;
      }
    },
  };
}

/** Ends a connection check that is not done in time, however the peer trickles its bytes. */
function bounded(s: net.Socket, ms: number, onTimeout: () => void): void {
  const t = setTimeout(onTimeout, ms);
  s.once('close', () => clearTimeout(t));
}

export async function runDoctor(d: DoctorInput): Promise<DoctorCheck[]> {
  const run = startRun(d);
  try {
    const url = await checkUrl(run);
    const located: Located = { ...run, url, host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port || 443) };
    const resolved: Resolved = { ...located, address: await checkDns(located) };
    await checkTcp(resolved);
    await checkTls(resolved);
    const trusted = await checkTrustedRoot(resolved);
    await checkLogId(trusted);
    await checkHealth(trusted);
    await checkCheckpoint(trusted);
    if (d.witnessPolicy) await checkWitnessQuorum(trusted, d.witnessPolicy);
    if (d.write) await checkTestEntry(trusted);
    await checkTimestampAuthorities(trusted);
  } catch (e) {
    if (!(e instanceof Failed)) throw e;
  }
  return run.checks;
}

function checkUrl({ input, step }: Run): Promise<URL> {
  return step('AEVUM_REKOR_URL is set and well-formed', async () => {
    if (!input.url)
      throw new Failed(
        'USAGE_SMOKE_TARGET',
        'no URL: --url is not given and AEVUM_REKOR_URL is not set',
        'export AEVUM_REKOR_URL=https://HOST:PORT (the URL the install handed over)',
      );
    let u: URL;
    try {
      u = new URL(input.url);
    } catch {
      throw new Failed('USAGE_SMOKE_TARGET', `${input.url} is not a URL`, 'use the form https://HOST:PORT');
    }
    if (u.protocol !== 'https:')
      throw new Failed(
        'USAGE_SMOKE_TARGET',
        `${input.url} is not https`,
        'the log is served over TLS only: use https://HOST:PORT',
      );
    if (u.pathname !== '/' || u.search)
      throw new Failed('USAGE_SMOKE_TARGET', `${input.url} has a path or query`, 'use the bare https://HOST:PORT');
    return [u, u.origin];
  });
}

/** The first address the host resolves to. */
async function checkDns({ host, step }: Located): Promise<string> {
  const addresses = await step(`DNS: ${host} resolves`, async () => {
    if (net.isIP(host)) return [[host], 'an IP address'];
    try {
      const a = await dns.lookup(host, { all: true });
      return [a.map((x) => x.address), a.map((x) => x.address).join(', ')];
    } catch (e) {
      throw new Failed(
        'SMOKE_UNREACHABLE',
        `${host} does not resolve (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
        `add ${host} to the site's DNS, or to /etc/hosts on this host`,
      );
    }
  });
  return addresses[0]!;
}

async function checkTcp({ host, port, address, connectTimeoutMs: timeout, step }: Resolved): Promise<void> {
  await step(
    `TCP: ${host}:${port} accepts connections`,
    () =>
      new Promise<[undefined, string]>((resolve, reject) => {
        const s = net.connect({ host: address, port, timeout });
        s.once('connect', () => {
          s.destroy();
          resolve([undefined, `connected to ${address}:${port}`]);
        });
        const fail = (why: string) => {
          s.destroy();
          reject(
            new Failed(
              'SMOKE_UNREACHABLE',
              `${address}:${port}: ${why}`,
              'is the log running (rekor-airgap status on its host)? is the port the one handed over? a firewall between here and there?',
            ),
          );
        };
        bounded(s, timeout, () => fail(`no connection within ${timeout / 1000} s`));
        s.once('timeout', () => fail('no answer (timed out)'));
        s.once('error', (e: NodeJS.ErrnoException) =>
          fail(e.code === 'ECONNREFUSED' ? 'connection refused: nothing listens there' : e.message),
        );
      }),
  );
}

async function checkTls({ input, host, port, address, connectTimeoutMs: timeout, step }: Resolved): Promise<void> {
  await step(
    'TLS: the certificate chains to the trusted CA and names the host',
    () =>
      new Promise<[undefined, string]>((resolve, reject) => {
        if (!input.caPem) {
          reject(
            new Failed(
              'USAGE_CA_UNREADABLE',
              'no CA certificate to trust for the log',
              'pass --trust-dir DIR holding the ca.crt that trust export wrote (or --ca FILE)',
            ),
          );
          return;
        }
        const s = tls.connect(
          { host: address, port, servername: net.isIP(host) ? undefined : host, ca: input.caPem, timeout },
          () => {
            const cert = s.getPeerX509Certificate();
            s.destroy();
            resolve([
              undefined,
              `issued to ${printable(cert?.subject.replace(/\n/g, ', ') ?? '')} by ${printable(cert?.issuer.replace(/\n/g, ', ') ?? '')}`,
            ]);
          },
        );
        const noHandshake = () => {
          s.destroy();
          reject(
            new Failed(
              'SMOKE_TLS',
              `no TLS handshake within ${timeout / 1000} s`,
              "is this port the log's HTTPS port?",
            ),
          );
        };
        bounded(s, timeout, noHandshake);
        s.once('timeout', noHandshake);
        s.once('error', (e: NodeJS.ErrnoException) => {
          s.destroy();
          const untrusted =
            /self.signed|unable to verify|unable to get|certificate/i.test(`${e.code} ${e.message}`) &&
            !/altname|hostname/i.test(e.message);
          reject(
            new Failed(
              'SMOKE_TLS',
              `${e.code ?? ''} ${e.message}`.trim(),
              untrusted
                ? "the server's certificate is not issued by the CA given: use the ca.crt of this instance (rekor-airgap trust export on the log host)"
                : /altname|hostname/i.test(e.message)
                  ? `the certificate does not name ${host}: use the hostname the install was given (its --hostname)`
                  : 'check the port and the CA file',
            ),
          );
        });
      }),
  );
}

/** The log's entry in trusted_root.json, and the target a client talks to with it. */
async function checkTrustedRoot(r: Resolved): Promise<Trusted> {
  const { input, url, host, address } = r;
  const tlog = await r.step('trusted_root.json lists this log', async () => {
    const tlogs = (input.trustedRoot as { tlogs?: Tlog[] } | undefined)?.tlogs ?? [];
    const t = tlogs.find((x) => x.baseUrl?.replace(/\/$/, '') === url.origin);
    if (!t?.publicKey?.rawBytes)
      throw new Failed(
        'USAGE_BAD_LOG_KEY',
        `no tlog with baseUrl ${url.origin} in the trusted root (it has: ${tlogs.map((x) => x.baseUrl).join(', ') || 'none'})`,
        'use the trusted_root.json that trust export wrote for this instance, and its URL',
      );
    return [t, `key ${t.publicKey.rawBytes.slice(0, 24)}…, log ID ${t.logId?.keyId ?? '-'}`];
  });
  const keyPem = pemOf('PUBLIC KEY', tlog.publicKey!.rawBytes!);
  const target: LogTarget = {
    endpoint: { url: url.origin, ca: input.caPem!, connectAddress: address, timeoutMs: input.timeoutMs },
    logKeyPem: keyPem,
    origin: host,
    label: 'doctor',
    ...(input.witnessPolicy ? { witnessPolicy: input.witnessPolicy } : {}),
  };
  return { ...r, tlog, keyPem, target };
}

async function checkLogId({ tlog, keyPem, host, step }: Trusted): Promise<void> {
  await step("the log ID in the trusted root is the one this log writes (origin = the URL's host)", async () => {
    const want = Buffer.from(logKeyId(host, createPublicKey(keyPem))).toString('base64');
    if (tlog.logId?.keyId !== want)
      throw new Failed(
        'SMOKE_SIGNATURE_LOG_ID',
        `the trusted root says ${tlog.logId?.keyId}, a log at origin ${host} with this key writes ${want}`,
        'the trusted root is for another origin (hostname): export it again on the log host',
      );
    return [undefined, want];
  });
}

async function checkHealth({ input, target, step }: Trusted): Promise<void> {
  await step('health', async () => {
    const path = input.apiVersion === 2 ? '/healthz' : '/api/v1/log';
    const res = await logRequest(target.endpoint, 'GET', path);
    if (res.status !== 200)
      throw new Failed(
        'SMOKE_UNREACHABLE',
        `GET ${path} answered HTTP ${res.status}`,
        'the proxy answers but the log server behind it does not: rekor-airgap status on the log host shows which service is down',
      );
    return [undefined, `GET ${path}: 200`];
  });
}

/** The checkpoint carries the cosignatures of the quorum of witness-policy.txt (Sigstore clients do not check). */
async function checkWitnessQuorum({ input, target, step }: Trusted, policy: WitnessPolicy): Promise<void> {
  await step('the current checkpoint is cosigned by the witness quorum (witness-policy.txt)', async () => {
    const h = await input.readHead(withoutPolicy(target));
    try {
      const v = requireQuorum(h.checkpoint, policy, { what: 'the current checkpoint' });
      return [undefined, `${v.rule}: cosigned by ${v.cosigned.map((c) => c.name).join(', ')}`];
    } catch (e) {
      const err = e as AirgapError;
      throw new Failed(
        err.code,
        err.message,
        'a witness of the policy is down, unreachable from the log, or does not have the log registered: rekor-airgap status on the witness host; on the log host, the nginx log of the way out to the witnesses',
      );
    }
  });
}

/** The log's own signature is one check; the witnesses' cosignatures are the next. */
function withoutPolicy(t: LogTarget): LogTarget {
  const { witnessPolicy: _policy, witnessLastSeen: _seen, ...rest } = t;
  return rest;
}

async function checkCheckpoint({ input, target, step }: Trusted): Promise<void> {
  await step('the current checkpoint is signed by the trusted key', async () => {
    try {
      const h = await input.readHead(withoutPolicy(target));
      return [undefined, `tree size ${h.size}, root ${h.rootHex}`];
    } catch (e) {
      const err = e as AirgapError;
      throw new Failed(
        err.code ?? 'SMOKE_INTERNAL',
        err.message,
        /NOTE_|SIGNATURE/.test(err.code ?? '')
          ? "the key in trusted_root.json is not this log's (a stale trust file from an older install, or another log): export the trust files again on the log host"
          : 'see the message',
      );
    }
  });
}

async function checkTestEntry({ input, target, step }: Trusted): Promise<void> {
  await step('a test submission: 201, inclusion proof and checkpoints verify under the trusted key', async () => {
    const report = await input.smoke(target);
    const failure = smokeFailure(report);
    if (failure)
      throw new Failed(
        failure.code,
        failure.message,
        failure.code === 'SMOKE_REJECTED'
          ? 'the log refuses writes: read-only, paused for a backup, or rate-limited (429)?'
          : "the log answers with proofs that do not verify: report it to the log's operators",
      );
    return [
      undefined,
      `${report.checks.length} checks passed; entries ${report.entries.map((e) => e.logIndex).join(', ')}`,
    ];
  });
}

async function checkTimestampAuthorities({ input, url, target, step }: Trusted): Promise<void> {
  const tsas = (input.trustedRoot as { timestampAuthorities?: Tsa[] } | undefined)?.timestampAuthorities ?? [];
  for (const tsa of tsas) {
    await step(`timestamp authority ${tsa.uri ?? ''} answers with a verifiable timestamp`, async () => {
      const chain = (tsa.certChain?.certificates ?? []).map((c) => pemOf('CERTIFICATE', c.rawBytes ?? '')).join('');
      const base = (tsa.uri ?? url.origin).replace(/\/$/, '');
      const ts = await requestTimestamp({ ...target.endpoint, url: base }, Buffer.alloc(32, 1), chain).catch(
        (e: AirgapError) => {
          throw e.code === 'SMOKE_READ_FAILED'
            ? new Failed(
                e.code,
                e.message,
                'the timestamp authority is down or not enabled (bundle install --tsa) on the log host',
              )
            : e;
        },
      );
      return [undefined, `${ts.genTime.toISOString()}`];
    });
  }
}

export function doctorFailure(checks: readonly DoctorCheck[]): AirgapError | undefined {
  const f = checks.find((c) => !c.ok);
  return f
    ? new AirgapError(f.code ?? 'SMOKE_INTERNAL', `doctor: "${f.name}" failed: ${f.detail}\n  fix: ${f.fix}`)
    : undefined;
}
