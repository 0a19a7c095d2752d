/**
 * What the monitor watches for in new entries (the reason people run a log monitor): an entry
 * signed by a key it is told to watch (`--watch-key FILE`: a public key or a certificate, PEM),
 * or signing an artifact digest it is told to watch (`--watch-digest sha256:HEX`). Keys are
 * compared by the SHA-256 of their SubjectPublicKeyInfo, so a certificate matches its key.
 */
import { createHash, createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import { AirgapError } from '../errors.js';
import { readRegularFile } from '../util/bounded-read.js';
import { readUntrustedJson, type JsonValue } from '../util/untrusted-json.js';

export interface WatchedKey {
  file: string;
  /** SHA-256 (hex) of the key's DER SubjectPublicKeyInfo. */
  fingerprint: string;
}

export interface WatchList {
  keys: WatchedKey[];
  /** Artifact digests, SHA-256 hex. */
  digests: string[];
}

/** What an entry says about who signed what. */
export interface EntrySigners {
  kind: string;
  /** SHA-256 (hex) of the artifacts (or DSSE payloads) the entry signs. */
  digests: string[];
  /** SPKI fingerprints of the entry's verifying keys (from keys or certificates). */
  keys: string[];
}

export function keyFingerprint(key: KeyObject): string {
  return createHash('sha256')
    .update(key.export({ type: 'spki', format: 'der' }))
    .digest('hex');
}

/** The public key of a PEM (public key or certificate) or of DER bytes (SPKI or certificate). */
function publicKeyOf(material: string | Uint8Array): KeyObject {
  if (typeof material === 'string')
    return material.includes('CERTIFICATE')
      ? new X509Certificate(material).publicKey
      : createPublicKey({ key: material, format: 'pem' });
  try {
    return createPublicKey({ key: Buffer.from(material), format: 'der', type: 'spki' });
  } catch {
    return new X509Certificate(Buffer.from(material)).publicKey;
  }
}

function fingerprintOrUndefined(material: string | Uint8Array): string | undefined {
  try {
    return keyFingerprint(publicKeyOf(material));
  } catch {
    return undefined;
  }
}

export function parseWatchDigest(s: string): string {
  const m = /^(?:sha256:)?([0-9a-fA-F]{64})$/.exec(s.trim());
  if (!m)
    throw new AirgapError('USAGE_BAD_WATCH', `--watch-digest ${JSON.stringify(s)} is not sha256:HEX (64 hex digits)`);
  return m[1]!.toLowerCase();
}

export async function loadWatchList(keyFiles: readonly string[], digests: readonly string[]): Promise<WatchList> {
  const keys: WatchedKey[] = [];
  for (const file of keyFiles) {
    const pem = (await readRegularFile(file, 64 * 1024, 'USAGE_BAD_WATCH', '--watch-key')).toString('utf8');
    if (pem.includes('PRIVATE KEY'))
      throw new AirgapError('USAGE_BAD_WATCH', `--watch-key ${file} holds a private key: give the public key`);
    let fingerprint: string;
    try {
      fingerprint = keyFingerprint(publicKeyOf(pem));
    } catch (e) {
      throw new AirgapError(
        'USAGE_BAD_WATCH',
        `--watch-key ${file} is not a PEM public key or certificate: ${(e as Error).message}`,
        { cause: e },
      );
    }
    keys.push({ file, fingerprint });
  }
  return { keys, digests: digests.map(parseWatchDigest) };
}

const present = (v: JsonValue): JsonValue | undefined => (v.isAbsent ? undefined : v);
const str = (v: JsonValue | undefined): string | undefined => (typeof v?.raw === 'string' ? v.raw : undefined);
const b64 = (s: string | undefined): Buffer | undefined => (s === undefined ? undefined : Buffer.from(s, 'base64'));
const hex = (s: string | undefined): string | undefined =>
  s !== undefined && /^[0-9a-fA-F]{64}$/.test(s) ? s.toLowerCase() : undefined;

/** A field path through objects; undefined when any step is missing or not an object. */
function at(v: JsonValue | undefined, ...path: string[]): JsonValue | undefined {
  for (const p of path) v = v?.isObject ? present(v.at(p)) : undefined;
  return v;
}

/** Rekor v2 verifier (`publicKey.rawBytes` DER SPKI, or `x509Certificate.rawBytes` DER). */
function v2Verifier(v: JsonValue | undefined): string | undefined {
  const der = b64(str(at(v, 'publicKey', 'rawBytes')) ?? str(at(v, 'x509Certificate', 'rawBytes')));
  return der ? fingerprintOrUndefined(der) : undefined;
}

/** Rekor v1 verifier: base64 of a PEM public key or certificate. */
function v1Verifier(s: string | undefined): string | undefined {
  const pem = b64(s)?.toString('utf8');
  return pem ? fingerprintOrUndefined(pem) : undefined;
}

/**
 * The signers and digests of an entry body: hashedrekord (v0.0.2 of Rekor v2, v0.0.1 of v1) and
 * DSSE (v0.0.2, v0.0.1) entries; other kinds give none. Never throws on a body it cannot read.
 */
export function entrySigners(body: Uint8Array): EntrySigners {
  let doc: JsonValue;
  try {
    doc = readUntrustedJson(body, { what: 'the entry body', code: 'SMOKE_BAD_RESPONSE' });
  } catch {
    return { kind: '(not JSON)', digests: [], keys: [] };
  }
  const kind = `${str(at(doc, 'kind')) ?? '?'} ${str(at(doc, 'apiVersion')) ?? '?'}`;
  const digests: Array<string | undefined> = [];
  const keys: Array<string | undefined> = [];
  const list = (v: JsonValue | undefined) => (v && Array.isArray(v.raw) ? v.list() : []);
  const h2 = at(doc, 'spec', 'hashedRekordV002');
  const d2 = at(doc, 'spec', 'dsseV002');
  if (h2) {
    digests.push(b64(str(at(h2, 'data', 'digest')))?.toString('hex'));
    keys.push(v2Verifier(at(h2, 'signature', 'verifier')));
  } else if (d2) {
    digests.push(b64(str(at(d2, 'payloadHash', 'digest')))?.toString('hex'));
    for (const v of list(at(d2, 'verifiers'))) keys.push(v2Verifier(v));
  } else if (str(at(doc, 'kind')) === 'hashedrekord') {
    digests.push(hex(str(at(doc, 'spec', 'data', 'hash', 'value'))));
    keys.push(v1Verifier(str(at(doc, 'spec', 'signature', 'publicKey', 'content'))));
  } else if (str(at(doc, 'kind')) === 'dsse') {
    digests.push(hex(str(at(doc, 'spec', 'payloadHash', 'value'))));
    for (const s of list(at(doc, 'spec', 'signatures'))) keys.push(v1Verifier(str(at(s, 'verifier'))));
  }
  const defined = (xs: Array<string | undefined>) => [...new Set(xs.filter((x): x is string => !!x))];
  return { kind, digests: defined(digests), keys: defined(keys) };
}

export interface WatchMatch {
  kind: 'watched-key' | 'watched-digest';
  detail: string;
}

export function watchMatches(w: WatchList, s: EntrySigners): WatchMatch[] {
  const found: WatchMatch[] = [];
  for (const k of w.keys)
    if (s.keys.includes(k.fingerprint))
      found.push({ kind: 'watched-key', detail: `signed by the watched key ${k.file} (SPKI sha256:${k.fingerprint})` });
  for (const d of w.digests)
    if (s.digests.includes(d)) found.push({ kind: 'watched-digest', detail: `signs the watched digest sha256:${d}` });
  return found;
}
