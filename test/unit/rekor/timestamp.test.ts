import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { timestampRequest, verifyTimestampResponse } from '../../../src/rekor/timestamp.js';
import { RUNS } from '../../helpers/fuzz.js';

/** A real answer of sigstore's timestamp-server v2.1.5, recorded with the chain it signed under. */
const v = JSON.parse(readFileSync(path.join(import.meta.dirname, '../../fixtures/rfc3161-timestamp.json'), 'utf8')) as {
  request: { digest: string; nonce: string };
  responseDer: string;
  chainPem: string;
  at: string;
};
const der = Buffer.from(v.responseDer, 'base64');
const req = {
  der: Buffer.alloc(0),
  digest: Buffer.from(v.request.digest, 'hex'),
  nonce: Buffer.from(v.request.nonce, 'hex'),
};
const at = new Date(v.at).getTime();

describe('RFC 3161 timestamps', () => {
  it('a real response verifies: the digest, the nonce, the signature, the timeStamping leaf under the root', () => {
    const t = verifyTimestampResponse(der, req, v.chainPem, at);
    expect(Math.abs(t.genTime.getTime() - at)).toBeLessThan(60_000);
    expect(t.signer).toContain('rekor-airgap TSA');
  });

  it('another digest, another nonce, another chain, or a clock far off: refused', async () => {
    const codes = (f: () => unknown) => {
      try {
        f();
        return 'ok';
      } catch (e) {
        return (e as { code: string }).code;
      }
    };
    expect(codes(() => verifyTimestampResponse(der, { ...req, digest: Buffer.alloc(32) }, v.chainPem, at))).toBe(
      'SMOKE_TIMESTAMP_INVALID',
    );
    expect(codes(() => verifyTimestampResponse(der, { ...req, nonce: Buffer.from('01', 'hex') }, v.chainPem, at))).toBe(
      'SMOKE_TIMESTAMP_INVALID',
    );
    const { generateTsaMaterial } = await import('../../../src/instance/tsa-cert.js');
    const other = await generateTsaMaterial('other');
    expect(codes(() => verifyTimestampResponse(der, req, other.chainPem, at))).toBe('SMOKE_TIMESTAMP_INVALID');
    expect(codes(() => verifyTimestampResponse(der, req, v.chainPem, at + 3600_000))).toBe('SMOKE_TIMESTAMP_INVALID');
  });

  // Every byte of the signed content and of the signature, and of the rest every 8th byte (every
  // byte under `npm run fuzz`: about 25 s of signature checks).
  it('each byte of the signed content and of the signature changed in turn: never verifies; any byte changed: a coded error', async () => {
    const { AsnConvert } = await import('@peculiar/asn1-schema');
    const { SignedData } = await import('@peculiar/asn1-cms');
    const { TimeStampResp } = await import('@peculiar/asn1-tsp');
    const sd = AsnConvert.parse(AsnConvert.parse(der, TimeStampResp).timeStampToken!.content, SignedData);
    const tst = Buffer.from(new Uint8Array(sd.encapContentInfo.eContent!.single!.buffer));
    const sig = Buffer.from(new Uint8Array(sd.signerInfos[0]!.signature.buffer));
    const ranges = [tst, sig].map((b) => {
      const at = der.indexOf(b);
      expect(at).toBeGreaterThan(0);
      return [at, at + b.length] as const;
    });
    const signed = (i: number) => ranges.some(([a, b]) => i >= a && i < b);
    const stride = RUNS > 300 ? 1 : 8;
    for (let i = 0; i < der.length; i++) {
      if (!signed(i) && i % stride !== 0) continue;
      const bad = Buffer.from(der);
      bad[i] = bad[i]! ^ 0x01;
      try {
        verifyTimestampResponse(bad, req, v.chainPem, at);
        // Flips in what is not signed (the certificates the token carries, which are not what we
        // trust; our chain is) may leave it valid; in the signed content they may not.
        expect(signed(i), `byte ${i} changed and still verified`).toBe(false);
      } catch (e) {
        expect((e as { code?: string }).code, `byte ${i}: ${(e as Error).message}`).toBe('SMOKE_TIMESTAMP_INVALID');
      }
    }
  });

  it('a request carries the digest and a positive nonce', () => {
    const r = timestampRequest(Buffer.alloc(32, 7));
    expect(r.nonce[0]! & 0x80).toBe(0);
    expect(r.der.includes(Buffer.alloc(32, 7))).toBe(true);
  });
});
