/**
 * The connected side's edge: an image's signed attestations as its registry keeps them, as OCI
 * referrers of the digest its tag resolves to (the Referrers API, or the fallback tag
 * `sha256-<hex>`). Each referrer's manifest is opened (GHCR's fallback index reports the wrong
 * artifactType); those holding one Sigstore bundle layer are fetched, bounded.
 */
import { AirgapError } from '../errors.js';
import type { RegistryClient } from '../registry/client.js';
import { readUntrustedJson, type JsonValue } from '../util/untrusted-json.js';

const SIGSTORE_BUNDLE_PREFIX = 'application/vnd.dev.sigstore.bundle';
/** More referrers than this for one image is not a release's attestations. */
const MAX_REFERRERS = 64;
const MAX_BUNDLE_BYTES = 4 * 1024 * 1024;

export interface FetchedAttestations {
  /** The manifest or index the tag resolved to, byte for byte (the signatures are about it). */
  subject: Buffer;
  subjectMediaType: string;
  /** Each Sigstore bundle found, as stored. */
  bundles: Buffer[];
}

export async function fetchAttestations(
  client: RegistryClient,
  repo: string,
  subject: string,
): Promise<FetchedAttestations> {
  const top = await client.manifest(repo, subject);
  const what = `referrers of ${client.host}/${repo}@${subject}`;
  // The Referrers API first; a registry that has one may still hold what a mirror copied behind
  // the fallback tag, so that is read when the API lists no Sigstore bundle.
  let bundles = await bundlesListed(client, repo, subject, await client.referrers(repo, subject), what);
  if (bundles.length === 0)
    bundles = await bundlesListed(client, repo, subject, await fallbackIndex(client, repo, subject), what);
  return { subject: top.bytes, subjectMediaType: top.mediaType, bundles };
}

async function bundlesListed(
  client: RegistryClient,
  repo: string,
  subject: string,
  index: Buffer | undefined,
  what: string,
): Promise<Buffer[]> {
  const bundles: Buffer[] = [];
  for (const d of index ? referrerDigests(index, what) : []) {
    // A referrer that is not a well-formed manifest is not an attestation: it is passed over, and
    // the policy decides whether the others suffice.
    const b = await sigstoreBundleOf(client, repo, d, subject).catch((e: unknown) => {
      if ((e as AirgapError).code === 'REGISTRY_BAD_MANIFEST') return undefined;
      throw e;
    });
    if (b) bundles.push(b);
  }
  return bundles;
}

async function fallbackIndex(client: RegistryClient, repo: string, subject: string): Promise<Buffer | undefined> {
  try {
    return (await client.manifest(repo, subject.replace(':', '-'))).bytes;
  } catch (e) {
    if ((e as AirgapError).code === 'REGISTRY_NOT_FOUND') return undefined;
    throw e;
  }
}

function referrerDigests(index: Buffer, what: string): string[] {
  const doc = readUntrustedJson(index, { what, code: 'REGISTRY_BAD_MANIFEST' });
  const list = doc.at('manifests').optList();
  if (list.length > MAX_REFERRERS)
    throw new AirgapError('REGISTRY_BAD_MANIFEST', `${what}: ${list.length} referrers (more than ${MAX_REFERRERS})`);
  // Only sha256 digests can be checked here; a referrer named otherwise is not read.
  return list.map((m) => m.at('digest').optString()).filter((d): d is string => /^sha256:[0-9a-f]{64}$/.test(d ?? ''));
}

/** The Sigstore bundle a referrer manifest carries, when it is one and is about `subject`. */
async function sigstoreBundleOf(
  client: RegistryClient,
  repo: string,
  digest: string,
  subject: string,
): Promise<Buffer | undefined> {
  const m = await client.manifest(repo, digest);
  const doc = readUntrustedJson(m.bytes, { what: `referrer ${repo}@${digest}`, code: 'REGISTRY_BAD_MANIFEST' });
  const layers = doc.at('layers').optList();
  const about = doc.at('subject').isObject ? doc.at('subject').at('digest').optString() : undefined;
  if (layers.length !== 1 || !isBundleLayer(layers[0]!) || about !== subject) return undefined;
  const layer = layers[0]!;
  const size = layer.at('size').int();
  if (size > MAX_BUNDLE_BYTES)
    throw new AirgapError('REGISTRY_BAD_MANIFEST', `referrer ${repo}@${digest}: a ${size}-byte Sigstore bundle`);
  return client.blobBytes(repo, layer.at('digest').string(/^sha256:[0-9a-f]{64}$/), MAX_BUNDLE_BYTES);
}

function isBundleLayer(l: JsonValue): boolean {
  return (l.at('mediaType').optString() ?? '').startsWith(SIGSTORE_BUNDLE_PREFIX);
}
