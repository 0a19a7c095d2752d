/**
 * C2SP tlog-cosignature v1 (https://c2sp.org/tlog-cosignature), Ed25519: the timestamped
 * signature a witness adds to a log's checkpoint note, and the verifier key (vkey) that names it.
 * Pure functions over strings and node:crypto KeyObjects.
 *
 *   vkey            <name>+<hex key hash>+base64(0x04 || Ed25519 public key)
 *   key hash        SHA-256(<name> || "\n" || 0x04 || public key)[:4]
 *   signature line  — <name> base64(key hash || uint64 BE timestamp || Ed25519 signature)
 *   signed message  "cosignature/v1\ntime <timestamp>\n" || the checkpoint's note text
 */
import { sign as cryptoSign, verify as cryptoVerify, createPublicKey, type KeyObject } from 'node:crypto';
import { sha256 } from '@noble/hashes/sha2.js';
import { AirgapError } from '../errors.js';
import {
  decodeBase64Strict,
  ed25519PublicKeyFromRaw,
  ed25519Raw,
  parseCheckpointBody,
  parseSignedNote,
  type NoteSignature,
} from '../rekor/note.js';
import { printable } from '../util/untrusted-text.js';

/** The signature type byte of an Ed25519 cosignature/v1 key (a plain signed-note key is 0x01). */
export const ALG_COSIGNATURE_V1 = 0x04;
const ALG_NOTE_ED25519 = 0x01;
const TIMESTAMP_BYTES = 8;
const ED25519_SIG_BYTES = 64;
/** The C2SP limit on a cosignature's timestamp (2^63 - 1), as a bigint. */
const MAX_TIMESTAMP = (1n << 63n) - 1n;
/** Like Go's note.Open: a note with more signature lines than this is not read. */
export const MAX_NOTE_SIGNATURES = 100;

export interface WitnessKey {
  /** The key name: the name on the witness's signature lines. */
  name: string;
  /** 4 bytes. */
  keyHash: Uint8Array;
  publicKey: KeyObject;
  /** The vkey text, `<name>+<hex8>+<base64>`. */
  vkey: string;
}

export interface Cosignature {
  name: string;
  /** When the witness cosigned, in POSIX seconds. */
  timestamp: number;
}

/**
 * A signed-note key name (as Go's note package): not empty, at most 255 bytes, no Unicode space,
 * no `+`. Control characters are refused too (a note may not carry them).
 */
export function isValidKeyName(name: string): boolean {
  return (
    name !== '' &&
    Buffer.byteLength(name, 'utf8') <= 255 &&
    // eslint-disable-next-line no-control-regex -- control characters are what is refused
    !/[\s\u0085+\u0000-\u001f\u007f]/u.test(name) &&
    !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(name)
  );
}

/** SHA-256(name || "\n" || alg || pub32)[:4]: the key hash of a signed-note or cosignature key. */
export function keyHashOf(name: string, alg: number, pub: Uint8Array): Uint8Array {
  const n = Buffer.from(name, 'utf8');
  return sha256(Buffer.concat([n, Buffer.from([0x0a, alg]), pub])).slice(0, 4);
}

function keyInvalid(what: string, why: string, cause?: unknown): AirgapError {
  return new AirgapError('WITNESS_KEY_INVALID', `witness key ${JSON.stringify(printable(what, { max: 120 }))} ${why}`, {
    cause,
  });
}

/** Parses a cosignature/v1 vkey; its key hash must be the one its name and key give. */
export function parseCosignatureVkey(vkey: string): WitnessKey {
  const [name = '', hash = '', ...rest] = vkey.split('+');
  const key64 = rest.join('+'); // base64 may hold '+'
  if (!isValidKeyName(name)) throw keyInvalid(vkey, 'has no valid name (non-empty, no spaces, no "+")');
  if (!/^[0-9a-f]{8}$/.test(hash)) throw keyInvalid(vkey, 'has no 8-digit lowercase hex key hash');
  let raw: Uint8Array;
  try {
    raw = decodeBase64Strict(key64, 'WITNESS_KEY_INVALID', `the key of witness key ${printable(name)}`);
  } catch (e) {
    throw keyInvalid(vkey, `has a key that is not canonical base64`, e);
  }
  if (raw[0] === ALG_NOTE_ED25519)
    throw keyInvalid(
      vkey,
      'is a signed-note key (type 0x01), not a cosignature/v1 key (type 0x04); a witness publishes its cosignature key',
    );
  if (raw[0] !== ALG_COSIGNATURE_V1)
    throw keyInvalid(
      vkey,
      `has key type 0x${(raw[0] ?? 0).toString(16).padStart(2, '0')}, expected 0x04 (Ed25519 cosignature/v1)`,
    );
  if (raw.length !== 33) throw keyInvalid(vkey, `has a ${raw.length - 1}-byte key, expected 32`);
  const pub = raw.slice(1);
  const want = Buffer.from(keyHashOf(name, ALG_COSIGNATURE_V1, pub)).toString('hex');
  if (want !== hash) throw keyInvalid(vkey, `has key hash ${hash}, but its name and key give ${want}`);
  return { name, keyHash: Buffer.from(want, 'hex'), publicKey: ed25519PublicKeyFromRaw(pub), vkey };
}

/** The cosignature/v1 vkey of an Ed25519 public key under `name`. */
export function cosignatureVkey(name: string, pub: KeyObject): string {
  if (!isValidKeyName(name)) throw keyInvalid(name, 'is not a valid key name (non-empty, no spaces, no "+")');
  if (pub.asymmetricKeyType !== 'ed25519') throw keyInvalid(name, 'must be an Ed25519 key');
  const raw = ed25519Raw(pub.type === 'private' ? createPublicKey(pub) : pub);
  const hash = Buffer.from(keyHashOf(name, ALG_COSIGNATURE_V1, raw)).toString('hex');
  return `${name}+${hash}+${Buffer.concat([Buffer.from([ALG_COSIGNATURE_V1]), raw]).toString('base64')}`;
}

/** The message a cosignature/v1 signs: header, time line, then the note text. */
export function cosignedMessage(text: string, timestamp: bigint | number): Uint8Array {
  return new TextEncoder().encode(`cosignature/v1\ntime ${BigInt(timestamp).toString(10)}\n${text}`);
}

/** The note text of a checkpoint note, read as a checkpoint (a cosignature is over a checkpoint). */
function checkpointNote(note: string): { text: string; signatures: NoteSignature[] } {
  const parsed = parseSignedNote(note);
  if (parsed.signatures.length > MAX_NOTE_SIGNATURES)
    throw new AirgapError(
      'NOTE_MALFORMED',
      `the note has ${parsed.signatures.length} signature lines, more than the ${MAX_NOTE_SIGNATURES} read`,
    );
  parseCheckpointBody(parsed.text);
  return parsed;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a).equals(Buffer.from(b));
}

/** One signature line's timestamp and signature, when it verifies; undefined otherwise. */
function verifyLine(text: string, key: WitnessKey, blob: Uint8Array): number | undefined {
  if (blob.length !== TIMESTAMP_BYTES + ED25519_SIG_BYTES) return undefined;
  const t = Buffer.from(blob).readBigUInt64BE(0);
  if (t > MAX_TIMESTAMP || t > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
  const ok = cryptoVerify(null, cosignedMessage(text, t), key.publicKey, blob.subarray(TIMESTAMP_BYTES));
  return ok ? Number(t) : undefined;
}

/**
 * The cosignature by `key` on `note` (a signed checkpoint note), or undefined when it has none
 * that verifies. Only lines with the key's name and key hash are read (C2SP: others are
 * ignored). Several different lines for the key count as none: a witness signs a checkpoint
 * once, and which of two timestamps to believe has no answer. Byte-identical repeats are one.
 * The log's own signature is not checked here. Throws NOTE_MALFORMED / NOTE_CHECKPOINT_MALFORMED
 * when the note is not a checkpoint note at all.
 */
export function verifyCosignature(note: string, key: WitnessKey): Cosignature | undefined {
  const { text, signatures } = checkpointNote(note);
  const mine = signatures.filter((s) => s.name === key.name && sameBytes(s.keyHash, key.keyHash));
  const first = mine[0];
  if (first === undefined) return undefined;
  if (mine.some((s) => !sameBytes(s.signature, first.signature))) return undefined;
  const timestamp = verifyLine(text, key, first.signature);
  return timestamp === undefined ? undefined : { name: key.name, timestamp };
}

/**
 * Adds a cosignature/v1 line by `priv` under `name` at `timestamp` (POSIX seconds) to a
 * checkpoint note. For tests and fixtures: a real witness signs only after checking consistency.
 */
export function cosignNote(note: string, name: string, priv: KeyObject, timestamp: number): string {
  checkpointNote(note);
  if (!Number.isSafeInteger(timestamp) || timestamp < 0)
    throw new AirgapError('WITNESS_KEY_INVALID', `cosignature timestamp ${timestamp} is not a whole number of seconds`);
  const key = parseCosignatureVkey(cosignatureVkey(name, priv));
  const text = parseSignedNote(note).text;
  const ts = Buffer.alloc(TIMESTAMP_BYTES);
  ts.writeBigUInt64BE(BigInt(timestamp));
  const sig = cryptoSign(null, cosignedMessage(text, timestamp), priv);
  const blob = Buffer.concat([Buffer.from(key.keyHash), ts, sig]);
  return `${note}\u2014 ${name} ${blob.toString('base64')}\n`;
}
