/**
 * An install receipt checked against the log entry that records it: the entry signs the
 * statement's SHA-256, the signature over the statement verifies with the install key, and the
 * statement says what it says (its predicate, read as untrusted JSON). Pure.
 */
import { createHash, createPublicKey, verify } from 'node:crypto';
import { AirgapError } from '../errors.js';
import { readUntrustedJson } from '../util/untrusted-json.js';
import { RECEIPT_PREDICATE_TYPE } from './statement.js';

export interface ReceiptFiles {
  statement: Buffer;
  /** Base64 of the DER ECDSA signature. */
  signature: string;
  publicKeyPem: string;
}

export interface CheckedReceipt {
  statementSha256: string;
  instance: string;
  profile: string;
  release: number;
  installedAt: string;
  bundleSha256: string;
  images: Array<{ ref: string; digest: string; imageId: string; provenance: string }>;
}

/** Fails unless the receipt is the one `entryDigestHex` names and its signature verifies. */
export function checkReceipt(r: ReceiptFiles, entryDigestHex: string): CheckedReceipt {
  const statementSha256 = createHash('sha256').update(r.statement).digest('hex');
  if (statementSha256 !== entryDigestHex)
    throw new AirgapError(
      'RECEIPT_INVALID',
      `the receipt's SHA-256 is ${statementSha256}; the log entry signs ${entryDigestHex}`,
    );
  const ok = verify('sha256', r.statement, createPublicKey(r.publicKeyPem), Buffer.from(r.signature.trim(), 'base64'));
  if (!ok) throw new AirgapError('RECEIPT_INVALID', 'the receipt’s signature does not verify with the install key');
  const s = readUntrustedJson(r.statement, { what: 'the install receipt', code: 'RECEIPT_INVALID' });
  if (s.at('predicateType').string() !== RECEIPT_PREDICATE_TYPE)
    s.at('predicateType').fail(`is not ${RECEIPT_PREDICATE_TYPE}`);
  const p = s.at('predicate');
  return {
    statementSha256,
    instance: p.at('instance').string(),
    profile: p.at('profile').string(),
    release: p.at('release').int(),
    installedAt: p.at('installedAt').string(),
    bundleSha256: s
      .at('subject')
      .list()[0]!
      .at('digest')
      .at('sha256')
      .string(/^[0-9a-f]{64}$/),
    images: p
      .at('images')
      .list()
      .map((i) => ({
        ref: i.at('ref').string(),
        digest: i.at('digest').string(),
        imageId: i.at('imageId').string(),
        provenance: i.at('provenance').string(),
      })),
  };
}
