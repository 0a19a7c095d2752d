/**
 * Bundle signing keys (made by `bundle keygen`, loaded for signing, trusted with --trust) and the
 * check of detached signatures: ECDSA P-256 over SHA-256, the signature file is base64 of DER, so
 * `openssl dgst -sha256 -verify` and `cosign verify-blob --key` check it. Only the low-S form is
 * taken. Signatures are made in sign-detached.ts (deterministic, RFC 6979, and low-S).
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  verify as cryptoVerify,
  type KeyObject,
} from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { AirgapError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic-file.js';
import { readRegularFile } from '../util/bounded-read.js';

export const PASSPHRASE_ENV = 'REKOR_AIRGAP_PASSPHRASE';

export async function readPassphrase(file: string | undefined): Promise<string> {
  if (file) {
    try {
      return (await fsp.readFile(file, 'utf8')).replace(/\r?\n$/, '');
    } catch (e) {
      throw new AirgapError(
        'KEY_PASSPHRASE_UNREADABLE',
        `cannot read the passphrase file ${file}: ${(e as Error).message}`,
        { cause: e },
      );
    }
  }
  const env = process.env[PASSPHRASE_ENV];
  if (env !== undefined && env !== '') return env;
  throw new AirgapError(
    'KEY_PASSPHRASE_MISSING',
    `no passphrase: pass --passphrase-file FILE or set ${PASSPHRASE_ENV}`,
  );
}

export async function generateSigningKey(privatePath: string, publicPath: string, passphrase: string): Promise<void> {
  if (passphrase.length < 8)
    throw new AirgapError('KEY_PASSPHRASE_WEAK', 'the passphrase must have at least 8 characters');
  const { privateKey, publicKey } = generateKeyPairSync('ec', {
    namedCurve: 'P-256',
    privateKeyEncoding: { type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  for (const p of [privatePath, publicPath]) {
    try {
      await fsp.access(p);
      throw new AirgapError('KEY_EXISTS', `${p} already exists; refusing to overwrite a key`);
    } catch (e) {
      if (e instanceof AirgapError) throw e;
    }
  }
  await writeFileAtomic(privatePath, privateKey, 0o600);
  await fsp.chmod(privatePath, 0o600);
  await writeFileAtomic(publicPath, publicKey, 0o644);
}

/** A key file is read like every small file: a regular file, not through a link, at most this big. */
const MAX_KEY_FILE = 64 * 1024;

export async function loadSigningKey(file: string, passphrase: string): Promise<KeyObject> {
  const pem = (await readRegularFile(file, MAX_KEY_FILE, 'KEY_UNREADABLE', 'the signing key')).toString('utf8');
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem', passphrase });
  } catch (e) {
    throw new AirgapError(
      'KEY_DECRYPT_FAILED',
      `cannot decrypt the signing key ${file}: wrong passphrase or not a PEM private key`,
      { cause: e },
    );
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new AirgapError('KEY_WRONG_TYPE', `the signing key ${file} is not ECDSA P-256`);
  }
  return key;
}

/**
 * Trusted keys are exactly what `bundle keygen` makes: an SPKI "PUBLIC KEY" PEM of an ECDSA P-256
 * key. A certificate, a private key, an RSA or Ed25519 key is refused, naming the file.
 */
export function parseTrustedKey(pem: string, file: string): KeyObject {
  const blocks = [...pem.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----/g)].map((m) => m[1]);
  if (blocks.length !== 1 || blocks[0] !== 'PUBLIC KEY') {
    throw new AirgapError(
      'KEY_INVALID',
      `the trusted key ${file} must hold one "PUBLIC KEY" PEM block (found: ${blocks.join(', ') || 'none'}); pass the .pub file bundle keygen wrote`,
    );
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem, format: 'pem' });
  } catch (e) {
    throw new AirgapError('KEY_INVALID', `the trusted key ${file} is not a readable PEM public key`, { cause: e });
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new AirgapError(
      'KEY_WRONG_TYPE',
      `the trusted key ${file} is ${key.asymmetricKeyType === 'ec' ? `ECDSA ${key.asymmetricKeyDetails?.namedCurve}` : key.asymmetricKeyType}, not ECDSA P-256`,
    );
  }
  return key;
}

export async function loadTrustedKeys(files: readonly string[]): Promise<Array<{ file: string; key: KeyObject }>> {
  if (files.length === 0) throw new AirgapError('USAGE_NO_TRUST', 'no trusted key: pass --trust PUB.pem (repeatable)');
  return Promise.all(
    files.map(async (file) => {
      const pem = (await readRegularFile(file, MAX_KEY_FILE, 'KEY_UNREADABLE', 'the trusted key')).toString('utf8');
      return { file, key: parseTrustedKey(pem, file) };
    }),
  );
}

const P256_HALF_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n >> 1n;

/**
 * True for a strict DER ECDSA-P256 signature (SEQUENCE of two positive INTEGERs, short lengths)
 * whose s is at most n/2. Anything else is false: the caller refuses it.
 */
export function isLowS(der: Uint8Array): boolean {
  if (der.length < 8 || der[0] !== 0x30 || der[1] !== der.length - 2) return false;
  let i = 2;
  const int = (): bigint | undefined => {
    if (der[i] !== 0x02) return undefined;
    const len = der[i + 1]!;
    if (len < 1 || len > 33 || i + 2 + len > der.length) return undefined;
    const bytes = der.subarray(i + 2, i + 2 + len);
    if (bytes[0]! & 0x80) return undefined; // negative
    if (len > 1 && bytes[0] === 0 && !(bytes[1]! & 0x80)) return undefined; // not minimal
    i += 2 + len;
    return BigInt(`0x${Buffer.from(bytes).toString('hex')}`);
  };
  const r = int();
  const sv = int();
  if (r === undefined || sv === undefined || i !== der.length || r === 0n || sv === 0n) return false;
  return sv <= P256_HALF_N;
}

/** True when `sigText` (base64 DER) is a valid signature of `data` by `key`. */
export function checkDetached(data: Uint8Array, sigText: string, key: KeyObject): boolean {
  const trimmed = sigText.trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(trimmed)) return false;
  const der = Buffer.from(trimmed, 'base64');
  try {
    // ECDSA signatures are malleable: (r, n - s) verifies too. Only the low-S form we make is taken.
    if (!isLowS(der)) return false;
    return cryptoVerify('sha256', data, key, der);
  } catch {
    return false;
  }
}

/** Verifies a detached signature against any of the trusted keys; returns the file of the key that matched. */
export function verifyDetachedWithAnyKey(
  data: Uint8Array,
  sigText: string,
  keys: ReadonlyArray<{ file: string; key: KeyObject }>,
  what: string,
): string {
  for (const k of keys) if (checkDetached(data, sigText, k.key)) return k.file;
  throw new AirgapError(
    'SIGNATURE_INVALID',
    `${what}: the signature does not verify with any trusted key (${keys.map((k) => k.file).join(', ')})`,
  );
}
