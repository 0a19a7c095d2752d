/**
 * The client trust files of an instance, in `trust/`: trusted_root.json, signing_config.json and
 * the CA certificate clients need for TLS. Written at install and restore, exported by `trust
 * export`, carried by every backup.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { signingConfig, trustedRoot, type LogFacts, type TsaFacts } from '../trust/client-trust.js';
import { writeFileAtomic } from '../util/atomic-file.js';
import { canonicalJson } from '../util/canonical-json.js';
import { instancePaths } from './layout.js';
import type { InstanceState } from './state.js';
import { readInstanceWitnessPolicy } from './witnessing.js';
import { formatWitnessPolicy } from '../witness/policy.js';

export function logFactsOf(state: InstanceState, apiVersion: 1 | 2): LogFacts {
  return {
    url: state.url,
    logPublicKeyPem: state.logPublicKeyPem,
    logKeyId: state.logKeyId,
    apiVersion,
    validFrom: state.installedAt,
    operator: `rekor-airgap ${state.instance} (${state.origin})`,
  };
}

export interface TrustFiles {
  trustedRoot: string;
  signingConfig: string;
  caCert: string;
  /** The witness policy whose quorum clients must check (Sigstore clients do not): when the log has one. */
  witnessPolicy?: string;
}

/** Writes the three files into `dir` (default: the instance's trust/). */
export async function writeTrustFiles(state: InstanceState, apiVersion: 1 | 2, dir?: string): Promise<TrustFiles> {
  const p = instancePaths(state.dataDir);
  const out = dir ?? p.trust;
  const facts = logFactsOf(state, apiVersion);
  const tsas: TsaFacts[] =
    state.stack.tsa === 'on'
      ? [
          {
            url: state.url,
            chainPem: [await fsp.readFile(p.tsaChain, 'utf8')],
            validFrom: state.installedAt,
            commonName: `rekor-airgap TSA for ${state.instance}`,
            organization: 'rekor-airgap',
          },
        ]
      : [];
  const files = {
    trustedRoot: path.join(out, 'trusted_root.json'),
    signingConfig: path.join(out, 'signing_config.json'),
    caCert: path.join(out, 'ca.crt'),
  };
  await fsp.mkdir(out, { recursive: true, mode: 0o755 });
  await writeFileAtomic(files.trustedRoot, canonicalJson(trustedRoot(facts, tsas)), 0o644);
  await writeFileAtomic(files.signingConfig, canonicalJson(signingConfig(facts, tsas)), 0o644);
  await writeFileAtomic(files.caCert, await fsp.readFile(p.caCert), 0o644);
  const policy = await readInstanceWitnessPolicy(p);
  if (!policy) return files;
  const witnessPolicy = path.join(out, 'witness-policy.txt');
  await writeFileAtomic(witnessPolicy, formatWitnessPolicy(policy), 0o644);
  return { ...files, witnessPolicy };
}
