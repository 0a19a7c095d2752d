/**
 * C2SP signed notes (https://c2sp.org/signed-note) and tlog checkpoints
 * (https://c2sp.org/tlog-checkpoint), with the key hashes rekor-tiles and Rekor v1 use.
 * Pure functions over bytes and node:crypto KeyObjects.
 */
import { createPublicKey, sign as cryptoSign, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { sha256 } from '@noble/hashes/sha2.js';
import { AirgapError, type ErrorCode } from '../errors.js';
import { printable } from '../util/untrusted-text.js';

const SIG_PREFIX = '\u2014 '; // em dash + space
const ALG_ED25519 = 0x01;

export interface NoteSignature {
  name: string;
  keyHash: Uint8Array; // 4 bytes
  signature: Uint8Array;
}

export interface SignedNote {
  /** The signed text: every body line, each with its newline. */
  text: string;
  signatures: NoteSignature[];
}

export interface Checkpoint {
  origin: string;
  size: number;
  rootHash: Uint8Array;
  extensions: string[];
}

/** Strict, canonical standard base64 (one spelling per value), or `code` naming `what`. */
export function decodeBase64Strict(s: string, code: ErrorCode, what: string): Uint8Array {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0) {
    throw new AirgapError(code, `${what} is not valid base64`);
  }
  const bytes = Buffer.from(s, 'base64');
  // Canonical only: unused low bits of the last character must be zero, so one signature has one
  // spelling (a changed note is never accepted as the same note).
  if (bytes.toString('base64') !== s) throw new AirgapError(code, `${what} is not canonical base64`);
  return new Uint8Array(bytes);
}

/** C2SP signed-note: splits a note into its text and signature lines. */
export function parseSignedNote(note: string): SignedNote {
  const sep = note.lastIndexOf('\n\n');
  if (sep < 0) throw new AirgapError('NOTE_MALFORMED', 'signed note has no blank line before its signatures');
  const text = note.slice(0, sep + 1);
  const sigBlock = note.slice(sep + 2);
  if (!sigBlock.endsWith('\n')) throw new AirgapError('NOTE_MALFORMED', 'signed note does not end with a newline');
  const signatures: NoteSignature[] = [];
  for (const line of sigBlock.slice(0, -1).split('\n')) {
    if (!line.startsWith(SIG_PREFIX))
      throw new AirgapError(
        'NOTE_MALFORMED',
        `signature line does not start with an em dash: ${JSON.stringify(line.slice(0, 40))}`,
      );
    const rest = line.slice(SIG_PREFIX.length);
    const space = rest.lastIndexOf(' ');
    if (space <= 0) throw new AirgapError('NOTE_MALFORMED', 'signature line has no key name');
    const name = rest.slice(0, space);
    const blob = decodeBase64Strict(rest.slice(space + 1), 'NOTE_MALFORMED', `signature of ${name}`);
    if (blob.length < 5) throw new AirgapError('NOTE_MALFORMED', `signature of ${name} is too short`);
    signatures.push({ name, keyHash: blob.slice(0, 4), signature: blob.slice(4) });
  }
  if (signatures.length === 0) throw new AirgapError('NOTE_MALFORMED', 'signed note has no signatures');
  return { text, signatures };
}

/** C2SP tlog-checkpoint: origin, decimal size, base64 root hash, then extension lines. */
export function parseCheckpointBody(text: string): Checkpoint {
  const lines = text.split('\n');
  if (lines.pop() !== '')
    throw new AirgapError('NOTE_CHECKPOINT_MALFORMED', 'checkpoint text does not end with a newline');
  if (lines.length < 3)
    throw new AirgapError('NOTE_CHECKPOINT_MALFORMED', `checkpoint has ${lines.length} lines, expected at least 3`);
  const [origin, sizeLine, rootLine, ...extensions] = lines as [string, string, string, ...string[]];
  if (origin === '') throw new AirgapError('NOTE_CHECKPOINT_MALFORMED', 'checkpoint origin is empty');
  if (!/^(0|[1-9][0-9]*)$/.test(sizeLine))
    throw new AirgapError(
      'NOTE_CHECKPOINT_MALFORMED',
      `checkpoint size ${JSON.stringify(sizeLine)} is not a decimal number`,
    );
  const size = Number(sizeLine);
  if (!Number.isSafeInteger(size))
    throw new AirgapError('NOTE_CHECKPOINT_MALFORMED', `checkpoint size ${sizeLine} is too large`);
  const rootHash = decodeBase64Strict(rootLine, 'NOTE_CHECKPOINT_MALFORMED', 'checkpoint root hash');
  if (rootHash.length !== 32)
    throw new AirgapError('NOTE_CHECKPOINT_MALFORMED', `checkpoint root hash is ${rootHash.length} bytes, expected 32`);
  return { origin, size, rootHash, extensions };
}

/** Raw 32-byte Ed25519 public key from a KeyObject. */
export function ed25519Raw(key: KeyObject): Uint8Array {
  const der = key.export({ format: 'der', type: 'spki' });
  return new Uint8Array(der.subarray(der.length - 32));
}

/**
 * The log's key ID: 32 bytes, of which the first 4 are the note key hash.
 * Ed25519 (C2SP): SHA-256(origin || 0x0A || 0x01 || key); ECDSA (Rekor): SHA-256(DER SPKI).
 */
export function logKeyId(origin: string, key: KeyObject): Uint8Array {
  if (key.asymmetricKeyType === 'ed25519') {
    const enc = new TextEncoder();
    const name = enc.encode(origin);
    const raw = ed25519Raw(key);
    const buf = new Uint8Array(name.length + 2 + raw.length);
    buf.set(name, 0);
    buf[name.length] = 0x0a;
    buf[name.length + 1] = ALG_ED25519;
    buf.set(raw, name.length + 2);
    return sha256(buf);
  }
  if (key.asymmetricKeyType === 'ec') {
    return sha256(new Uint8Array(key.export({ format: 'der', type: 'spki' })));
  }
  throw new AirgapError(
    'NOTE_UNSUPPORTED_KEY',
    `log key type ${key.asymmetricKeyType ?? 'unknown'} is not supported (Ed25519 or ECDSA)`,
  );
}

export function noteKeyHash(origin: string, key: KeyObject): Uint8Array {
  return logKeyId(origin, key).slice(0, 4);
}

/**
 * The C2SP signed-note verifier key of an Ed25519 log key, `<name>+<hex key hash>+<base64(0x01 ||
 * key)>`: what Go's note package, Tessera's tools and witnesses take to check the checkpoints.
 */
export function noteVerifierKey(name: string, key: KeyObject): string {
  if (key.asymmetricKeyType !== 'ed25519')
    throw new AirgapError('NOTE_UNSUPPORTED_KEY', 'a note verifier key is defined here for Ed25519 log keys only');
  const hash = Buffer.from(noteKeyHash(name, key)).toString('hex');
  return `${name}+${hash}+${Buffer.concat([Buffer.from([ALG_ED25519]), Buffer.from(ed25519Raw(key))]).toString('base64')}`;
}

function verifyRaw(key: KeyObject, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    if (key.asymmetricKeyType === 'ed25519') return cryptoVerify(null, message, key, signature);
    return cryptoVerify('sha256', message, key, signature);
  } catch {
    return false;
  }
}

/**
 * Verifies that `note` carries a valid signature by `key` under `name` and returns the note.
 * Other signatures (witnesses, cosigners) are ignored; this key's own must be present and valid.
 */
export function verifyNoteSignedByKey(note: string, name: string, key: KeyObject): SignedNote {
  const parsed = parseSignedNote(note);
  const want = noteKeyHash(name, key);
  const candidates = parsed.signatures.filter(
    (s) => s.name === name && Buffer.from(s.keyHash).equals(Buffer.from(want)),
  );
  if (candidates.length === 0) {
    const seen = parsed.signatures.map((s) => `${s.name}/${Buffer.from(s.keyHash).toString('hex')}`).join(', ');
    throw new AirgapError(
      'NOTE_KEY_NOT_FOUND',
      `no signature by key ${name}/${Buffer.from(want).toString('hex')} on the note (found: ${printable(seen)})`,
    );
  }
  const message = new TextEncoder().encode(parsed.text);
  if (!candidates.some((s) => verifyRaw(key, message, s.signature))) {
    throw new AirgapError('NOTE_SIGNATURE_INVALID', `the signature of ${name} on the note does not verify`);
  }
  return parsed;
}

/**
 * Verifies a checkpoint's log signature and origin, then returns the checkpoint. The signature line
 * is named by the origin (C2SP, rekor-tiles), or by the log's hostname for Rekor v1, whose origin
 * is "<hostname> - <tree ID>".
 */
export function verifyCheckpointSignedByLogKey(
  note: string,
  origin: string,
  key: KeyObject,
  signerName: string = origin,
): Checkpoint {
  const checkpoint = parseCheckpointBody(parseSignedNote(note).text);
  if (checkpoint.origin !== origin) {
    throw new AirgapError(
      'NOTE_ORIGIN_MISMATCH',
      `checkpoint origin is ${JSON.stringify(printable(checkpoint.origin, { max: 200 }))}, expected ${JSON.stringify(printable(origin, { max: 200 }))}`,
    );
  }
  verifyNoteSignedByKey(note, signerName, key);
  return checkpoint;
}

/** An Ed25519 public KeyObject from its 32 raw bytes. */
export function ed25519PublicKeyFromRaw(raw: Uint8Array): KeyObject {
  if (raw.length !== 32)
    throw new AirgapError('NOTE_UNSUPPORTED_KEY', `Ed25519 key is ${raw.length} bytes, expected 32`);
  const der = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), raw]);
  return createPublicKey({ key: der, format: 'der', type: 'spki' });
}

export function formatCheckpointBody(cp: Checkpoint): string {
  return [cp.origin, String(cp.size), Buffer.from(cp.rootHash).toString('base64'), ...cp.extensions].join('\n') + '\n';
}

/** Signs a note text with a private key under `name` (used for test vectors and mutation tests). */
export function signNote(text: string, name: string, privateKey: KeyObject): string {
  const pub = createPublicKey(privateKey);
  const message = new TextEncoder().encode(text);
  const sig =
    pub.asymmetricKeyType === 'ed25519'
      ? cryptoSign(null, message, privateKey)
      : cryptoSign('sha256', message, privateKey);
  const blob = Buffer.concat([Buffer.from(noteKeyHash(name, pub)), sig]);
  return `${text}\n${SIG_PREFIX}${name} ${blob.toString('base64')}\n`;
}
