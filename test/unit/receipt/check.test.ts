/**
 * An install receipt checked against the log entry that records it: the entry must sign the
 * statement's digest, with the install key, and the signature must verify. Each defence has the
 * case only it stops.
 */
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checkReceipt } from '../../../src/receipt/check.js';
import { receiptStatement, type ReceiptInput } from '../../../src/receipt/statement.js';
import { expectCode } from '../../helpers/expect-code.js';

const INPUT: ReceiptInput = {
  bundleSha256: 'b'.repeat(64),
  bundleCreatedAt: '2026-12-07T00:00:00.000Z',
  bundleSignedBy: 'bundle-signing.pub',
  instance: 'site',
  profile: 'rekor-v2',
  release: 3,
  tool: 'test',
  installedAt: '2026-12-07T01:00:00.000Z',
  images: [
    {
      ref: 'ghcr.io/sigstore/rekor-tiles/posix:v2.4.2',
      digest: `sha256:${'a'.repeat(64)}`,
      imageId: `sha256:${'c'.repeat(64)}`,
      provenance: 'verified: …',
    },
  ],
  configuration: [{ path: 'config/compose.yaml', sha256: 'd'.repeat(64) }],
  checkpoint: 'rekor.site.internal\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n',
};

function made() {
  const statement = receiptStatement(INPUT);
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const files = { statement, signature: sign('sha256', statement, privateKey).toString('base64'), publicKeyPem };
  const entry = { digestHex: createHash('sha256').update(statement).digest('hex'), verifier: publicKeyPem };
  return { files, entry };
}

describe('install receipt check', () => {
  it('reads a receipt the entry records, signed by the entry’s key', () => {
    const { files, entry } = made();
    const r = checkReceipt(files, entry);
    expect(r).toMatchObject({ instance: 'site', profile: 'rekor-v2', release: 3, bundleSha256: 'b'.repeat(64) });
    expect(r.images[0]!.ref).toBe(INPUT.images[0]!.ref);
  });

  it('refuses a statement the entry does not sign', () => {
    const { files, entry } = made();
    const edited = Buffer.from(files.statement.toString().replace('"site"', '"other"'));
    expectCode(() => checkReceipt({ ...files, statement: edited }, entry), 'RECEIPT_INVALID');
  });

  it('refuses an install key that is not the entry’s signer, even with a signature it made', () => {
    const { files, entry } = made();
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const forged = {
      ...files,
      signature: sign('sha256', files.statement, other.privateKey).toString('base64'),
      publicKeyPem: other.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    };
    expect(expectCode(() => checkReceipt(forged, entry), 'RECEIPT_INVALID').message).toContain(
      'not the key that signed',
    );
  });

  it('refuses a signature that does not verify', () => {
    const { files, entry } = made();
    const sig = Buffer.from(files.signature, 'base64');
    sig[sig.length - 1]! ^= 1;
    expectCode(() => checkReceipt({ ...files, signature: sig.toString('base64') }, entry), 'RECEIPT_INVALID');
  });
});
