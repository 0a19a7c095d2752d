/**
 * `bundle push`: a verified bundle's images (and charts) into a site's internal registry over the
 * OCI distribution API, under their upstream manifest digests, so every pinned reference
 * `REGISTRY/PREFIX/repository@sha256:…` resolves after the push. Blobs the registry has are
 * skipped (HEAD), blobs pushed to another repository in the same run are mounted, the rest are
 * uploaded whole or in chunks; a rerun uploads nothing twice, and an interrupted one resumes.
 *
 * A multi-platform upstream image was pinned by its index, but the bundle holds one platform's
 * manifest: that manifest is pushed under its own upstream digest; the index is not (a registry
 * refuses an index whose other platforms it lacks), and the map says so.
 */
import { createReadStream, promises as fsp } from 'node:fs';
import path from 'node:path';
import { AirgapError } from '../errors.js';
import { blobRelPath } from '../oci/layout.js';
import { MediaType } from '../oci/media-types.js';
import { parseImageManifest } from '../oci/manifest-parse.js';
import { parseImageRef } from '../ref/image-ref.js';
import { RegistryClient } from '../registry/client.js';
import { credentialFor } from '../registry/credentials.js';
import { mapLimit } from '../util/pool.js';
import type { Progress } from '../util/progress.js';
import { writeFileAtomic } from '../util/atomic-file.js';
import { bundlePath, BundleLayout } from './layout.js';
import type { BundleManifest } from './manifest.js';
import { verifyBundleDir, type BundleVerifyResult } from './verify-dir.js';
import { verifyCarriedProvenance } from './provenance.js';
import { pushAttestations } from './push-attestations.js';
import type { TrustedKeys } from './trusted-manifest.js';

export interface PushOptions {
  bundleDir: string;
  keys: TrustedKeys;
  /** host[:port] of the internal registry. */
  registry: string;
  /** Repository path put before each upstream repository (e.g. "sigstore-mirror"). */
  prefix?: string;
  ca?: string | undefined;
  insecure?: boolean;
  concurrency: number;
  /** Upload blobs larger than this in chunks of this size (PATCH); whole otherwise. */
  chunkSize?: number;
  /** Each request to the registry within this (default 60 s), plus 4 s per MiB of blob it carries. */
  deadlineMs?: number | undefined;
  /** Where the image map is written (JSON). */
  mapFile: string;
  progress: Progress;
}

export interface PushedArtifact {
  kind: 'image' | 'chart';
  name: string;
  /** Upstream reference, as the profile pins it. */
  ref: string;
  /** The digest pinned at create time (an index digest for a multi-platform image). */
  pinnedDigest: string;
  /** The manifest pushed: its upstream digest. */
  manifestDigest: string;
  /** REGISTRY/PREFIX/repository@manifestDigest */
  target: string;
  /** REGISTRY/PREFIX/repository:tag, when the upstream reference has a tag. */
  tagged?: string;
  /** Set when the pinned digest is an index that was not pushed, with why. */
  indexNotPushed?: string;
  /** Upstream attestations pushed as referrers of the pinned digest (images with verified provenance). */
  attestations?: number;
  blobs: { uploaded: number; mounted: number; skipped: number; bytesUploaded: number };
}

export interface ImageMap {
  registry: string;
  prefix: string;
  bundle: { createdAt: string; manifestSha256: string };
  artifacts: PushedArtifact[];
}

/** What a bundle holds that can be pushed: each with the manifest digest kept in the layout. */
interface Pushable {
  kind: 'image' | 'chart';
  name: string;
  ref: string;
  pinnedDigest: string;
  manifestDigest: string;
}

export function pushablesOf(m: BundleManifest): Pushable[] {
  return [
    ...m.images.map((i) => ({
      kind: 'image' as const,
      name: i.name,
      ref: i.ref,
      pinnedDigest: i.digest,
      manifestDigest: i.manifestDigest,
    })),
    ...(m.charts ?? []).map((c) => ({
      kind: 'chart' as const,
      name: c.name,
      ref: c.ref,
      pinnedDigest: c.digest,
      manifestDigest: c.digest,
    })),
  ];
}

/** REGISTRY/PREFIX/repository for an upstream reference. */
export function targetRepository(ref: string, prefix: string): string {
  const r = parseImageRef(ref);
  const p = prefix.replace(/^\/+|\/+$/g, '');
  return p ? `${p}/${r.repository}` : r.repository;
}

export function checkPrefix(prefix: string): string {
  const p = prefix.replace(/^\/+|\/+$/g, '');
  if (p && !/^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/.test(p)) {
    throw new AirgapError(
      'USAGE_INVALID',
      `--prefix ${JSON.stringify(prefix)} is not a repository path (lowercase letters, digits, . _ - and /)`,
    );
  }
  return p;
}

export async function pushBundle(o: PushOptions): Promise<ImageMap> {
  const prefix = checkPrefix(o.prefix ?? '');
  o.progress.step(`verifying ${o.bundleDir}`);
  const verified = await verifyBundleDir(o.bundleDir, o.keys, o.progress);
  await verifyCarriedProvenance(verified);
  o.progress.step(
    `bundle verified: signed by ${verified.signedBy}; pushing to ${o.registry}${prefix ? `/${prefix}` : ''}`,
  );
  const client = new RegistryClient({
    host: o.registry,
    ca: o.ca,
    insecure: o.insecure === true,
    credential: credentialFor(o.registry),
    ...(o.deadlineMs ? { deadlineMs: o.deadlineMs } : {}),
  });
  // Blobs already in a repository of this registry (this run): later repositories mount them.
  const placed = new Map<string, string>();
  const out: PushedArtifact[] = [];
  const run: PushRun = { options: o, verified, client, prefix, placed };
  for (const item of pushablesOf(verified.manifest)) out.push(await withAttestations(run, await pushOne(run, item)));
  const map: ImageMap = {
    registry: o.registry,
    prefix,
    bundle: { createdAt: verified.manifest.createdAt, manifestSha256: verified.manifestSha256 },
    artifacts: out,
  };
  await writeFileAtomic(o.mapFile, JSON.stringify(map, null, 2) + '\n', { mode: 0o644 });
  return map;
}

/** What every artifact of one push shares. */
interface PushRun {
  options: PushOptions;
  /** The bundle, verified: manifests are read from its checked bytes. */
  verified: BundleVerifyResult;
  /** The internal registry. */
  client: RegistryClient;
  /** The repository path put before each upstream repository, checked. */
  prefix: string;
  /** Blob digest → the repository of this registry it was placed in during this run (later ones mount it). */
  placed: Map<string, string>;
}

/** An image's carried attestations, pushed beside it (as referrers of its pinned digest). */
async function withAttestations(run: PushRun, pushed: PushedArtifact): Promise<PushedArtifact> {
  const image = run.verified.manifest.images.find((i) => i.ref === pushed.ref && i.digest === pushed.pinnedDigest);
  if (pushed.kind !== 'image' || !image) return pushed;
  const n = await pushAttestations(run.client, targetRepository(image.ref, run.prefix), run.verified, image);
  if (n)
    run.options.progress.step(`  ${image.ref}: ${n} upstream attestation(s) pushed as referrers of ${image.digest}`);
  return n ? { ...pushed, attestations: n } : pushed;
}

async function pushOne(run: PushRun, item: Pushable): Promise<PushedArtifact> {
  const { options: o, verified, client, prefix, placed } = run;
  const repo = targetRepository(item.ref, prefix);
  const ref = parseImageRef(item.ref);
  // The upstream manifest bytes, as pulled (checked against the signed bundle.json again).
  const bytes = await verified.readFile(`${BundleLayout.IMAGES_DIR}/${blobRelPath(item.manifestDigest)}`);
  const manifest = parseImageManifest(bytes, `manifest ${item.manifestDigest} of ${item.ref}`);
  // parseImageManifest keeps the manifest's own mediaType; an OCI manifest may omit it.
  const mediaType = manifest.mediaType ?? MediaType.OCI_MANIFEST;
  const blobs = [manifest.config, ...manifest.layers];
  const total = blobs.reduce((a, b) => a + b.size, 0);
  o.progress.startBytes(`pushing ${item.ref} → ${o.registry}/${repo}`, total);
  const stats = { uploaded: 0, mounted: 0, skipped: 0, bytesUploaded: 0 };
  await mapLimit(blobs, o.concurrency, async (b) => {
    const file = path.join(bundlePath.images(o.bundleDir), blobRelPath(b.digest));
    const st = await fsp.stat(file).catch(() => undefined);
    if (!st || st.size !== b.size)
      throw new AirgapError(
        'BUNDLE_FILE_MISSING',
        `${file}: blob ${b.digest} of ${item.ref} is missing or has the wrong size`,
      );
    if (await client.hasBlob(repo, b.digest, b.size)) {
      stats.skipped++;
      o.progress.addBytes(b.size);
      placed.set(b.digest, repo);
      return;
    }
    const how = await client.pushBlob(
      repo,
      {
        digest: b.digest,
        size: b.size,
        open: (range) => createReadStream(file, range ? { start: range.start, end: range.end } : {}),
      },
      {
        ...(placed.get(b.digest) ? { mountFrom: placed.get(b.digest)! } : {}),
        ...(o.chunkSize ? { chunkSize: o.chunkSize } : {}),
        onBytes: (n) => o.progress.addBytes(n),
      },
    );
    if (how === 'mounted') {
      stats.mounted++;
      o.progress.addBytes(b.size);
    } else {
      stats.uploaded++;
      stats.bytesUploaded += b.size;
    }
    placed.set(b.digest, repo);
  });
  o.progress.endBytes();
  await client.putManifest(repo, item.manifestDigest, bytes, mediaType);
  let tagged: string | undefined;
  if (ref.tag) {
    await client.putManifest(repo, ref.tag, bytes, mediaType);
    tagged = `${o.registry}/${repo}:${ref.tag}`;
  }
  const indexNotPushed =
    item.pinnedDigest !== item.manifestDigest
      ? `${item.pinnedDigest} is a multi-platform index; the bundle holds only this platform's manifest, pushed under its own upstream digest`
      : undefined;
  o.progress.step(
    `  ${item.ref} → ${o.registry}/${repo}@${item.manifestDigest} (${stats.uploaded} uploaded, ${stats.mounted} mounted, ${stats.skipped} already there)`,
  );
  return {
    kind: item.kind,
    name: item.name,
    ref: item.ref,
    pinnedDigest: item.pinnedDigest,
    manifestDigest: item.manifestDigest,
    target: `${o.registry}/${repo}@${item.manifestDigest}`,
    ...(tagged ? { tagged } : {}),
    ...(indexNotPushed ? { indexNotPushed } : {}),
    blobs: stats,
  };
}
