/**
 * `bundle install --witness-policy FILE` or `--witness-instance NAME… [--witness-quorum K]`: the
 * witnesses a log sends its checkpoints to, and the quorum every reader of this tool enforces.
 * A policy file names witnesses anywhere (their CA comes with `--witness-ca`); a witness instance
 * is one this tool installed on this host (its key, URL and CA are read from it, and the log is
 * registered with it).
 */
import path from 'node:path';
import { AirgapError } from '../errors.js';
import { dataDirFor } from '../instance/layout.js';
import { readState } from '../instance/state.js';
import { readWitnessPolicyFile, type WitnessSetup } from '../instance/witnessing.js';
import { readRegularFile } from '../util/bounded-read.js';
import { simplePolicy, type PolicyWitness } from '../witness/policy.js';
import { parseCosignatureVkey } from '../witness/cosignature.js';
import { readManagedWitness, type ManagedWitness } from '../instance/witness-registry.js';

export interface WitnessOptions {
  policyFile?: string;
  /** Witness instances on this host: instance names, or their directories (a path with a "/"). */
  instances: readonly string[];
  /** How many of `instances` must cosign (default: all). */
  quorum?: number;
  /** The CA (PEM) that issued the certificates of a policy file's witnesses. */
  caFile?: string;
}

/** A witness instance of this host, and its directory. */
export interface LocalWitness extends ManagedWitness {
  dataDir: string;
}

export interface WitnessPlan extends WitnessSetup {
  /** Witness instances of this host the log is registered with. */
  managed: LocalWitness[];
}

const MAX_FILE = 256 * 1024;

export function wantsWitnesses(o: WitnessOptions | undefined): o is WitnessOptions {
  return !!o && (o.policyFile !== undefined || o.instances.length > 0);
}

export async function planWitnesses(o: WitnessOptions): Promise<WitnessPlan> {
  if (o.policyFile && o.instances.length)
    throw new AirgapError(
      'USAGE_INVALID',
      '--witness-policy and --witness-instance do not go together: list the witnesses in the policy file, or name instances',
    );
  return o.policyFile ? fromPolicyFile(o.policyFile, o.caFile) : fromInstances(o.instances, o.quorum);
}

async function fromPolicyFile(file: string, caFile: string | undefined): Promise<WitnessPlan> {
  const policy = await readWitnessPolicyFile(file, { maxBytes: MAX_FILE });
  if (policy.witnesses.length === 0) throw new AirgapError('WITNESS_POLICY_INVALID', `${file} names no witness`);
  if (!caFile)
    throw new AirgapError(
      'USAGE_INVALID',
      `--witness-ca is needed with --witness-policy: the CA (PEM) that issued the certificates of the witnesses in ${file}`,
    );
  const caPem = (await readRegularFile(caFile, MAX_FILE, 'USAGE_CA_UNREADABLE', 'witness CA')).toString('utf8');
  if (!caPem.includes('-----BEGIN CERTIFICATE-----'))
    throw new AirgapError('USAGE_CA_UNREADABLE', `--witness-ca ${caFile} holds no PEM certificate`);
  const egress = policy.witnesses.map((w) => ({ name: w.name, url: w.url ?? '', sameHost: false }));
  return { policy, egress, caPems: egress.map(() => caPem), managed: [] };
}

/** `--witness-instance NAME` (in the default place) or `--witness-instance DIR`. */
async function localWitness(nameOrDir: string): Promise<LocalWitness> {
  if (!nameOrDir.includes('/')) {
    const m = await readManagedWitness(nameOrDir);
    return { ...m, dataDir: dataDirFor(nameOrDir) };
  }
  const dataDir = path.resolve(nameOrDir);
  const state = await readState(dataDir);
  if (!state)
    throw new AirgapError('INSTALL_NO_INSTANCE', `--witness-instance ${nameOrDir}: no instance in ${dataDir}`);
  return { ...(await readManagedWitness(state.instance, dataDir)), dataDir };
}

async function fromInstances(names: readonly string[], quorum: number | undefined): Promise<WitnessPlan> {
  if (new Set(names).size !== names.length)
    throw new AirgapError('USAGE_INVALID', '--witness-instance names the same instance twice');
  const k = quorum ?? names.length;
  if (!Number.isInteger(k) || k < 1 || k > names.length)
    throw new AirgapError(
      'USAGE_INVALID',
      `--witness-quorum ${quorum}: must be between 1 and the number of --witness-instance (${names.length})`,
    );
  const managed: LocalWitness[] = [];
  for (const name of names) managed.push(await localWitness(name));
  if (new Set(managed.map((m) => m.instance)).size !== managed.length)
    throw new AirgapError('USAGE_INVALID', '--witness-instance names the same instance twice');
  const witnesses: PolicyWitness[] = managed.map((m) => ({
    name: m.instance,
    key: parseCosignatureVkey(m.vkey),
    url: m.url,
  }));
  return {
    policy: simplePolicy(witnesses, k),
    egress: managed.map((m) => ({ name: m.instance, url: m.url, sameHost: true })),
    caPems: managed.map((m) => m.caPem),
    managed,
  };
}
