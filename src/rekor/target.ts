/** A log as the smoke test and the readers see it: a URL, the one CA trusted for it, its key and origin. */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { AirgapError } from '../errors.js';
import type { LogEndpoint } from './log-http.js';
import type { WitnessPolicy } from '../witness/policy.js';

export interface LogTarget {
  endpoint: LogEndpoint;
  logKeyPem: string;
  /** Checkpoint origin (Rekor v2) or hostname (Rekor v1). */
  origin: string;
  /** Names the test entries (an instance name, or "external"). */
  label: string;
  /** The timestamp authority's chain (leaf first), when the instance runs one. */
  tsaChainPem?: string;
  /** The witness policy whose quorum every checkpoint read from this log must meet. */
  witnessPolicy?: WitnessPolicy;
  /** When each witness last cosigned a checkpoint this host kept (unix seconds), for messages. */
  witnessLastSeen?: ReadonlyMap<string, number>;
}

export function logPublicKey(t: Pick<LogTarget, 'logKeyPem'>): KeyObject {
  try {
    return createPublicKey(t.logKeyPem);
  } catch (e) {
    throw new AirgapError('USAGE_BAD_LOG_KEY', 'the log public key is not a PEM public key', { cause: e });
  }
}
