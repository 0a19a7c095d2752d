/**
 * Upstream provenance judged offline: attestations made by a test Sigstore (CA with CT log SCTs,
 * a transparency log with signed entry timestamps) the way GitHub's actions/attest makes them,
 * verified against that Sigstore's trusted root and an image's policy. Each defence has a case
 * that only it stops.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { evaluateProvenance } from '../../../src/provenance/evaluate.js';
import { parseProvenancePolicy, type SignedPolicy } from '../../../src/provenance/policy.js';
import { trustedRootFromBytes, type LoadedTrustedRoot } from '../../../src/provenance/trusted-root-source.js';
import { openTestSigstore, type SignOptions, type TestSigstore } from '../../helpers/test-sigstore.mjs';
import { tempDir } from '../../helpers/temp-dirs.js';
import { expectCode } from '../../helpers/expect-code.js';

const ISSUER = 'https://token.actions.githubusercontent.com';
const IDENTITY = 'https://github.com/sigstore/rekor-tiles/.github/workflows/build_container.yml@refs/tags/v2.4.2';
const SLSA = 'https://slsa.dev/provenance/v1';
const DIGEST = `sha256:${createHash('sha256').update('an image index').digest('hex')}`;
const OTHER = `sha256:${createHash('sha256').update('another image').digest('hex')}`;
const POLICY: SignedPolicy = {
  kind: 'signed',
  identity: IDENTITY,
  issuer: ISSUER,
  predicateTypes: [SLSA],
  sourceRepository: 'https://github.com/sigstore/rekor-tiles',
};
const PREDICATE = {
  buildDefinition: {
    buildType: 'https://actions.github.io/buildtypes/workflow/v1',
    resolvedDependencies: [
      { uri: 'git+https://github.com/sigstore/rekor-tiles@refs/tags/v2.4.2', digest: { gitCommit: 'a'.repeat(40) } },
    ],
  },
  runDetails: { builder: { id: IDENTITY } },
};

let sigstore: TestSigstore;
let root: LoadedTrustedRoot;

beforeAll(async () => {
  sigstore = await openTestSigstore(tempDir());
  root = trustedRootFromBytes(Buffer.from(JSON.stringify(sigstore.trustedRoot)), 'trusted_root.json');
});

async function attest(o: Partial<SignOptions> = {}): Promise<Uint8Array> {
  const b = await sigstore.signStatement({
    identity: IDENTITY,
    subjects: [{ name: 'ghcr.io/sigstore/rekor-tiles/posix', digest: DIGEST }],
    predicateType: SLSA,
    predicate: PREDICATE,
    ...o,
  });
  return Buffer.from(JSON.stringify(b));
}

function check(bytes: Uint8Array[], policy = POLICY, trust = root) {
  return evaluateProvenance(trust.trust, {
    image: 'ghcr.io/sigstore/rekor-tiles/posix:v2.4.2',
    subject: DIGEST,
    policy,
    attestations: bytes.map((b, i) => ({ name: `attestation ${i + 1}`, bytes: b })),
  });
}

describe('provenance evaluation', () => {
  it('accepts the release workflow’s provenance of the digest, and says where the image was built from', async () => {
    const v = check([await attest()]);
    expect(v.identity).toBe(IDENTITY);
    expect(v.builtFrom).toEqual({
      repository: 'https://github.com/sigstore/rekor-tiles',
      ref: 'refs/tags/v2.4.2',
      commit: 'a'.repeat(40),
      builder: IDENTITY,
    });
    expect(v.used).toEqual([0]);
  });

  it('refuses another signer, naming the expected and the found identity', async () => {
    const fork = IDENTITY.replace('sigstore/rekor-tiles', 'example-fork/rekor-tiles');
    const bytes = await attest({ identity: fork });
    const e = expectCode(() => check([bytes]), 'PROVENANCE_IDENTITY_MISMATCH');
    expect(e.message).toContain(fork);
    expect(e.message).toContain(IDENTITY);
  });

  it('refuses the right workflow called from another repository (the certificate names where it ran)', async () => {
    const bytes = await attest({ sourceRepository: 'https://github.com/attacker/fork' });
    const e = expectCode(() => check([bytes]), 'PROVENANCE_SOURCE_MISMATCH');
    expect(e.message).toContain('https://github.com/attacker/fork');
    expect(e.message).toContain('https://github.com/sigstore/rekor-tiles');
  });

  it('refuses provenance that says it built another repository', async () => {
    const predicate = structuredClone(PREDICATE);
    predicate.buildDefinition.resolvedDependencies[0]!.uri = 'git+https://github.com/attacker/fork@refs/tags/v2.4.2';
    const bytes = await attest({ predicate });
    expectCode(() => check([bytes]), 'PROVENANCE_SOURCE_MISMATCH');
  });

  it('refuses another issuer', async () => {
    const bytes = await attest({ issuer: 'https://issuer.example' });
    expect(expectCode(() => check([bytes]), 'PROVENANCE_ISSUER_MISMATCH').message).toContain('https://issuer.example');
  });

  it('refuses an attestation about another digest', async () => {
    const bytes = await attest({ subjects: [{ name: 'x', digest: OTHER }] });
    expect(expectCode(() => check([bytes]), 'PROVENANCE_SUBJECT_MISMATCH').message).toContain(OTHER);
  });

  it('refuses a certificate outside its validity window at the logged time', async () => {
    const now = Date.now();
    const bytes = await attest({
      certificateNotBefore: new Date(now - 3_600_000),
      certificateNotAfter: new Date(now - 1_800_000),
      signingTime: new Date(now),
    });
    expectCode(() => check([bytes]), 'PROVENANCE_SIGNATURE_INVALID');
  });

  it('refuses a certificate without an SCT', async () => {
    const bytes = await attest({ omitSCT: true });
    expectCode(() => check([bytes]), 'PROVENANCE_SIGNATURE_INVALID');
  });

  it('refuses an attestation of another predicate type', async () => {
    const bytes = await attest({ predicateType: 'https://spdx.dev/Document' });
    expect(expectCode(() => check([bytes]), 'PROVENANCE_PREDICATE_MISSING').message).toContain(SLSA);
  });

  it('refuses a signature checked against another Sigstore’s trusted root', async () => {
    const other = await openTestSigstore(tempDir());
    const otherRoot = trustedRootFromBytes(Buffer.from(JSON.stringify(other.trustedRoot)), 'other');
    const bytes = await attest();
    expectCode(() => check([bytes], POLICY, otherRoot), 'PROVENANCE_SIGNATURE_INVALID');
  });

  it('refuses an attestation whose statement was edited after signing', async () => {
    const b = JSON.parse(Buffer.from(await attest()).toString());
    const st = JSON.parse(Buffer.from(b.dsseEnvelope.payload, 'base64').toString());
    st.subject[0].digest.sha256 = OTHER.slice(7);
    b.dsseEnvelope.payload = Buffer.from(JSON.stringify(st)).toString('base64');
    expectCode(() => check([Buffer.from(JSON.stringify(b))]), 'PROVENANCE_SIGNATURE_INVALID');
  });

  it('says when no attestation was found', () => {
    expect(expectCode(() => check([]), 'PROVENANCE_NOT_FOUND').message).toContain(IDENTITY);
  });

  it('takes the one that verifies among several, and ignores the others', async () => {
    const good = await attest();
    const other = await attest({ subjects: [{ name: 'x', digest: OTHER }] });
    expect(check([other, good]).used).toEqual([1]);
  });
});

describe('provenance policy in a profile', () => {
  const bad = (key: string, what: string): never => {
    throw new Error(`${key} ${what}`);
  };
  it('puts the image tag into the identity', () => {
    const p = parseProvenancePolicy(
      {
        identity: 'https://github.com/o/r/.github/workflows/w.yml@refs/tags/{tag}',
        issuer: ISSUER,
        predicateTypes: [SLSA],
      },
      'v1.2.3',
      bad,
    );
    expect(p).toEqual({
      kind: 'signed',
      identity: 'https://github.com/o/r/.github/workflows/w.yml@refs/tags/v1.2.3',
      issuer: ISSUER,
      predicateTypes: [SLSA],
      sourceRepository: 'https://github.com/o/r',
    });
  });
  it('takes unsigned and notVerified with a reason, and nothing else beside them', () => {
    expect(parseProvenancePolicy({ unsigned: 'upstream signs nothing' }, 'x', bad)).toEqual({
      kind: 'unsigned',
      reason: 'upstream signs nothing',
    });
    expect(parseProvenancePolicy({ notVerified: 'legacy .sig' }, 'x', bad).kind).toBe('not-verified');
    expect(() => parseProvenancePolicy({ unsigned: '' }, 'x', bad)).toThrow('provenance.unsigned');
    expect(() => parseProvenancePolicy({ unsigned: 'x', issuer: ISSUER }, 'x', bad)).toThrow('no other keys');
  });
  it('refuses a policy without predicate types, an http identity, or an unknown key', () => {
    expect(() => parseProvenancePolicy({ identity: 'https://a', issuer: ISSUER }, 'x', bad)).toThrow('predicateTypes');
    expect(() =>
      parseProvenancePolicy({ identity: 'http://a', issuer: ISSUER, predicateTypes: [SLSA] }, 'x', bad),
    ).toThrow('https');
    expect(() =>
      parseProvenancePolicy({ identity: 'https://a', issuer: ISSUER, predicateTypes: [SLSA], keyless: 1 }, 'x', bad),
    ).toThrow('keyless');
  });
});
