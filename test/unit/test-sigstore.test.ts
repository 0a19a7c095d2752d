/**
 * The rig's test Sigstore (test/helpers/test-sigstore.mjs): its bundles verify with sigstore-js
 * against its trusted root, for the signing identity only; they fail against another test
 * Sigstore's root, without the certificate's SCT, and when the certificate was not valid at the
 * time the transparency log recorded. Its keys persist: a second open gives the same root.
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import { bundleFromJSON } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { Verifier, toSignedEntity, toTrustMaterial } from '@sigstore/verify';
import { beforeAll, describe, expect, it } from 'vitest';
import { openTestSigstore, type BundleJSON, type SignOptions, type TestSigstore } from '../helpers/test-sigstore.mjs';
import { tempDir } from '../helpers/temp-dirs.js';

const ISSUER = 'https://token.actions.githubusercontent.com';
const IDENTITY = 'https://github.com/sigstore/rekor-tiles/.github/workflows/build_container.yml@refs/tags/v2.4.2';
const FORK = 'https://github.com/example-fork/rekor-tiles/.github/workflows/build_container.yml@refs/tags/v2.4.2';

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

function verify(root: TestSigstore['trustedRoot'], bundle: BundleJSON, identity = IDENTITY) {
  const verifier = new Verifier(toTrustMaterial(TrustedRoot.fromJSON(root)), {
    tlogThreshold: 1,
    ctlogThreshold: 1,
    timestampThreshold: 1,
  });
  return verifier.verify(toSignedEntity(bundleFromJSON(bundle)), {
    subjectAlternativeName: '^' + escape(identity) + '$',
    extensions: { issuer: ISSUER },
  });
}

/** The code and message (and its cause's) of what FN throws. */
function failure(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    const { code, message, cause } = e as Error & { code?: string; cause?: Error };
    return `${code}: ${message}${cause ? ` (${cause.message})` : ''}`;
  }
  return 'verified';
}

describe('test Sigstore', () => {
  let dir: string;
  let sigstore: TestSigstore;
  const sign = (o: Partial<SignOptions> = {}) =>
    sigstore.signStatement({
      identity: IDENTITY,
      subjects: [{ name: 'ghcr.io/sigstore/rekor-tiles/posix', digest: 'sha256:' + 'ab'.repeat(32) }],
      predicateType: 'https://slsa.dev/provenance/v1',
      predicate: { buildDefinition: {}, runDetails: {} },
      ...o,
    });

  beforeAll(async () => {
    dir = tempDir();
    sigstore = await openTestSigstore(path.join(dir, 'sigstore'));
  });

  it('signs a bundle that verifies for its identity and issuer, with a stable trusted root', async () => {
    const bundle = await sign();
    expect(bundle.mediaType).toBe('application/vnd.dev.sigstore.bundle.v0.3+json');
    expect(verify(sigstore.trustedRoot, bundle).identity?.subjectAlternativeName).toBe(IDENTITY);
    const again = await openTestSigstore(path.join(dir, 'sigstore'));
    expect(again.trustedRoot).toEqual(sigstore.trustedRoot);
    expect(statSync(path.join(dir, 'sigstore', 'ca.key.pem')).mode & 0o777).toBe(0o600);
  });

  it('fails for another identity', async () => {
    const bundle = await sign({ identity: FORK });
    expect(failure(() => verify(sigstore.trustedRoot, bundle))).toBe(
      `UNTRUSTED_SIGNER_ERROR: certificate identity error - expected ^${escape(IDENTITY)}$, got ${FORK}`,
    );
  });

  it("fails against another test Sigstore's trusted root", async () => {
    const other = await openTestSigstore(path.join(dir, 'other'));
    const bundle = await sign();
    expect(failure(() => verify(other.trustedRoot, bundle))).toBe(
      'CERTIFICATE_ERROR: Failed to verify certificate chain (no valid certificate path found)',
    );
  });

  it('fails without an SCT in the certificate', async () => {
    const bundle = await sign({ omitSCT: true });
    expect(failure(() => verify(sigstore.trustedRoot, bundle))).toBe('CERTIFICATE_ERROR: expected 1 SCTs, got 0');
  });

  it('fails when the certificate was not valid at the signing time', async () => {
    const signingTime = new Date(Date.now() - 3_600_000);
    const inWindow = await sign({ signingTime });
    expect(failure(() => verify(sigstore.trustedRoot, inWindow))).toBe('verified');
    const bundle = await sign({
      signingTime,
      certificateNotBefore: new Date(signingTime.getTime() + 60_000),
      certificateNotAfter: new Date(signingTime.getTime() + 660_000),
    });
    expect(failure(() => verify(sigstore.trustedRoot, bundle))).toBe(
      'CERTIFICATE_ERROR: Failed to verify certificate chain (certificate is not valid or expired at the specified date)',
    );
  });
});
