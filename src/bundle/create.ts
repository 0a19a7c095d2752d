/**
 * `bundle create`: pull every image of the chosen profiles (daemonless, pinned, deduplicated) into
 * one OCI layout, add templates, artifacts and the installer, list every file in bundle.json and
 * sign it. The bundle directory carries an "incomplete" marker until the signature is written, so
 * an interrupted run is never mistaken for a bundle and a rerun resumes (verified blobs are kept).
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { KeyObject } from 'node:crypto';
import { AirgapError } from '../errors.js';
import { hashFile } from '../oci/digest.js';
import type { Platform } from '../oci/media-types.js';
import { formatPlatform, hostPlatform } from '../registry/platform.js';
import { copyFileAtomic, diskFullError, exists, writeFileAtomic } from '../util/atomic-file.js';
import { packageRoot, TOOL_VERSION } from '../util/package-root.js';
import type { Progress } from '../util/progress.js';
import { listFiles } from '../util/walk.js';
import { fetchArtifact } from './artifacts.js';
import { resolveNodeRuntime } from './node-runtime.js';
import { bundlePath, BundleLayout, UNLISTED_FILES } from './layout.js';
import { BUNDLE_FORMAT_VERSION, serializeManifest, type BundleFile, type BundleManifest } from './manifest.js';
import { pullIntoLayout, type Pulled } from './pull-into-layout.js';
import { loadCompanion, loadProfile, templatesDirFor, verifyStackKind, type Profile } from './profile.js';
import type { RegistryAccess } from '../source/registry-source.js';
import type { Engine } from '../engine/engine.js';
import { signDetached } from './sign-detached.js';
import { verifyUpstreamProvenance } from './provenance.js';

export interface CreateOptions {
  profiles: string[];
  out: string;
  signingKey: KeyObject;
  platform?: Platform;
  access: RegistryAccess;
  /** Release number for every profile of this bundle (default: each profile's `release:`). */
  release?: number;
  /** Lock file to enforce; 'auto' = `<profile>.lock.json` when it exists; 'none' = ignore. */
  lock?: string;
  nodeRuntime?: string;
  /** npm registry for the Node runtime of another platform (default registry.npmjs.org). */
  npmRegistry?: string;
  /** Overwrite a complete bundle at `out`. */
  force?: boolean;
  progress: Progress;
  /**
   * Where images come from: absent, the registries directly (daemonless, the default); given, pulled
   * through this engine and its credentials (`--source docker`).
   */
  engine?: Engine;
  /** Also carry the Helm charts the profiles list (for Kubernetes sites). */
  withCharts?: boolean;
  /** More charts to carry (registry/repository:version[@sha256:…]), for every profile of the bundle. */
  charts?: string[];
  /** Sigstore's trusted root, as a file (default: fetched from Sigstore's TUF repository when an image needs it). */
  sigstoreTrustedRoot?: string;
}

export interface CreateResult {
  dir: string;
  manifest: BundleManifest;
  bytes: number;
  blobsSkipped: number;
  blobsFetched: number;
}

/** One run of bundle create: what goes into the bundle, and where (every step takes it). */
export interface BundleBuild {
  opts: CreateOptions;
  /** The bundle directory, resolved. */
  out: string;
  platform: Platform;
  profiles: Profile[];
  /** Each profile's templates directory, found before anything is pulled. */
  templateDirs: Map<string, string>;
  /** Files hashed while they were written (the Node runtime): not read again for bundle.json. */
  known: Map<string, { size: number; sha256: string }>;
}

export function creationTime(): Date {
  const sde = process.env.SOURCE_DATE_EPOCH;
  if (sde !== undefined && sde !== '') {
    if (!/^\d+$/.test(sde))
      throw new AirgapError('USAGE_BAD_SOURCE_DATE_EPOCH', `SOURCE_DATE_EPOCH=${sde} is not a number of seconds`);
    return new Date(Number(sde) * 1000);
  }
  return new Date();
}

async function prepareOut(out: string, force: boolean): Promise<void> {
  const complete = (await exists(bundlePath.manifest(out))) && !(await exists(bundlePath.marker(out)));
  if (complete && !force) {
    throw new AirgapError(
      'USAGE_OUT_EXISTS',
      `${out} already holds a complete bundle; choose another --out or pass --force to rebuild it`,
    );
  }
  await fsp.mkdir(out, { recursive: true });
  await writeFileAtomic(bundlePath.marker(out), 'bundle create in progress; this directory is not a bundle yet\n');
  await fsp.rm(bundlePath.manifest(out), { force: true });
  await fsp.rm(bundlePath.signature(out), { force: true });
  // Provenance is fetched and verified again on every run: nothing an earlier run carried stays.
  await fsp.rm(path.join(out, BundleLayout.PROVENANCE_DIR), { recursive: true, force: true });
}

export async function createBundle(opts: CreateOptions): Promise<CreateResult> {
  try {
    return await createBundleInner(opts);
  } catch (e) {
    const mapped = diskFullError(e, path.resolve(opts.out));
    if (mapped instanceof AirgapError && mapped.code === 'BUNDLE_WRITE_DISK_FULL') {
      throw new AirgapError(
        'BUNDLE_WRITE_DISK_FULL',
        `no space left while writing the bundle in ${path.resolve(opts.out)}; it stays unsigned and incomplete (free space, then run the same command again to resume)`,
        { cause: e },
      );
    }
    throw e;
  }
}

/**
 * The profiles of a bundle, each naming a stack this tool installs; checked before anything is
 * written. The profiles asked for come first, then their companions (each once, by name).
 */
export async function loadBundleProfiles(names: readonly string[]): Promise<Profile[]> {
  if (names.length === 0) throw new AirgapError('USAGE_NO_PROFILE', 'no profile: pass --profile NAME (repeatable)');
  const profiles: Profile[] = [];
  for (const name of names) {
    const p = await loadProfile(name);
    if (!profiles.some((q) => q.name === p.name && q.file === p.file)) profiles.push(p);
  }
  for (let i = 0; i < profiles.length; i++) {
    for (const c of profiles[i]!.companions)
      if (!profiles.some((p) => p.name === c)) profiles.push(await loadCompanion(profiles[i]!, c));
  }
  for (const p of profiles) verifyStackKind(p);
  return profiles;
}

async function createBundleInner(opts: CreateOptions): Promise<CreateResult> {
  const b = await startBuild(opts);
  // The installer and its Node.js runtime (~100 MiB, written and fsynced) go in while the images
  // are pulled: the disk works while the network and the hashing threads do.
  opts.progress.step('adding the installer and a Node.js runtime');
  const installer = writeInstaller(b);
  installer.catch(() => undefined); // awaited below; a pull failing first must not leave it unhandled
  let pulled: Pulled;
  try {
    pulled = await pullIntoLayout(b);
  } finally {
    // On a failure, nothing is written after this function has returned.
    await installer.catch(() => undefined);
  }
  const sigstoreTrustedRoot = await verifyUpstreamProvenance(b, pulled.images);
  await addProfiles(b);
  await installer;
  opts.progress.step('listing every file');
  const manifest = await writeSignedManifest(b, { ...pulled, sigstoreTrustedRoot }, await listBundleFiles(b));
  opts.progress.step(`bundle written to ${b.out}: ${pulled.images.length} images, ${manifest.files.length} files`);
  return {
    dir: b.out,
    manifest,
    bytes: pulled.bytes,
    blobsFetched: pulled.blobsFetched,
    blobsSkipped: pulled.blobsSkipped,
  };
}

/** Before anything is pulled: the profiles and their templates; then the output directory, marked incomplete. */
async function startBuild(opts: CreateOptions): Promise<BundleBuild> {
  const platform = opts.platform ?? hostPlatform();
  const profiles = await loadBundleProfiles(opts.profiles);
  const templateDirs = new Map(profiles.map((p) => [p.name, templatesDirFor(p)]));
  const out = path.resolve(opts.out);
  await prepareOut(out, opts.force ?? false);
  return { opts, out, platform, profiles, templateDirs, known: new Map() };
}

async function writeInstaller(b: BundleBuild): Promise<void> {
  const root = packageRoot();
  const js = root ? path.join(root, 'dist', 'installer', 'rekor-airgap.mjs') : undefined;
  if (!js || !(await exists(js))) {
    throw new AirgapError(
      'BUNDLE_INSTALLER_MISSING',
      `the bundled installer ${js ?? 'dist/installer/rekor-airgap.mjs'} is missing; run npm run build`,
    );
  }
  await copyFileAtomic(js, bundlePath.installerJs(b.out), { mode: 0o644 });
  const runtime = await resolveNodeRuntime({
    platform: b.platform,
    explicit: b.opts.nodeRuntime,
    npmRegistry: b.opts.npmRegistry,
    ca: b.opts.access.ca,
  });
  // The runtime (~100 MiB) is hashed while it is copied, not read a second time for bundle.json.
  const h = createHash('sha256');
  const size = await copyFileAtomic(runtime, bundlePath.nodeRuntime(b.out), {
    mode: 0o755,
    through: (x) => h.update(x),
  });
  b.known.set(BundleLayout.NODE_RUNTIME, { size, sha256: h.digest('hex') });
  await copyFileAtomic(path.join(root!, 'templates', 'install.sh'), bundlePath.installSh(b.out), { mode: 0o755 });
}

/** Each profile's file, its templates and its artifacts. */
async function addProfiles(b: BundleBuild): Promise<void> {
  for (const p of b.profiles) {
    await copyFileAtomic(p.file, bundlePath.profile(b.out, p.name), { mode: 0o644 });
    await fsp.rm(bundlePath.templates(b.out, p.name), { recursive: true, force: true });
    for (const t of p.templates) {
      const src = path.join(b.templateDirs.get(p.name)!, t);
      await copyFileAtomic(src, path.join(bundlePath.templates(b.out, p.name), t), {
        mode: (await fsp.stat(src)).mode & 0o777,
      });
    }
    for (const a of p.artifacts) {
      b.opts.progress.step(`fetching artifact ${a.name}`);
      const data = await fetchArtifact(a, b.opts.access.mirrors, b.opts.access.ca);
      await writeFileAtomic(bundlePath.artifact(b.out, a.name), data);
    }
  }
}

/** Every file of the bundle with its size and SHA-256, for bundle.json. */
async function listBundleFiles(b: BundleBuild): Promise<BundleFile[]> {
  const files: BundleFile[] = [];
  const rels = await listFiles(b.out, (rel) => UNLISTED_FILES.has(rel) || rel === BundleLayout.INCOMPLETE_MARKER);
  for (const rel of rels) {
    // An image blob's name is its SHA-256, checked as it was written (or, kept from an earlier
    // run, checked again then); unreferenced blobs were removed. Other files are hashed now,
    // unless hashed while they were written.
    const blob = /^images\/blobs\/sha256\/([a-f0-9]{64})$/.exec(rel);
    const done = b.known.get(rel);
    if (blob) files.push({ path: rel, size: (await fsp.stat(path.join(b.out, rel))).size, sha256: blob[1]! });
    else if (done) files.push({ path: rel, ...done });
    else {
      const h = await hashFile(path.join(b.out, rel));
      files.push({ path: rel, size: h.size, sha256: h.sha256 });
    }
  }
  return files;
}

/** bundle.json, then its signature; the incomplete marker goes last: from then on it is a bundle. */
async function writeSignedManifest(
  b: BundleBuild,
  pulled: Pulled & { sigstoreTrustedRoot: string | undefined },
  files: BundleFile[],
): Promise<BundleManifest> {
  const companions = b.profiles.filter((p) => p.companionOf !== undefined).map((p) => p.name);
  const manifest: BundleManifest = {
    formatVersion: BUNDLE_FORMAT_VERSION,
    createdAt: creationTime().toISOString(),
    tool: { name: 'rekor-airgap', version: TOOL_VERSION },
    platform: formatPlatform(b.platform),
    profiles: b.profiles.map((p) => p.name),
    releases: Object.fromEntries(b.profiles.map((p) => [p.name, b.opts.release ?? p.release])),
    ...(companions.length ? { companions } : {}),
    images: pulled.images,
    ...(pulled.charts.length ? { charts: pulled.charts } : {}),
    ...(pulled.sigstoreTrustedRoot ? { sigstoreTrustedRoot: pulled.sigstoreTrustedRoot } : {}),
    files,
  };
  const text = serializeManifest(manifest);
  await writeFileAtomic(bundlePath.manifest(b.out), text);
  await writeFileAtomic(bundlePath.signature(b.out), signDetached(Buffer.from(text), b.opts.signingKey));
  await fsp.rm(bundlePath.marker(b.out), { force: true });
  return manifest;
}
