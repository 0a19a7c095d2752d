/**
 * An image's provenance judged against its policy: each attestation verified on its own, and every
 * predicate type the policy names covered by one that verified. Attestations that fail are left
 * out (a registry may hold others'); if the policy is not met, the most telling failure is the
 * error (another signer's identity before a bad signature before "none found"). Pure.
 */
import { AirgapError } from '../errors.js';
import type { SignedPolicy } from './policy.js';
import type { BuiltFrom } from './statement.js';
import { verifyAttestation, type SigstoreTrust, type VerifiedAttestation } from './verify-attestation.js';

export interface Attestation {
  /** Where it came from, for messages (a referrer, a carried file). */
  name: string;
  bytes: Uint8Array;
}

export interface ImageProvenanceCheck {
  /** The image, as the profile names it. */
  image: string;
  /** The digest its tag resolved to: what the attestations must be about. */
  subject: string;
  policy: SignedPolicy;
  attestations: Attestation[];
  /** Every attestation must verify (what a bundle carries was chosen at create); else those that fail are left out. */
  strict?: boolean;
}

export interface SignedVerdict {
  identity: string;
  issuer: string;
  predicateTypes: string[];
  builtFrom: BuiltFrom;
  /** The attestations that verified (indexes into the check's list). */
  used: number[];
}

const FAILURE_RANK = [
  'PROVENANCE_IDENTITY_MISMATCH',
  'PROVENANCE_ISSUER_MISMATCH',
  'PROVENANCE_SOURCE_MISMATCH',
  'PROVENANCE_SUBJECT_MISMATCH',
  'PROVENANCE_SIGNATURE_INVALID',
];

export function evaluateProvenance(trust: SigstoreTrust, c: ImageProvenanceCheck): SignedVerdict {
  const verified: Array<{ i: number; a: VerifiedAttestation }> = [];
  const failures: AirgapError[] = [];
  c.attestations.forEach((att, i) => {
    try {
      const a = verifyAttestation(trust, {
        bundle: att.bytes,
        subject: c.subject,
        policy: c.policy,
        what: `${c.image}: ${att.name}`,
      });
      verified.push({ i, a });
    } catch (e) {
      if (!(e instanceof AirgapError) || c.strict) throw e;
      failures.push(e);
    }
  });
  const have = new Set(verified.map((v) => v.a.statement.predicateType));
  const missing = c.policy.predicateTypes.filter((t) => !have.has(t));
  if (missing.length) throw unmet(c, missing, failures);
  const used = verified.filter((v) => c.policy.predicateTypes.includes(v.a.statement.predicateType));
  return {
    identity: c.policy.identity,
    issuer: c.policy.issuer,
    predicateTypes: c.policy.predicateTypes,
    builtFrom: used.find((v) => v.a.statement.builtFrom.repository)?.a.statement.builtFrom ?? {},
    used: used.map((v) => v.i),
  };
}

function unmet(c: ImageProvenanceCheck, missing: string[], failures: AirgapError[]): AirgapError {
  const rank = (e: AirgapError) => {
    const r = FAILURE_RANK.indexOf(e.code);
    return r < 0 ? FAILURE_RANK.length : r;
  };
  const worst = [...failures].sort((a, b) => rank(a) - rank(b))[0];
  if (worst) return worst;
  if (c.attestations.length === 0)
    return new AirgapError(
      'PROVENANCE_NOT_FOUND',
      `${c.image} (${c.subject}): no signed attestation found; the profile expects ${missing.join(', ')} signed by ${c.policy.identity}`,
    );
  return new AirgapError(
    'PROVENANCE_PREDICATE_MISSING',
    `${c.image} (${c.subject}): no verified attestation of type ${missing.join(', ')} (the profile expects it, signed by ${c.policy.identity})`,
  );
}
