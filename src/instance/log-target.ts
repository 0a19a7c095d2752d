/** How this host reaches an installed instance's log: its URL, CA, key and origin. */
import { promises as fsp } from 'node:fs';
import { AirgapError } from '../errors.js';
import type { LogTarget } from '../rekor/target.js';
import { instancePaths } from './layout.js';
import type { InstanceState } from './state.js';
import { readInstanceWitnessPolicy } from './witnessing.js';
import { readHistory } from './checkpoint-history.js';
import { evaluateQuorum } from '../witness/quorum.js';
import type { WitnessPolicy } from '../witness/policy.js';

export interface TargetOptions {
  /**
   * Enforce the instance's witness policy on what is read (default). Backups and restores read the
   * log without it: they must work while witnesses are away.
   */
  witnesses?: boolean;
}

/** How many of the newest kept checkpoints are searched for each witness's last cosignature. */
const LAST_SEEN_WINDOW = 64;

/** When each witness last cosigned a checkpoint this instance kept (unix seconds). */
export async function witnessLastSeen(checkpointsDir: string, policy: WitnessPolicy): Promise<Map<string, number>> {
  const seen = new Map<string, number>();
  for (const kept of (await readHistory(checkpointsDir)).slice(-LAST_SEEN_WINDOW)) {
    for (const c of evaluateQuorum(kept.checkpoint, policy).cosigned)
      seen.set(c.name, Math.max(seen.get(c.name) ?? 0, c.timestamp));
  }
  return seen;
}

export async function logTargetOf(state: InstanceState, opts: TargetOptions = {}): Promise<LogTarget> {
  const p = instancePaths(state.dataDir);
  const ca = await fsp.readFile(p.caCert, 'utf8').catch((e: Error) => {
    throw new AirgapError('USAGE_CA_UNREADABLE', `cannot read the instance CA ${p.caCert}: ${e.message}`);
  });
  // From the install host the log is reached locally; TLS still checks the certificate for the hostname.
  const connectAddress =
    state.bindAddress === '0.0.0.0' || state.bindAddress === '::' ? '127.0.0.1' : state.bindAddress;
  const tsaChainPem =
    state.stack.tsa === 'on'
      ? await fsp.readFile(p.tsaChain, 'utf8').catch((e: Error) => {
          throw new AirgapError(
            'USAGE_CA_UNREADABLE',
            `cannot read the timestamp authority's chain ${p.tsaChain}: ${e.message}`,
          );
        })
      : undefined;
  const witnessPolicy = opts.witnesses === false ? undefined : await readInstanceWitnessPolicy(p);
  return {
    ...(witnessPolicy ? { witnessPolicy, witnessLastSeen: await witnessLastSeen(p.checkpoints, witnessPolicy) } : {}),
    endpoint: { url: state.url, ca, connectAddress },
    logKeyPem: state.logPublicKeyPem,
    origin: state.origin,
    label: state.instance,
    ...(tsaChainPem ? { tsaChainPem } : {}),
  };
}
