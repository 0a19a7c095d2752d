/**
 * An installed instance: its directory layout (every path in one place) and state.json, which
 * records what a rerun, an upgrade, status, smoke and uninstall need to know.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { AirgapError } from '../errors.js';
import type { SmokeKind } from '../bundle/profile.js';
import { canonicalJson } from '../util/canonical-json.js';
import { writeFileAtomic } from '../util/fs-atomic.js';

export const DEFAULT_DATA_ROOT = '/var/lib/rekor-airgap';

export interface InstanceState {
  instance: string;
  profile: string;
  smoke: SmokeKind;
  project: string;
  dataDir: string;
  hostname: string;
  origin: string;
  httpsPort: number;
  bindAddress: string;
  url: string;
  /** Rekor v1: the Trillian tree, created once. */
  treeId?: string;
  logPublicKeyPem: string;
  /** Hex of the log's 32-byte key ID. */
  logKeyId: string;
  bundle: { createdAt: string; manifestSha256: string };
  images: Record<string, { ref: string; configDigest: string }>;
  installedAt: string;
  updatedAt: string;
}

export function instancePaths(dataDir: string) {
  return {
    dataDir,
    state: path.join(dataDir, 'state.json'),
    secrets: path.join(dataDir, 'secrets'),
    logSigner: path.join(dataDir, 'secrets', 'log-signer.pem'),
    logPublicKey: path.join(dataDir, 'log-public.pem'),
    signerPassword: path.join(dataDir, 'secrets', 'log-signer-password'),
    dbRootPassword: path.join(dataDir, 'secrets', 'db-root-password'),
    dbPassword: path.join(dataDir, 'secrets', 'db-password'),
    tls: path.join(dataDir, 'tls'),
    caCert: path.join(dataDir, 'tls', 'ca.crt'),
    caKey: path.join(dataDir, 'secrets', 'ca.key'),
    serverCert: path.join(dataDir, 'tls', 'server.crt'),
    serverKey: path.join(dataDir, 'tls', 'server.key'),
    config: path.join(dataDir, 'config'),
    compose: path.join(dataDir, 'config', 'compose.yaml'),
    initdb: path.join(dataDir, 'config', 'initdb'),
    log: path.join(dataDir, 'log'),
    db: path.join(dataDir, 'db'),
    scripts: path.join(dataDir, 'scripts'),
  };
}
export type InstancePaths = ReturnType<typeof instancePaths>;

export function validateInstanceName(name: string): void {
  if (!/^[a-z0-9][a-z0-9-]{0,30}$/.test(name)) {
    throw new AirgapError('USAGE_BAD_INSTANCE', `instance name ${JSON.stringify(name)}: use lowercase letters, digits and dashes (at most 31)`);
  }
}

export function dataDirFor(instance: string, dataDir?: string): string {
  return path.resolve(dataDir ?? path.join(DEFAULT_DATA_ROOT, instance));
}

export function composeProject(instance: string): string {
  return `rekor-airgap-${instance}`;
}

export async function readState(dataDir: string): Promise<InstanceState | undefined> {
  try {
    return JSON.parse(await fsp.readFile(instancePaths(dataDir).state, 'utf8')) as InstanceState;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new AirgapError('INSTALL_STATE_CORRUPT', `${instancePaths(dataDir).state} is unreadable: ${(e as Error).message}`, { cause: e });
  }
}

export async function writeState(state: InstanceState): Promise<void> {
  await writeFileAtomic(instancePaths(state.dataDir).state, canonicalJson(state), 0o644);
}

export async function requireState(instance: string, dataDir?: string): Promise<InstanceState> {
  const dir = dataDirFor(instance, dataDir);
  const s = await readState(dir);
  if (!s) throw new AirgapError('INSTALL_NO_INSTANCE', `no instance ${instance} at ${dir} (pass --data-dir if it was installed elsewhere)`);
  return s;
}
