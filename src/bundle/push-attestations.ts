/**
 * `bundle push` of an image's carried attestations: each Sigstore bundle becomes an OCI referrer of
 * the digest it is about (an artifact manifest with an empty config, the bundle as its one layer
 * and a `subject`), listed in the fallback tag `sha256-<hex>` as well, as GitHub's actions/attest
 * stores it upstream, so cosign and policy controllers inside the site find it where they look.
 */
import { Readable } from 'node:stream';
import { AirgapError } from '../errors.js';
import { sha256Digest } from '../oci/digest.js';
import { MediaType } from '../oci/media-types.js';
import { readStatement } from '../provenance/statement.js';
import type { RegistryClient } from '../registry/client.js';
import { readUntrustedJson, parseUntrustedJson } from '../util/untrusted-json.js';
import type { BundleImage } from './manifest.js';
import type { BundleVerifyResult } from './verify-dir.js';
import { isIndexDoc } from './provenance.js';

const BUNDLE_MEDIA_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
const EMPTY = { mediaType: 'application/vnd.oci.empty.v1+json', bytes: Buffer.from('{}') };

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

/** Pushes the attestations `image` carries into `repo`; returns how many. */
export async function pushAttestations(
  client: RegistryClient,
  repo: string,
  verified: BundleVerifyResult,
  image: BundleImage,
): Promise<number> {
  const p = image.provenance;
  if (p?.status !== 'verified') return 0;
  const subjectBytes = await verified.readFile(p.subject);
  const subject: Descriptor = {
    mediaType: mediaTypeOf(subjectBytes, p.subject),
    digest: image.digest,
    size: subjectBytes.length,
  };
  await pushBlobBytes(client, repo, EMPTY.bytes);
  const referrers: Descriptor[] = [];
  for (const rel of p.attestations)
    referrers.push(await pushReferrer(client, repo, subject, await verified.readFile(rel), rel));
  await updateFallbackTag(client, repo, image.digest, referrers);
  return referrers.length;
}

async function pushReferrer(
  client: RegistryClient,
  repo: string,
  subject: Descriptor,
  bundle: Buffer,
  what: string,
): Promise<Descriptor> {
  const env = (
    parseUntrustedJson(bundle, { what, code: 'PROVENANCE_CARRIED_INVALID' }) as {
      dsseEnvelope?: { payloadType?: string; payload?: string };
    }
  ).dsseEnvelope;
  const predicateType = readStatement(
    String(env?.payloadType),
    Buffer.from(String(env?.payload), 'base64'),
    what,
  ).predicateType;
  await pushBlobBytes(client, repo, bundle);
  const annotations = {
    'dev.sigstore.bundle.content': 'dsse-envelope',
    'dev.sigstore.bundle.predicateType': predicateType,
  };
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OCI_MANIFEST,
      artifactType: BUNDLE_MEDIA_TYPE,
      config: { mediaType: EMPTY.mediaType, digest: sha256Digest(EMPTY.bytes), size: EMPTY.bytes.length },
      layers: [{ mediaType: BUNDLE_MEDIA_TYPE, digest: sha256Digest(bundle), size: bundle.length }],
      subject,
      annotations,
    }),
  );
  const digest = sha256Digest(manifest);
  await client.putManifest(repo, digest, manifest, MediaType.OCI_MANIFEST);
  return {
    mediaType: MediaType.OCI_MANIFEST,
    digest,
    size: manifest.length,
    artifactType: BUNDLE_MEDIA_TYPE,
    annotations,
  };
}

/** The fallback tag's index, with what it listed before and the new referrers (each once). */
async function updateFallbackTag(
  client: RegistryClient,
  repo: string,
  digest: string,
  add: Descriptor[],
): Promise<void> {
  const tag = digest.replace(':', '-');
  let listed: Descriptor[] = [];
  try {
    const old = await client.manifest(repo, tag);
    listed = readUntrustedJson(old.bytes, { what: `${repo}:${tag}`, code: 'REGISTRY_BAD_MANIFEST' })
      .at('manifests')
      .optList()
      .map((d) => d.raw as Descriptor);
  } catch (e) {
    if ((e as AirgapError).code !== 'REGISTRY_NOT_FOUND') throw e;
  }
  const manifests = [...listed.filter((d) => !add.some((a) => a.digest === d.digest)), ...add];
  const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OCI_INDEX, manifests }));
  await client.putManifest(repo, tag, index, MediaType.OCI_INDEX);
}

async function pushBlobBytes(client: RegistryClient, repo: string, bytes: Buffer): Promise<void> {
  const digest = sha256Digest(bytes);
  if (await client.hasBlob(repo, digest, bytes.length)) return;
  await client.pushBlob(repo, {
    digest,
    size: bytes.length,
    open: (r) => Readable.from([r ? bytes.subarray(r.start, r.end + 1) : bytes]),
  });
}

/** The subject's media type: its own field, or (optional in OCI) what its shape says it is. */
function mediaTypeOf(bytes: Buffer, what: string): string {
  const doc = readUntrustedJson(bytes, { what, code: 'PROVENANCE_CARRIED_INVALID' });
  const mt = doc.at('mediaType').optString();
  if (mt) return mt;
  return isIndexDoc(doc) ? MediaType.OCI_INDEX : MediaType.OCI_MANIFEST;
}
