/** Runs the smoke test that fits a log, from explicit parameters or an installed instance's state. */
import { createPublicKey } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { AirgapError } from '../errors.js';
import type { InstanceState } from '../install/instance.js';
import { instancePaths } from '../install/instance.js';
import type { LogEndpoint } from './log-http.js';
import type { SmokeReport } from './report.js';
import { smokeV1 } from './smoke-v1.js';
import { smokeV2 } from './smoke-v2.js';

export interface SmokeTarget {
  kind: 'rekor-v2' | 'rekor-v1';
  endpoint: LogEndpoint;
  logKeyPem: string;
  origin: string;
  instance: string;
}

export async function targetFromState(state: InstanceState): Promise<SmokeTarget> {
  const p = instancePaths(state.dataDir);
  const ca = await fsp.readFile(p.caCert, 'utf8').catch((e: Error) => { throw new AirgapError('USAGE_CA_UNREADABLE', `cannot read the instance CA ${p.caCert}: ${e.message}`); });
  // From the install host the log is reached locally; TLS still checks the certificate for the hostname.
  const connectAddress = state.bindAddress === '0.0.0.0' || state.bindAddress === '::' ? '127.0.0.1' : state.bindAddress;
  return { kind: state.smoke, endpoint: { url: state.url, ca, connectAddress }, logKeyPem: state.logPublicKeyPem, origin: state.origin, instance: state.instance };
}

export async function runSmoke(t: SmokeTarget): Promise<SmokeReport> {
  let key;
  try {
    key = createPublicKey(t.logKeyPem);
  } catch (e) {
    throw new AirgapError('USAGE_BAD_LOG_KEY', 'the log public key is not a PEM public key', { cause: e });
  }
  if (t.kind === 'rekor-v2') return smokeV2({ endpoint: t.endpoint, logKey: key, origin: t.origin, instance: t.instance });
  return smokeV1({ endpoint: t.endpoint, logKey: key, hostname: t.origin, instance: t.instance });
}

export function smokeFailure(report: SmokeReport): AirgapError | undefined {
  if (report.ok) return undefined;
  const failed = report.checks.find((c) => !c.ok);
  return new AirgapError(failed?.code ?? 'SMOKE_FAILED', `smoke test failed at "${failed?.name}": ${failed?.detail}`);
}
