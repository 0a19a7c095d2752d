/**
 * Making detached signatures (bundle create, bundle pack): ECDSA P-256 over SHA-256, deterministic
 * (RFC 6979) and low-S. Apart from signing.ts so that commands which only verify never load the
 * curve arithmetic.
 */
import type { KeyObject } from 'node:crypto';
import { p256 } from '@noble/curves/nist.js';
import { AirgapError } from '../errors.js';

/** Detached signature: base64(DER(ECDSA-P256(SHA-256(data)))), deterministic (RFC 6979). */
export function signDetached(data: Uint8Array, key: KeyObject): string {
  const jwk = key.export({ format: 'jwk' });
  if (!jwk.d) throw new AirgapError('KEY_WRONG_TYPE', 'signing needs a private key');
  const d = new Uint8Array(Buffer.from(jwk.d, 'base64url'));
  const der = p256.sign(data, d, { prehash: true, format: 'der', lowS: true });
  return Buffer.from(der).toString('base64') + '\n';
}
