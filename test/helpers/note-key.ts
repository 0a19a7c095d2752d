import { createPublicKey } from 'node:crypto';
import { noteVerifierKey as fromKey } from '../../src/tlog/note.js';

/** The verifier key string for an Ed25519 log public key (PEM). */
export function noteVerifierKey(origin: string, pem: string): string {
  return fromKey(origin, createPublicKey(pem));
}
