/**
 * The signed hashedrekord entries this tool writes into a log (the smoke test's, the load
 * harness's): a record, signed by a fresh ECDSA P-256 key, as the request body each API takes.
 */
import { createHash, createPublicKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';

const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');

/** What was signed and sent, for checking the entry the log answers with. */
export interface SignedEntryRequest {
  /** The API path the request goes to. */
  path: '/api/v2/log/entries' | '/api/v1/log/entries';
  request: object;
  record: Buffer;
  digest: Buffer;
  /** DER SPKI of the signing key (v2 carries it raw, v1 as PEM). */
  spki: Buffer;
  publicKeyPem: string;
  /** The ECDSA signature of the record (DER). */
  signature: Buffer;
}

/** A small JSON record naming the instance, the time and a nonce (every entry is new). */
export function chainRecord(instance: string): Buffer {
  return Buffer.from(
    JSON.stringify({
      type: 'rekor-airgap.smoke',
      instance,
      time: new Date().toISOString(),
      nonce: randomBytes(16).toString('hex'),
    }),
  );
}

/**
 * A hashedrekord v0.0.2 request for Rekor v2 (rekor-tiles), or v0.0.1 for Rekor v1, signed by
 * `privateKey` (an ECDSA P-256 key; default a fresh one, used once).
 */
export function signedEntryRequest(
  api: 'v2' | 'v1',
  record: Buffer,
  privateKey: KeyObject = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey,
): SignedEntryRequest {
  const publicKey = createPublicKey(privateKey);
  const digest = createHash('sha256').update(record).digest();
  const signature = sign('sha256', record, privateKey);
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const common = { record, digest, spki, publicKeyPem, signature };
  if (api === 'v2')
    return {
      ...common,
      path: '/api/v2/log/entries',
      request: {
        hashedRekordRequestV002: {
          digest: b64(digest),
          signature: {
            content: b64(signature),
            verifier: { publicKey: { rawBytes: b64(spki) }, keyDetails: 'PKIX_ECDSA_P256_SHA_256' },
          },
        },
      },
    };
  return {
    ...common,
    path: '/api/v1/log/entries',
    request: {
      apiVersion: '0.0.1',
      kind: 'hashedrekord',
      spec: {
        data: { hash: { algorithm: 'sha256', value: digest.toString('hex') } },
        signature: { content: b64(signature), publicKey: { content: b64(Buffer.from(publicKeyPem)) } },
      },
    },
  };
}
