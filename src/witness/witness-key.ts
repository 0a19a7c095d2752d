/**
 * The witness's signer key as omniwitness reads it (--private_key_path): a Go
 * golang.org/x/mod/sumdb/note private key, `PRIVATE+KEY+<name>+<hex8>+base64(0x01 || seed32)`,
 * with hash SHA-256(name || "\n" || 0x01 || public key)[:4]. The witness cosigns with it under
 * cosignature/v1, so what clients trust is its 0x04 vkey (cosignature.ts), not the 0x01 one.
 * The key text is secret: no message here shows it.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { AirgapError } from '../errors.js';
import { decodeBase64Strict, ed25519Raw } from '../rekor/note.js';
import { printable } from '../util/untrusted-text.js';
import { ALG_COSIGNATURE_V1, cosignatureVkey, isValidKeyName, keyHashOf } from './cosignature.js';

const ALG_NOTE_ED25519 = 0x01;
/** PKCS#8 DER of an Ed25519 private key, before its 32-byte seed (RFC 8410). */
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

export interface WitnessSigner {
  name: string;
  privateKey: KeyObject;
  /** The cosignature/v1 vkey clients put in their policy. */
  vkey: string;
}

function signerInvalid(why: string): AirgapError {
  return new AirgapError('WITNESS_KEY_INVALID', `witness signer key ${why}`);
}

function seedOf(priv: KeyObject): Uint8Array {
  const der = priv.export({ format: 'der', type: 'pkcs8' });
  return new Uint8Array(der.subarray(der.length - 32));
}

/** A sumdb/note signer key text for an Ed25519 private key under `name`. */
export function formatWitnessSigner(name: string, priv: KeyObject): string {
  if (!isValidKeyName(name))
    throw signerInvalid(
      `name ${JSON.stringify(printable(name))} is not a valid key name (non-empty, no spaces, no "+")`,
    );
  if (priv.type !== 'private' || priv.asymmetricKeyType !== 'ed25519')
    throw signerInvalid('must be an Ed25519 private key');
  const hash = Buffer.from(keyHashOf(name, ALG_NOTE_ED25519, ed25519Raw(createPublicKey(priv)))).toString('hex');
  const key = Buffer.concat([Buffer.from([ALG_NOTE_ED25519]), seedOf(priv)]).toString('base64');
  return `PRIVATE+KEY+${name}+${hash}+${key}`;
}

/** A new witness key: the signer key text for omniwitness and its cosignature/v1 vkey. */
export function generateWitnessSigner(name: string): { signerKey: string; vkey: string } {
  const { privateKey } = generateKeyPairSync('ed25519');
  const signerKey = formatWitnessSigner(name, privateKey);
  return { signerKey, vkey: cosignatureVkey(name, privateKey) };
}

/**
 * Reads a signer key text. Type 0x01 (what Go's note.GenerateKey writes) and 0x04 are both
 * taken, as omniwitness takes them; the hash must be the one the name, type and key give.
 */
export function parseWitnessSigner(signerKey: string): WitnessSigner {
  const parts = signerKey.trim().split('+');
  const [priv, key, name = '', hash = ''] = parts;
  if (parts.length < 5 || priv !== 'PRIVATE' || key !== 'KEY')
    throw signerInvalid('does not start PRIVATE+KEY+<name>+');
  if (!isValidKeyName(name)) throw signerInvalid('has no valid key name');
  if (!/^[0-9a-f]{8}$/.test(hash)) throw signerInvalid(`of ${printable(name)} has no 8-digit lowercase hex key hash`);
  const raw = decodeBase64Strict(
    parts.slice(4).join('+'),
    'WITNESS_KEY_INVALID',
    `witness signer key of ${printable(name)}`,
  );
  const alg = raw[0];
  if ((alg !== ALG_NOTE_ED25519 && alg !== ALG_COSIGNATURE_V1) || raw.length !== 33)
    throw signerInvalid(`of ${printable(name)} is not an Ed25519 seed of type 0x01 or 0x04`);
  const privateKey = createPrivateKey({
    key: Buffer.concat([PKCS8_ED25519_PREFIX, raw.subarray(1)]),
    format: 'der',
    type: 'pkcs8',
  });
  const want = Buffer.from(keyHashOf(name, alg, ed25519Raw(createPublicKey(privateKey)))).toString('hex');
  if (want !== hash)
    throw signerInvalid(`of ${printable(name)} has key hash ${hash}, but its name and key give ${want}`);
  return { name, privateKey, vkey: cosignatureVkey(name, privateKey) };
}

/** The cosignature/v1 vkey of a signer key text. */
export function witnessVkeyOfSigner(signerKey: string): string {
  return parseWitnessSigner(signerKey).vkey;
}
