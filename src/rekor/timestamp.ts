/**
 * RFC 3161 timestamps from the instance's timestamp authority: a request for a SHA-256 digest
 * with a fresh nonce, and the response verified — status granted, the token's TSTInfo carries our
 * digest and nonce, its signed attributes carry the TSTInfo's digest, the signature holds under
 * the leaf certificate, and the leaf has the timeStamping usage and was issued by the given root.
 */
import 'reflect-metadata';
import { createHash, randomBytes, verify as cryptoVerify, X509Certificate } from 'node:crypto';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import { ContentInfo, SignedData } from '@peculiar/asn1-cms';
import { AlgorithmIdentifier } from '@peculiar/asn1-x509';
import { MessageImprint, TimeStampReq, TimeStampResp, TSTInfo } from '@peculiar/asn1-tsp';
import { AirgapError } from '../errors.js';
import { logRequest, showText, type LogEndpoint } from './log-http.js';
import { printable } from '../util/untrusted-text.js';

const SHA256 = '2.16.840.1.101.3.4.2.1';
const ID_CT_TSTINFO = '1.2.840.113549.1.9.16.1.4';
const ID_SIGNED_DATA = '1.2.840.113549.1.7.2';
const ATTR_MESSAGE_DIGEST = '1.2.840.113549.1.9.4';
const EKU_TIMESTAMPING = '1.3.6.1.5.5.7.3.8';

export interface TimestampRequest {
  der: Buffer;
  nonce: Buffer;
  digest: Buffer;
}

export function timestampRequest(digest: Buffer): TimestampRequest {
  const nonce = randomBytes(8);
  nonce[0] = nonce[0]! & 0x7f;
  const req = new TimeStampReq({
    version: 1,
    messageImprint: new MessageImprint({
      hashAlgorithm: new AlgorithmIdentifier({ algorithm: SHA256 }),
      hashedMessage: new OctetString(digest),
    }),
    nonce: new Uint8Array(nonce).buffer,
    certReq: true,
  });
  return { der: Buffer.from(AsnConvert.serialize(req)), nonce, digest };
}

function bad(why: string, cause?: unknown): AirgapError {
  return new AirgapError('SMOKE_TIMESTAMP_INVALID', `timestamp: ${why}`, cause === undefined ? {} : { cause });
}

function parse<T>(der: ArrayBuffer | Uint8Array, type: new () => T, what: string): T {
  try {
    return AsnConvert.parse(der instanceof Uint8Array ? der : new Uint8Array(der), type);
  } catch (e) {
    throw bad(`${what} is not valid DER`, e);
  }
}

/** Trims leading zero bytes of a DER INTEGER's content (a nonce compares by value). */
function intValue(b: ArrayBuffer | Uint8Array): string {
  return Buffer.from(b instanceof Uint8Array ? b : new Uint8Array(b))
    .toString('hex')
    .replace(/^(00)+/, '');
}

function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function derSetOf(elements: Buffer[]): Buffer {
  const body = Buffer.concat([...elements].sort(Buffer.compare));
  return Buffer.concat([Buffer.from([0x31]), derLength(body.length), body]);
}

export interface VerifiedTimestamp {
  genTime: Date;
  serial: string;
  signer: string;
}

/** Verifies an RFC 3161 response against the request and the TSA's chain (leaf first, then root, PEM). */
export function verifyTimestampResponse(
  der: Buffer,
  req: TimestampRequest,
  chainPem: string,
  now = Date.now(),
): VerifiedTimestamp {
  try {
    return verifyResponse(der, req, chainPem, now);
  } catch (e) {
    // A malformed field deep in the token (a time, a certificate) surfaces as the library's error.
    if (e instanceof AirgapError) throw e;
    throw bad(`the response is malformed (${printable((e as Error).message)})`, e);
  }
}

function verifyResponse(der: Buffer, req: TimestampRequest, chainPem: string, now: number): VerifiedTimestamp {
  const resp = parse(der, TimeStampResp, 'the response');
  if (resp.status.status !== 0 && resp.status.status !== 1)
    throw bad(
      `the authority refused (status ${resp.status.status}: ${printable(resp.status.statusString?.join(' ') ?? '')})`,
    );
  if (!resp.timeStampToken) throw bad('the response holds no token');
  const ci = resp.timeStampToken as unknown as ContentInfo;
  if (ci.contentType !== ID_SIGNED_DATA) throw bad(`the token is ${ci.contentType}, not SignedData`);
  const sd = parse(ci.content, SignedData, 'the token');
  if (sd.encapContentInfo.eContentType !== ID_CT_TSTINFO) throw bad('the token does not carry a TSTInfo');
  const econtent = sd.encapContentInfo.eContent?.single?.buffer ?? sd.encapContentInfo.eContent?.any;
  if (!econtent) throw bad('the token has no content');
  const tstBytes = Buffer.from(new Uint8Array(econtent));
  const tst = parse(tstBytes, TSTInfo, 'the TSTInfo');
  if (tst.messageImprint.hashAlgorithm.algorithm !== SHA256) throw bad('the stamped digest is not SHA-256');
  if (!Buffer.from(new Uint8Array(tst.messageImprint.hashedMessage.buffer)).equals(req.digest))
    throw bad('the stamped digest is not the one asked for');
  if (!tst.nonce || intValue(tst.nonce) !== intValue(req.nonce))
    throw bad('the nonce is not the one sent (a replayed answer?)');
  if (sd.signerInfos.length !== 1) throw bad(`the token has ${sd.signerInfos.length} signers, expected 1`);
  const si = sd.signerInfos[0]!;
  if (!si.signedAttrs?.length) throw bad('the signer has no signed attributes');
  const md = si.signedAttrs.find((a) => a.attrType === ATTR_MESSAGE_DIGEST);
  const mdValue = md?.attrValues[0] ? parse(md.attrValues[0], OctetString, 'the message digest attribute') : undefined;
  if (!mdValue || !Buffer.from(new Uint8Array(mdValue.buffer)).equals(createHash('sha256').update(tstBytes).digest()))
    throw bad("the signed attributes do not carry the TSTInfo's digest");
  const certs = [...chainPem.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g)].map(
    (m) => new X509Certificate(m[0]),
  );
  if (certs.length < 2) throw bad('the TSA chain needs a leaf and a root');
  const [leaf, root] = [certs[0]!, certs[certs.length - 1]!];
  if (!leaf.verify(root.publicKey)) throw bad('the leaf certificate was not issued by the root');
  if (!(leaf.keyUsage ?? []).includes(EKU_TIMESTAMPING)) throw bad('the leaf certificate lacks the timeStamping usage');
  // The signature covers the signed attributes DER-encoded as a SET OF (tag 0x31, elements in
  // DER order), not as the [0] they travel in.
  const signed = derSetOf(si.signedAttrs.map((a) => Buffer.from(AsnConvert.serialize(a))));
  const sig = Buffer.from(new Uint8Array(si.signature.buffer));
  if (!cryptoVerify('sha256', signed, leaf.publicKey, sig))
    throw bad('the signature does not verify with the TSA certificate');
  if (
    tst.genTime.getTime() < new Date(leaf.validFrom).getTime() ||
    tst.genTime.getTime() > new Date(leaf.validTo).getTime()
  )
    throw bad(`the time ${tst.genTime.toISOString()} is outside the certificate's validity`);
  if (Math.abs(tst.genTime.getTime() - now) > 10 * 60_000)
    throw bad(`the time ${tst.genTime.toISOString()} is more than 10 minutes from this host's clock`);
  return {
    genTime: tst.genTime,
    serial: Buffer.from(new Uint8Array(tst.serialNumber)).toString('hex'),
    signer: leaf.subject.replace(/\n/g, ', '),
  };
}

/** Asks the authority at `endpoint` (its /api/v1/timestamp) to stamp `digest`, and verifies the answer. */
export async function requestTimestamp(
  endpoint: LogEndpoint,
  digest: Buffer,
  chainPem: string,
): Promise<VerifiedTimestamp> {
  const req = timestampRequest(digest);
  const res = await logRequest(endpoint, 'POST', '/api/v1/timestamp', undefined, {
    body: req.der,
    contentType: 'application/timestamp-query',
  });
  if (res.status !== 200 && res.status !== 201) {
    throw new AirgapError(
      'SMOKE_READ_FAILED',
      `POST ${endpoint.url.replace(/\/$/, '')}/api/v1/timestamp answered HTTP ${res.status}: ${showText(res.body)}`,
    );
  }
  return verifyTimestampResponse(res.body, req, chainPem);
}
