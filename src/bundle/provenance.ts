/**
 * Upstream provenance in a bundle. At create: each image's attestations fetched from its registry
 * and verified against its profile's policy with a Sigstore trusted root; what verified is carried
 * (the trusted root, the manifest or index the tag resolved to, the attestations) under the
 * bundle's signature, with the verdict in bundle.json. Offline: the same checks again from what
 * is carried, with no network, before anything is loaded.
 */
import path from 'node:path';
import { AirgapError } from '../errors.js';
import { sha256Digest } from '../oci/digest.js';
import { isIndexType } from '../oci/media-types.js';
import { evaluateProvenance } from '../provenance/evaluate.js';
import { fetchAttestations } from '../provenance/fetch-attestations.js';
import { NO_POLICY, type ProvenancePolicy, type SignedPolicy } from '../provenance/policy.js';
import { loadTrustedRoot, trustedRootFromBytes, type LoadedTrustedRoot } from '../provenance/trusted-root-source.js';
import { parseImageRef } from '../ref/image-ref.js';
import { RegistryPool } from '../source/registry-source.js';
import { writeFileAtomic } from '../util/atomic-file.js';
import { readUntrustedJson, type JsonValue } from '../util/untrusted-json.js';
import { canonicalJson } from '../util/canonical-json.js';
import type { BundleBuild } from './create.js';
import { BundleLayout, bundleRel } from './layout.js';
import type { BundleImage, BundleManifest, ImageProvenance } from './manifest.js';
import type { BundleVerifyResult } from './verify-dir.js';

/** The policy of each image reference; two profiles that list one image must say the same of it. */
function policiesByRef(b: BundleBuild): Map<string, ProvenancePolicy> {
  const m = new Map<string, { policy: ProvenancePolicy; file: string }>();
  for (const p of b.profiles)
    for (const i of p.images) {
      const seen = m.get(i.ref);
      if (!seen) m.set(i.ref, { policy: i.provenance, file: p.file });
      else if (canonicalJson(seen.policy) !== canonicalJson(i.provenance))
        throw new AirgapError(
          'PROFILE_INVALID',
          `${i.ref}: ${seen.file} and ${p.file} name different provenance policies for it; make them agree`,
        );
    }
  return new Map([...m].map(([ref, v]) => [ref, v.policy]));
}

/**
 * Verifies every pulled image's provenance and writes what verified into the bundle; sets each
 * image's `provenance`. Returns the trusted root's bundle path, when one was needed.
 */
export async function verifyUpstreamProvenance(b: BundleBuild, images: BundleImage[]): Promise<string | undefined> {
  const policies = policiesByRef(b);
  const signed = images.filter((i) => (policies.get(i.ref) ?? NO_POLICY).kind === 'signed');
  for (const i of images) {
    const p = policies.get(i.ref) ?? NO_POLICY;
    if (p.kind !== 'signed') i.provenance = { status: p.kind, reason: p.reason };
  }
  if (signed.length === 0) return undefined;
  b.opts.progress.step('verifying upstream provenance: fetching the Sigstore trusted root');
  const root = await loadTrustedRoot(b.opts.sigstoreTrustedRoot);
  await writeFileAtomic(path.join(b.out, BundleLayout.SIGSTORE_TRUSTED_ROOT), root.bytes);
  const pool = new RegistryPool(b.opts.access);
  for (const image of signed)
    image.provenance = await verifyOneUpstream(b, pool, root, image, policies.get(image.ref) as SignedPolicy);
  return BundleLayout.SIGSTORE_TRUSTED_ROOT;
}

async function verifyOneUpstream(
  b: BundleBuild,
  pool: RegistryPool,
  root: LoadedTrustedRoot,
  image: BundleImage,
  policy: SignedPolicy,
): Promise<ImageProvenance> {
  const { client, repository } = pool.sourceFor(parseImageRef(image.ref));
  const fetched = await fetchAttestations(client, repository, image.digest);
  b.opts.progress.step(`verifying the provenance of ${image.ref}: ${fetched.bundles.length} attestation(s) found`);
  const attestations = fetched.bundles.map((bytes, n) => ({
    name: `attestation ${n + 1} from ${client.host}/${repository}`,
    bytes,
  }));
  const v = evaluateProvenance(root.trust, { image: image.ref, subject: image.digest, policy, attestations });
  const subject = bundleRel.provenanceSubject(image.digest);
  await writeFileAtomic(path.join(b.out, subject), fetched.subject);
  const carried: string[] = [];
  for (const [k, i] of v.used.entries()) {
    const rel = bundleRel.provenanceAttestation(image.digest, k + 1);
    await writeFileAtomic(path.join(b.out, rel), fetched.bundles[i]!);
    carried.push(rel);
  }
  return {
    status: 'verified',
    identity: v.identity,
    issuer: v.issuer,
    predicateTypes: v.predicateTypes,
    ...(policy.sourceRepository ? { sourceRepository: policy.sourceRepository } : {}),
    builtFrom: v.builtFrom,
    subject,
    attestations: carried,
  };
}

/** One image's provenance as the offline side found it. */
export interface ProvenanceReport {
  image: string;
  digest: string;
  provenance: ImageProvenance | { status: 'not recorded' };
}

/**
 * Verifies again, offline, the provenance recorded in a verified bundle: the carried subject is the
 * image's digest and names its platform manifest; every carried attestation verifies against the
 * carried trusted root and the recorded policy and is about that digest; every predicate type the
 * policy named is covered.
 */
export async function verifyCarriedProvenance(v: BundleVerifyResult): Promise<ProvenanceReport[]> {
  const m = v.manifest;
  const needRoot = m.images.some((i) => i.provenance?.status === 'verified');
  const root = needRoot ? await carriedTrustedRoot(v, m) : undefined;
  const reports: ProvenanceReport[] = [];
  for (const image of m.images) {
    const p = image.provenance;
    if (p && !['verified', 'unsigned', 'not-verified'].includes(p.status))
      throw new AirgapError('PROVENANCE_CARRIED_INVALID', `${image.ref}: unknown provenance status in bundle.json`);
    if (p?.status === 'verified') await verifyCarriedImage(v, root!, image, p);
    reports.push({ image: image.ref, digest: image.digest, provenance: p ?? { status: 'not recorded' } });
  }
  return reports;
}

async function carriedTrustedRoot(v: BundleVerifyResult, m: BundleManifest): Promise<LoadedTrustedRoot> {
  if (!m.sigstoreTrustedRoot)
    throw new AirgapError(
      'PROVENANCE_CARRIED_INVALID',
      `${v.dir}: bundle.json records verified provenance but no Sigstore trusted root`,
    );
  const what = `${v.dir}/${m.sigstoreTrustedRoot}`;
  try {
    return trustedRootFromBytes(await v.readFile(m.sigstoreTrustedRoot), what);
  } catch (e) {
    if ((e as AirgapError).code !== 'PROVENANCE_TRUSTED_ROOT_INVALID') throw e;
    throw new AirgapError('PROVENANCE_CARRIED_INVALID', (e as Error).message, { cause: e });
  }
}

async function verifyCarriedImage(
  v: BundleVerifyResult,
  root: LoadedTrustedRoot,
  image: BundleImage,
  p: Extract<ImageProvenance, { status: 'verified' }>,
): Promise<void> {
  checkRecordedVerdict(image, p);
  await checkCarriedSubject(v, image, p.subject);
  const policy: SignedPolicy = {
    kind: 'signed',
    identity: p.identity,
    issuer: p.issuer,
    predicateTypes: p.predicateTypes,
    ...(p.sourceRepository ? { sourceRepository: p.sourceRepository } : {}),
  };
  const attestations = [];
  for (const rel of p.attestations) attestations.push({ name: rel, bytes: await v.readFile(rel) });
  evaluateProvenance(root.trust, { image: image.ref, subject: image.digest, policy, attestations, strict: true });
}

/** bundle.json's record of a verified image is whole: a signer, what it must attest, and what carries it. */
function checkRecordedVerdict(image: BundleImage, p: Extract<ImageProvenance, { status: 'verified' }>): void {
  const strings = (x: unknown) => Array.isArray(x) && x.length > 0 && x.every((y) => typeof y === 'string');
  const ok =
    typeof p.identity === 'string' &&
    typeof p.issuer === 'string' &&
    typeof p.subject === 'string' &&
    strings(p.predicateTypes) &&
    strings(p.attestations) &&
    (p.sourceRepository === undefined || typeof p.sourceRepository === 'string');
  if (!ok)
    throw new AirgapError('PROVENANCE_CARRIED_INVALID', `${image.ref}: bundle.json's provenance record is incomplete`);
}

/** The carried manifest or index is the one the image's digest names, and it leads to the platform manifest loaded. */
async function checkCarriedSubject(v: BundleVerifyResult, image: BundleImage, rel: string): Promise<void> {
  const bytes = await v.readFile(rel);
  const digest = sha256Digest(bytes);
  const what = `${image.ref}: ${rel}`;
  if (digest !== image.digest)
    throw new AirgapError(
      'PROVENANCE_CARRIED_INVALID',
      `${what} has digest ${digest}, not the image's ${image.digest}`,
    );
  const doc = readUntrustedJson(bytes, { what, code: 'PROVENANCE_CARRIED_INVALID' });
  if (!isIndexDoc(doc)) {
    if (image.manifestDigest !== image.digest)
      throw new AirgapError(
        'PROVENANCE_CARRIED_INVALID',
        `${what} is not an index, yet the image's manifest is ${image.manifestDigest}`,
      );
    return;
  }
  const listed = doc
    .at('manifests')
    .list()
    .map((d) => d.at('digest').optString());
  if (!listed.includes(image.manifestDigest))
    throw new AirgapError(
      'PROVENANCE_CARRIED_INVALID',
      `${what} does not list the platform manifest ${image.manifestDigest} the bundle carries`,
    );
}

/** An index: by its mediaType, or (the field is optional in OCI) by its list of manifests. */
export function isIndexDoc(doc: JsonValue): boolean {
  const mediaType = doc.at('mediaType').optString();
  return mediaType ? isIndexType(mediaType) : Array.isArray(doc.at('manifests').raw);
}
