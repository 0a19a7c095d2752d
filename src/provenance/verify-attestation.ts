/**
 * One Sigstore bundle (v0.3, a DSSE-signed in-toto statement) verified offline against a trusted
 * root and an image's policy: certificate chain, SCT, transparency-log proof and timestamp (by
 * sigstore-js's verifier), then the signer's identity and issuer, exactly, then the statement's
 * subject. Pure: no network, no files.
 */
import { bundleFromJSON, type Bundle } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toSignedEntity, toTrustMaterial, Verifier, type TrustMaterial } from '@sigstore/verify';
import 'reflect-metadata';
import { X509Certificate } from '@peculiar/x509';
import { AirgapError } from '../errors.js';
import { printable } from '../util/untrusted-text.js';
import { parseUntrustedJson } from '../util/untrusted-json.js';
import type { SignedPolicy } from './policy.js';
import { readStatement, requireSubject, type Statement } from './statement.js';

export const TRUSTED_ROOT_MEDIA_TYPE = 'application/vnd.dev.sigstore.trustedroot+json;version=0.1';

/** A Sigstore trusted root (CAs, CT logs, transparency logs, TSAs), ready to verify with. */
export interface SigstoreTrust {
  material: TrustMaterial;
}

/** Reads a trusted_root.json; `what` names it in messages. */
export function readTrustedRoot(bytes: Uint8Array, what: string): SigstoreTrust {
  const raw = parseUntrustedJson(bytes, { what, code: 'PROVENANCE_TRUSTED_ROOT_INVALID' });
  const mediaType = (raw as { mediaType?: unknown } | null)?.mediaType;
  if (mediaType !== TRUSTED_ROOT_MEDIA_TYPE)
    throw new AirgapError(
      'PROVENANCE_TRUSTED_ROOT_INVALID',
      `${what}: mediaType ${printable(String(mediaType), { max: 100 })} is not ${TRUSTED_ROOT_MEDIA_TYPE}`,
    );
  try {
    return { material: toTrustMaterial(TrustedRoot.fromJSON(raw)) };
  } catch (e) {
    throw new AirgapError('PROVENANCE_TRUSTED_ROOT_INVALID', `${what}: ${(e as Error).message}`, { cause: e });
  }
}

/** What a verified attestation says. */
export interface VerifiedAttestation {
  identity: string;
  issuer: string;
  statement: Statement;
}

/** The attestation's bytes, the image digest it must be about, and how to name it. */
export interface AttestationCheck {
  bundle: Uint8Array;
  subject: string;
  policy: SignedPolicy;
  what: string;
}

export function verifyAttestation(trust: SigstoreTrust, c: AttestationCheck): VerifiedAttestation {
  const bundle = readBundle(c);
  const signer = verifySignature(trust, bundle, c.what);
  const identity = signer.identity?.subjectAlternativeName ?? '';
  const issuer = signer.identity?.extensions?.issuer ?? '';
  if (identity !== c.policy.identity)
    throw new AirgapError(
      'PROVENANCE_IDENTITY_MISMATCH',
      `${c.what} is signed by ${printable(identity, { max: 300 }) || '(no identity)'}; the profile expects ${c.policy.identity}`,
      { details: { expected: c.policy.identity, found: identity } },
    );
  if (issuer !== c.policy.issuer)
    throw new AirgapError(
      'PROVENANCE_ISSUER_MISMATCH',
      `${c.what}: the signer's identity was issued by ${printable(issuer, { max: 300 }) || '(no issuer)'}; the profile expects ${c.policy.issuer}`,
      { details: { expected: c.policy.issuer, found: issuer } },
    );
  const env = (bundle.content as { dsseEnvelope: { payloadType: string; payload: Buffer } }).dsseEnvelope;
  const statement = readStatement(env.payloadType, env.payload, c.what);
  requireSubject(statement, c.subject, c.what);
  if (c.policy.sourceRepository) requireSource(bundle, statement, c.policy.sourceRepository, c.what);
  return { identity, issuer, statement };
}

/** The build ran in the policy's repository: as the certificate says (set by Fulcio from the OIDC token), and as the provenance says. */
function requireSource(bundle: Bundle, statement: Statement, want: string, what: string): void {
  const cert = bundle.verificationMaterial.content;
  const raw = cert.$case === 'certificate' ? cert.certificate.rawBytes : undefined;
  const inCert = raw ? sourceRepositoryExtension(raw) : undefined;
  const found = [inCert, statement.builtFrom.repository].find((r) => r !== undefined && r !== want);
  if (inCert === undefined || found !== undefined)
    throw new AirgapError(
      'PROVENANCE_SOURCE_MISMATCH',
      `${what} was built in ${printable(found ?? inCert ?? '(the certificate names no source repository)', { max: 300 })}; the profile expects ${want}`,
      { details: { expected: want, found: found ?? inCert ?? '' } },
    );
}

/** Fulcio's Source Repository URI extension (1.3.6.1.4.1.57264.1.12, a DER UTF8String), when present. */
function sourceRepositoryExtension(der: Uint8Array): string | undefined {
  const ext = new X509Certificate(new Uint8Array(der)).getExtension('1.3.6.1.4.1.57264.1.12');
  if (!ext) return undefined;
  const v = Buffer.from(ext.value);
  const [len, at] = v[1]! < 0x80 ? [v[1]!, 2] : v[1] === 0x81 ? [v[2]!, 3] : [v.readUInt16BE(2), 4];
  if (v[0] !== 0x0c || at + len !== v.length) return '(not a UTF8String)';
  return v.subarray(at).toString('utf8');
}

function readBundle(c: AttestationCheck): Bundle {
  const raw = parseUntrustedJson(c.bundle, { what: c.what, code: 'PROVENANCE_SIGNATURE_INVALID' });
  let bundle: Bundle;
  try {
    bundle = bundleFromJSON(raw);
  } catch (e) {
    throw new AirgapError('PROVENANCE_SIGNATURE_INVALID', `${c.what}: not a Sigstore bundle: ${(e as Error).message}`, {
      cause: e,
    });
  }
  if (bundle.content.$case !== 'dsseEnvelope')
    throw new AirgapError('PROVENANCE_SIGNATURE_INVALID', `${c.what}: not an attestation (no DSSE envelope)`);
  return bundle;
}

/** Chain, SCT, log inclusion, timestamp and signature; one of each is required. */
function verifySignature(trust: SigstoreTrust, bundle: Bundle, what: string) {
  const verifier = new Verifier(trust.material, { tlogThreshold: 1, ctlogThreshold: 1, timestampThreshold: 1 });
  try {
    return verifier.verify(toSignedEntity(bundle));
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw new AirgapError(
      'PROVENANCE_SIGNATURE_INVALID',
      `${what} does not verify against the Sigstore trusted root: ${code ? `${code}: ` : ''}${(e as Error).message}`,
      { cause: e },
    );
  }
}
