/**
 * What a profile says about an image's upstream provenance: who must have signed it (a signing
 * identity and its issuer, as in a Fulcio certificate) and which attestations must be there, or
 * that upstream does not sign it (with the reason). Pure: parsed from the profile's YAML.
 */
export interface SignedPolicy {
  kind: 'signed';
  /** The certificate's subject alternative name, exactly (e.g. a release workflow at its tag). */
  identity: string;
  /** The OIDC issuer recorded in the certificate (Fulcio's issuer extension). */
  issuer: string;
  /** In-toto predicate types, each of which a verified attestation must carry. */
  predicateTypes: string[];
  /**
   * The repository the build ran in (Fulcio's Source Repository URI, and the provenance's source):
   * a reusable workflow's identity is the same whichever repository calls it, so the identity
   * alone does not say whose build it was. Default: the identity's GitHub repository.
   */
  sourceRepository?: string;
}

/**
 * Upstream's provenance is not verified: the digest pin is the whole check. `unsigned`: upstream
 * signs nothing; `not-verified`: it signs in a form this tool does not verify yet.
 */
export interface UnsignedPolicy {
  kind: 'unsigned' | 'not-verified';
  /** Why. */
  reason: string;
}

export type ProvenancePolicy = SignedPolicy | UnsignedPolicy;

/** An image a profile lists with no provenance block: recorded as such, never refused. */
export const NO_POLICY: UnsignedPolicy = { kind: 'unsigned', reason: 'the profile names no provenance policy' };

export type PolicyProblem = (key: string, what: string) => never;

/**
 * The `provenance:` block of a profile image. `{tag}` in the identity stands for the image's tag,
 * so a pin raised to a new release keeps naming that release's workflow run.
 */
export function parseProvenancePolicy(raw: unknown, tag: string | undefined, bad: PolicyProblem): ProvenancePolicy {
  if (raw === undefined) return NO_POLICY;
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return bad('provenance', 'must be a mapping');
  const p = raw as Record<string, unknown>;
  for (const [key, kind] of [
    ['unsigned', 'unsigned'],
    ['notVerified', 'not-verified'],
  ] as const) {
    if (p[key] === undefined) continue;
    const reason = p[key];
    if (typeof reason !== 'string' || !reason.trim()) return bad(`provenance.${key}`, 'must say why (a sentence)');
    if (Object.keys(p).length !== 1) return bad('provenance', `${key}: takes no other keys`);
    return { kind, reason: reason.trim() };
  }
  for (const k of Object.keys(p))
    if (!['identity', 'issuer', 'predicateTypes', 'sourceRepository'].includes(k))
      bad(`provenance.${k}`, 'is not a known key');
  const identity = requireUrl(p.identity, 'provenance.identity', bad);
  if (identity.includes('{tag}') && !tag) return bad('provenance.identity', 'uses {tag} but the image has no tag');
  const types = p.predicateTypes;
  if (!Array.isArray(types) || types.length === 0 || !types.every((t) => typeof t === 'string' && t.length > 0))
    return bad('provenance.predicateTypes', 'must list at least one in-toto predicate type');
  const sourceRepository =
    p.sourceRepository === undefined
      ? githubRepositoryOf(identity)
      : requireUrl(p.sourceRepository, 'provenance.sourceRepository', bad);
  return {
    kind: 'signed',
    identity: identity.replaceAll('{tag}', tag ?? ''),
    issuer: requireUrl(p.issuer, 'provenance.issuer', bad),
    predicateTypes: [...new Set(types as string[])],
    ...(sourceRepository ? { sourceRepository } : {}),
  };
}

/** https://github.com/OWNER/REPO for a GitHub Actions workflow identity; undefined for any other. */
export function githubRepositoryOf(identity: string): string | undefined {
  return /^(https:\/\/github\.com\/[^/]+\/[^/]+)\/\.github\/workflows\//.exec(identity)?.[1];
}

function requireUrl(v: unknown, key: string, bad: PolicyProblem): string {
  if (typeof v !== 'string' || !/^https:\/\/[^\s]+$/.test(v)) return bad(key, 'must be an https:// URL');
  return v;
}
