/**
 * bundle.json: what a bundle holds, signed. Every file but the manifest and its signature is listed
 * with its size and SHA-256; every image with its upstream reference and digests.
 */
import { isSafeRelativePath } from '../util/safe-path.js';
import { AirgapError } from '../errors.js';
import { canonicalJson } from '../util/canonical-json.js';
import { isJsonObject, parseUntrustedJson } from '../util/untrusted-json.js';
import { isDigest, isSha256Hex } from '../util/sha256.js';
import type { BuiltFrom } from '../provenance/statement.js';

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
  /** What was verified of upstream's provenance at create (absent in bundles made before it was). */
  provenance?: ImageProvenance;
}

/** An image's upstream provenance, as verified at create; the offline side verifies it again. */
export type ImageProvenance =
  | {
      status: 'verified';
      identity: string;
      issuer: string;
      predicateTypes: string[];
      /** The repository the build had to run in (checked in the certificate and the provenance). */
      sourceRepository?: string;
      builtFrom: BuiltFrom;
      /** The manifest or index the tag resolved to, as published (a bundle path). */
      subject: string;
      /** The attestations that verified, Sigstore bundles (bundle paths). */
      attestations: string[];
    }
  | { status: 'unsigned' | 'not-verified'; reason: string };

/** A Helm chart (an OCI artifact) carried for Kubernetes sites; pushed like an image. */
export interface BundleChart {
  /** Profile chart key (e.g. rekor-tiles). */
  name: string;
  /** Upstream reference (registry/repository:version). */
  ref: string;
  /** Digest of the chart's OCI manifest (what `helm pull ...@digest` and the push keep). */
  digest: string;
  /** The chart archive layer (application/vnd.cncf.helm.chart.content.v1.tar+gzip). */
  chartDigest: string;
  configDigest: string;
  version: string;
  size: number;
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
  /**
   * Release number of each profile in this bundle: it only goes up, and an install refuses a lower
   * one than it already runs (rollback protection). Absent in bundles made before it existed (0).
   */
  releases?: Record<string, number>;
  /**
   * Profiles carried only as companions of those asked for (a witness beside a log): an install
   * that names no profile takes the one profile asked for. Absent when there are none.
   */
  companions?: string[];
  images: BundleImage[];
  /** Helm charts (absent when the bundle carries none). */
  charts?: BundleChart[];
  /** The Sigstore trusted root the provenance was verified with (a bundle path), when any was. */
  sigstoreTrustedRoot?: string;
  files: BundleFile[];
}

export function releaseOf(m: BundleManifest, profile: string): number {
  // Own keys only: a profile named "constructor" has no release from Object.prototype.
  return m.releases && Object.prototype.hasOwnProperty.call(m.releases, profile) ? m.releases[profile]! : 0;
}

/** The profile to use from a bundle: the one asked for (it must be there), or its only one. */
export function chooseProfile(m: BundleManifest, wanted: string | undefined): string {
  const profiles = m.profiles;
  if (wanted) {
    if (!profiles.includes(wanted))
      throw new AirgapError(
        'USAGE_PROFILE_NOT_IN_BUNDLE',
        `profile ${wanted} is not in this bundle (it has: ${profiles.join(', ')})`,
      );
    return wanted;
  }
  const asked = profiles.filter((p) => !(m.companions ?? []).includes(p));
  if (asked.length === 1) return asked[0]!;
  throw new AirgapError(
    'USAGE_PROFILE_AMBIGUOUS',
    `this bundle holds several profiles (${profiles.join(', ')}); choose one with --profile`,
  );
}

export function serializeManifest(m: BundleManifest): string {
  return canonicalJson(m);
}

/**
 * Parses untrusted bundle.json text into a manifest, or a BUNDLE_MANIFEST_INVALID error naming the
 * field. Size and nesting are capped before it is parsed (the one reader of untrusted JSON).
 */
export function parseManifest(text: string | Uint8Array, file: string): BundleManifest {
  const m = parseUntrustedJson(text, { what: file, code: 'BUNDLE_MANIFEST_INVALID' }) as BundleManifest;
  const bad = (what: string): never => {
    throw new AirgapError('BUNDLE_MANIFEST_INVALID', `${file}: ${what}`);
  };
  if (!isJsonObject(m)) return bad('not a JSON object');
  if (m.formatVersion !== BUNDLE_FORMAT_VERSION)
    bad(`formatVersion ${String(m.formatVersion)} is not supported (expected ${BUNDLE_FORMAT_VERSION})`);
  if (!Array.isArray(m.files) || !Array.isArray(m.images) || !Array.isArray(m.profiles))
    bad('files, images and profiles must be lists');
  if (typeof m.createdAt !== 'string' || typeof m.platform !== 'string') bad('createdAt and platform must be strings');
  for (const p of m.profiles)
    if (typeof p !== 'string' || !/^[a-z0-9][a-z0-9-]*$/.test(p))
      bad(`profile ${JSON.stringify(p)} is not a profile name`);
  if (m.companions !== undefined) {
    if (!Array.isArray(m.companions)) bad('companions must be a list');
    for (const c of m.companions as unknown[])
      if (typeof c !== 'string' || !m.profiles.includes(c))
        bad(`companion ${JSON.stringify(c)} is not a profile of the bundle`);
  }
  if (m.releases !== undefined) {
    if (!isJsonObject(m.releases)) bad('releases must be an object');
    for (const [k, v] of Object.entries(m.releases))
      if (!Number.isSafeInteger(v) || (v as number) < 0) bad(`release of ${k} must be a whole number`);
  }
  const seen = new Set<string>();
  for (const f of m.files as unknown[]) {
    if (!isJsonObject(f)) return bad('a file entry is not an object');
    if (typeof f.path !== 'string' || !isSafeRelativePath(f.path))
      bad(`file path ${JSON.stringify(f.path)} is not a safe relative path`);
    const p = f.path as string;
    if (seen.has(p)) bad(`file ${p} is listed twice`);
    seen.add(p);
    if (!Number.isSafeInteger(f.size) || (f.size as number) < 0) bad(`file ${p} has a bad size`);
    if (!isSha256Hex(f.sha256)) bad(`file ${p} has a bad sha256`);
  }
  for (const i of m.images as unknown[]) {
    if (!isJsonObject(i)) return bad('an image entry is not an object');
    for (const k of ['name', 'ref', 'platform', 'source'] as const)
      if (typeof i[k] !== 'string') bad(`image ${JSON.stringify(i.ref)}: ${k} must be a string`);
    for (const k of ['digest', 'manifestDigest', 'layoutManifestDigest', 'configDigest'] as const) {
      if (!isDigest(i[k])) bad(`image ${JSON.stringify(i.ref)}: ${k} must be a sha256 digest`);
    }
    if (!Number.isSafeInteger(i.size) || (i.size as number) < 0) bad(`image ${JSON.stringify(i.ref)}: bad size`);
    if (!Array.isArray(i.profiles) || !i.profiles.every((x) => typeof x === 'string'))
      bad(`image ${JSON.stringify(i.ref)}: profiles must be a list of names`);
  }
  if (m.charts !== undefined) {
    if (!Array.isArray(m.charts)) bad('charts must be a list');
    for (const c of m.charts as unknown[]) {
      if (!isJsonObject(c)) return bad('a chart entry is not an object');
      for (const k of ['name', 'ref', 'version'] as const)
        if (typeof c[k] !== 'string') bad(`chart ${JSON.stringify(c.ref)}: ${k} must be a string`);
      for (const k of ['digest', 'chartDigest', 'configDigest'] as const) {
        if (!isDigest(c[k])) bad(`chart ${JSON.stringify(c.ref)}: ${k} must be a sha256 digest`);
      }
      if (!Number.isSafeInteger(c.size) || (c.size as number) < 0) bad(`chart ${JSON.stringify(c.ref)}: bad size`);
      if (!Array.isArray(c.profiles) || !c.profiles.every((x) => typeof x === 'string'))
        bad(`chart ${JSON.stringify(c.ref)}: profiles must be a list of names`);
    }
  }
  return m;
}
