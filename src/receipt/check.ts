/**
 * An install receipt checked against the log entry that records it: the entry signs the
 * statement's SHA-256, the signature over the statement verifies with the install key, and the
 * statement says what it says (its predicate, read as untrusted JSON). Pure.
 */
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { sha256Hex } from '../oci/digest.js';
import { AirgapError } from '../errors.js';
import { readUntrustedJson, type JsonValue } from '../util/untrusted-json.js';
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

/** The log entry a receipt is checked against: the digest it signs and its signer's key (PEM). */
export interface ReceiptEntryView {
  digestHex: string;
  verifier: string;
}

/**
 * Fails unless the receipt is the one the entry names (its digest), the install key is the entry's
 * signer, and the signature over the statement verifies with it.
 */
export function checkReceipt(r: ReceiptFiles, entry: ReceiptEntryView): CheckedReceipt {
  const statementSha256 = sha256Hex(r.statement);
  if (statementSha256 !== entry.digestHex)
    throw new AirgapError(
      'RECEIPT_INVALID',
      `the receipt's SHA-256 is ${statementSha256}; the log entry signs ${entry.digestHex}`,
    );
  const key = publicKey(r.publicKeyPem, 'the install key');
  if (!spkiOf(key).equals(spkiOf(publicKey(entry.verifier, "the log entry's signer"))))
    throw new AirgapError('RECEIPT_INVALID', 'the install key is not the key that signed the log entry');
  const ok = verify('sha256', r.statement, key, Buffer.from(r.signature.trim(), 'base64'));
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
    bundleSha256: firstSubject(s)
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

function publicKey(pem: string, what: string): KeyObject {
  try {
    return createPublicKey(pem);
  } catch (e) {
    throw new AirgapError('RECEIPT_INVALID', `${what} is not a PEM public key`, { cause: e });
  }
}

const spkiOf = (k: KeyObject) => k.export({ type: 'spki', format: 'der' });

function firstSubject(s: JsonValue): JsonValue {
  const first = s.at('subject').list()[0];
  return first ?? s.at('subject').fail('is empty');
}
