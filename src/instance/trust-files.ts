/**
 * The client trust files of an instance, in `trust/`: trusted_root.json, signing_config.json and
 * the CA certificate clients need for TLS. Written at install and restore, exported by `trust
 * export`, carried by every backup. A rotated log's files list every shard (`log rotate`): the
 * current one, and those rotated out with the end of their window.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { signingConfig, trustedRoot, type LogFacts, type TsaFacts } from '../trust/client-trust.js';
import { writeFileAtomic } from '../util/atomic-file.js';
import { canonicalJson } from '../util/canonical-json.js';
import { instancePaths } from './layout.js';
import type { InstanceState, ShardFacts } from './state.js';
import { readInstanceWitnessPolicy } from './witnessing.js';
import { formatWitnessPolicy } from '../witness/policy.js';

/** The operator every shard of the log is listed under: the first shard's name for it. */
export function operatorOf(state: InstanceState): string {
  return state.operator ?? `rekor-airgap ${state.instance} (${state.origin})`;
}

/** This instance as a shard: its own facts, its window ending when it went read-only. */
export function shardFactsOf(state: InstanceState, tsaChainPem?: string): ShardFacts {
  return {
    instance: state.instance,
    url: state.url,
    origin: state.origin,
    logPublicKeyPem: state.logPublicKeyPem,
    logKeyId: state.logKeyId,
    validFrom: state.installedAt,
    ...(state.readOnlySince ? { validUntil: state.readOnlySince } : {}),
    ...(state.finalCheckpoint ? { finalCheckpoint: state.finalCheckpoint } : {}),
    ...(tsaChainPem ? { tsaChainPem } : {}),
  };
}

/** Every shard the instance's trust files list, newest first: its successor, itself, its predecessors. */
export function shardsOf(state: InstanceState, ownTsaChainPem?: string): ShardFacts[] {
  return [
    ...(state.rotatedTo ? [state.rotatedTo] : []),
    shardFactsOf(state, ownTsaChainPem),
    ...(state.previousShards ?? []),
  ];
}

export function logFactsOf(state: InstanceState, apiVersion: 1 | 2): LogFacts[] {
  const operator = operatorOf(state);
  return shardsOf(state).map((s) => ({
    url: s.url,
    logPublicKeyPem: s.logPublicKeyPem,
    logKeyId: s.logKeyId,
    apiVersion,
    validFrom: s.validFrom,
    ...(s.validUntil ? { validUntil: s.validUntil } : {}),
    operator,
  }));
}

/** The timestamp authorities of the shards that ran one, each in its shard's window. */
export function tsaFactsOf(state: InstanceState, ownTsaChainPem?: string): TsaFacts[] {
  return shardsOf(state, ownTsaChainPem).flatMap((s) =>
    s.tsaChainPem
      ? [
          {
            url: s.url,
            chainPem: [s.tsaChainPem],
            validFrom: s.validFrom,
            ...(s.validUntil ? { validUntil: s.validUntil } : {}),
            commonName: `rekor-airgap TSA for ${s.instance}`,
            organization: 'rekor-airgap',
          },
        ]
      : [],
  );
}

/** The instance's own timestamp authority chain, when it runs one. */
export async function ownTsaChain(state: InstanceState): Promise<string | undefined> {
  return state.stack.tsa === 'on' ? fsp.readFile(instancePaths(state.dataDir).tsaChain, 'utf8') : undefined;
}

export interface TrustFiles {
  trustedRoot: string;
  signingConfig: string;
  caCert: string;
  /** The witness policy whose quorum clients must check (Sigstore clients do not): when the log has one. */
  witnessPolicy?: string;
}

/**
 * The CA certificates clients need for TLS: the instance's own, then those of its other shards
 * (each CA is name-constrained to its own instance's names), one PEM file.
 */
export async function caBundleOf(state: InstanceState): Promise<string> {
  const own = await fsp.readFile(instancePaths(state.dataDir).caCert, 'utf8');
  const others = shardsOf(state).flatMap((s) => (s.caCertPem && s.instance !== state.instance ? [s.caCertPem] : []));
  const all = [own, ...others].map((pem) => (pem.endsWith('\n') ? pem : `${pem}\n`));
  return [...new Set(all)].join('');
}

/** Writes the three files into `dir` (default: the instance's trust/). */
export async function writeTrustFiles(state: InstanceState, apiVersion: 1 | 2, dir?: string): Promise<TrustFiles> {
  const p = instancePaths(state.dataDir);
  const out = dir ?? p.trust;
  const logs = logFactsOf(state, apiVersion);
  const tsas = tsaFactsOf(state, await ownTsaChain(state));
  const files = {
    trustedRoot: path.join(out, 'trusted_root.json'),
    signingConfig: path.join(out, 'signing_config.json'),
    caCert: path.join(out, 'ca.crt'),
  };
  await fsp.mkdir(out, { recursive: true, mode: 0o755 });
  await writeFileAtomic(files.trustedRoot, canonicalJson(trustedRoot(logs, tsas)), 0o644);
  await writeFileAtomic(files.signingConfig, canonicalJson(signingConfig(logs, tsas)), 0o644);
  await writeFileAtomic(files.caCert, await caBundleOf(state), 0o644);
  const policy = await readInstanceWitnessPolicy(p);
  if (!policy) return files;
  const witnessPolicy = path.join(out, 'witness-policy.txt');
  await writeFileAtomic(witnessPolicy, formatWitnessPolicy(policy), 0o644);
  return { ...files, witnessPolicy };
}
