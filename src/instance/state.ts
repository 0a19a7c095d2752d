/**
 * state.json of an installed instance: what a rerun, an upgrade, status, smoke and uninstall need to
 * know. Stack-specific facts (the Trillian tree of Rekor v1) live under `stack`.
 */
import { promises as fsp } from 'node:fs';
import { AirgapError } from '../errors.js';
import { canonicalJson } from '../util/canonical-json.js';
import { writeFileAtomic } from '../util/atomic-file.js';
import { dataDirFor, instancePaths } from './layout.js';

export interface InstanceState {
  instance: string;
  profile: string;
  /** The stack module that runs it (`kind:` of the profile). */
  kind: string;
  project: string;
  dataDir: string;
  hostname: string;
  origin: string;
  httpsPort: number;
  bindAddress: string;
  url: string;
  /** rekor-tiles' checkpoint interval (a Go duration). */
  checkpointInterval: string;
  /** The /26 of the instance's internal network, for a stack whose services have fixed addresses. */
  internalSubnet?: string;
  /** Facts a stack keeps (e.g. `treeId`). */
  stack: Record<string, string>;
  logPublicKeyPem: string;
  /** Hex of the log's 32-byte key ID. */
  logKeyId: string;
  bundle: { createdAt: string; manifestSha256: string; release: number };
  /** The highest bundle release this instance has run (an install never goes below it by default). */
  highestRelease: number;
  images: Record<string, { ref: string; configDigest: string }>;
  installedAt: string;
  updatedAt: string;
}

/** Reads state.json; a state written before `kind`/`stack` existed is read in the new shape. */
export async function readState(dataDir: string): Promise<InstanceState | undefined> {
  const file = instancePaths(dataDir).state;
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(await fsp.readFile(file, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new AirgapError('INSTALL_STATE_CORRUPT', `${file} is unreadable: ${(e as Error).message}`, { cause: e });
  }
  if (!raw || typeof raw !== 'object' || typeof raw.instance !== 'string') throw new AirgapError('INSTALL_STATE_CORRUPT', `${file} is not an instance state`);
  const { smoke, treeId, ...rest } = raw as Record<string, unknown> & { smoke?: string; treeId?: string };
  const stack = (rest.stack as Record<string, string> | undefined) ?? (typeof treeId === 'string' ? { treeId } : {});
  const st = rest as unknown as InstanceState;
  return { ...st, checkpointInterval: st.checkpointInterval ?? '2s', kind: (rest.kind as string | undefined) ?? smoke ?? '', stack, highestRelease: st.highestRelease ?? 0, bundle: { ...st.bundle, release: st.bundle?.release ?? 0 } };
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
