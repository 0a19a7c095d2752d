/**
 * bundle.json: what a bundle holds, signed. Every file but the manifest and its signature is listed
 * with its size and SHA-256; every image with its upstream reference and digests.
 */
import { isSafeRelativePath } from '../util/safe-path.js';
import { AirgapError } from '../errors.js';
import { canonicalJson } from '../util/canonical-json.js';

export const BUNDLE_FORMAT_VERSION = 1;

export interface BundleImage {
  /** Profile image key (e.g. rekor, nginx). */
  name: string;
  /** Upstream reference the stack refers to (registry/repository:tag). */
  ref: string;
  /** Digest the tag resolved to at create time (an index when multi-platform). */
  digest: string;
  /** The platform-specific manifest stored in the bundle. */
  manifestDigest: string;
  /** The manifest the OCI layout's index.json points at (the OCI form of manifestDigest). */
  layoutManifestDigest: string;
  configDigest: string;
  platform: string;
  /** Bytes of manifest, config and layers. */
  size: number;
  /** Where it was pulled from (a mirror, when one was used). */
  source: string;
  profiles: string[];
}

export interface BundleFile {
  path: string;
  size: number;
  sha256: string;
}

export interface BundleManifest {
  formatVersion: number;
  createdAt: string;
  tool: { name: 'rekor-airgap'; version: string };
  platform: string;
  profiles: string[];
  images: BundleImage[];
  files: BundleFile[];
}

export function serializeManifest(m: BundleManifest): string {
  return canonicalJson(m);
}


export function parseManifest(text: string, file: string): BundleManifest {
  let m: BundleManifest;
  try {
    m = JSON.parse(text) as BundleManifest;
  } catch (e) {
    throw new AirgapError('BUNDLE_MANIFEST_INVALID', `${file} is not valid JSON`, { cause: e });
  }
  const bad = (what: string): never => { throw new AirgapError('BUNDLE_MANIFEST_INVALID', `${file}: ${what}`); };
  if (m.formatVersion !== BUNDLE_FORMAT_VERSION) bad(`formatVersion ${String(m.formatVersion)} is not supported (expected ${BUNDLE_FORMAT_VERSION})`);
  if (!Array.isArray(m.files) || !Array.isArray(m.images) || !Array.isArray(m.profiles)) bad('files, images and profiles must be lists');
  const seen = new Set<string>();
  for (const f of m.files) {
    if (typeof f.path !== 'string' || !isSafeRelativePath(f.path)) bad(`file path ${JSON.stringify(f.path)} is not a safe relative path`);
    if (seen.has(f.path)) bad(`file ${f.path} is listed twice`);
    seen.add(f.path);
    if (!Number.isSafeInteger(f.size) || f.size < 0) bad(`file ${f.path} has a bad size`);
    if (typeof f.sha256 !== 'string' || !/^[a-f0-9]{64}$/.test(f.sha256)) bad(`file ${f.path} has a bad sha256`);
  }
  return m;
}

