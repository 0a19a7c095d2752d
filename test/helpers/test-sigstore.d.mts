// Types of test-sigstore.mjs (a plain ESM helper the rig runs with node; the tests import it).

export declare const VALID_FROM: Date;
export declare const GITHUB_ISSUER: string;
export declare const REKOR_URL: string;

export interface SignOptions {
  /** The certificate's SAN URI, e.g. a workflow: https://github.com/OWNER/REPO/PATH@REF */
  identity: string;
  /** The OIDC issuer in the Fulcio extensions (default GitHub Actions'). */
  issuer?: string;
  /** Fulcio's Source Repository URI extension (default: the identity's GitHub repository, when it names one). */
  sourceRepository?: string;
  /** The statement's subjects; digest as ALG:HEX. */
  subjects: { name: string; digest: string }[];
  predicateType: string;
  predicate: unknown;
  certificateNotBefore?: Date;
  certificateNotAfter?: Date;
  /** Issue the certificate without an embedded SCT. */
  omitSCT?: boolean;
  /** The time of the CT log's SCT and of the transparency log's integratedTime (default now). */
  signingTime?: Date;
}

/** A Sigstore bundle v0.3, JSON form. */
export interface BundleJSON {
  mediaType: string;
  verificationMaterial: Record<string, unknown>;
  dsseEnvelope: { payload: string; payloadType: string; signatures: { sig: string }[] };
}

export interface TestSigstore {
  /** A trusted_root.json object (the CA, the CT log, the transparency log). */
  trustedRoot: Record<string, unknown>;
  /** SHA-256 of the CA root certificate (DER), hex. */
  caFingerprint: string;
  writeTrustedRoot(file: string): void;
  signStatement(options: SignOptions): Promise<BundleJSON>;
}

export declare function openTestSigstore(stateDir: string): Promise<TestSigstore>;
