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
import { dockerArchiveEntry, DOCKER_ARCHIVE_MANIFEST } from '../oci/docker-archive.js';
import { OciLayoutWriter, REF_NAME_ANNOTATION } from '../oci/layout.js';
import type { Descriptor, Platform } from '../oci/media-types.js';
import { parseImageRef } from '../ref/image-ref.js';
import { formatPlatform, hostPlatform } from '../registry/platform.js';
import { pullImage } from '../registry/pull.js';
import { pullChart } from '../registry/pull-chart.js';
import { connectEngine } from '../engine/docker.js';
import { pullViaEngine } from '../engine/docker-source.js';
import { copyFileAtomic, diskFullError, exists, writeFileAtomic } from '../util/atomic-file.js';
import { packageRoot, TOOL_VERSION } from '../util/package-root.js';
import type { Progress } from '../util/progress.js';
import { listFiles } from '../util/walk.js';
import { fetchArtifact } from './artifacts.js';
import { resolveNodeRuntime } from './node-runtime.js';
import { bundlePath, BundleLayout, UNLISTED_FILES } from './layout.js';
import { checkLock, lockPathFor, readLock } from './lock.js';
import { BUNDLE_FORMAT_VERSION, serializeManifest, type BundleChart, type BundleFile, type BundleImage, type BundleManifest } from './manifest.js';
import { loadProfile, templatesDirFor, verifyStackKind, type Profile } from './profile.js';
import { RegistryPool, type RegistryAccess } from './registry-source.js';
import { signDetached } from './sign-detached.js';

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
  /** Where images come from: registries (daemonless, default) or the local Docker engine. */
  source?: 'registry' | 'docker';
  /** Also carry the Helm charts the profiles list (for Kubernetes sites). */
  withCharts?: boolean;
  /** More charts to carry (registry/repository:version[@sha256:…]), for every profile of the bundle. */
  charts?: string[];
}

export interface CreateResult {
  dir: string;
  manifest: BundleManifest;
  bytes: number;
  blobsSkipped: number;
  blobsFetched: number;
}

export function creationTime(): Date {
  const sde = process.env.SOURCE_DATE_EPOCH;
  if (sde !== undefined && sde !== '') {
    if (!/^\d+$/.test(sde)) throw new AirgapError('USAGE_BAD_SOURCE_DATE_EPOCH', `SOURCE_DATE_EPOCH=${sde} is not a number of seconds`);
    return new Date(Number(sde) * 1000);
  }
  return new Date();
}

async function prepareOut(out: string, force: boolean): Promise<void> {
  const complete = (await exists(bundlePath.manifest(out))) && !(await exists(bundlePath.marker(out)));
  if (complete && !force) {
    throw new AirgapError('USAGE_OUT_EXISTS', `${out} already holds a complete bundle; choose another --out or pass --force to rebuild it`);
  }
  await fsp.mkdir(out, { recursive: true });
  await writeFileAtomic(bundlePath.marker(out), 'bundle create in progress; this directory is not a bundle yet\n');
  await fsp.rm(bundlePath.manifest(out), { force: true });
  await fsp.rm(bundlePath.signature(out), { force: true });
}


async function writeInstaller(out: string, platform: Platform, nodeRuntime: string | undefined, npmRegistry: string | undefined, ca: string | undefined, known: Map<string, { size: number; sha256: string }>): Promise<void> {
  const root = packageRoot();
  const js = root ? path.join(root, 'dist', 'installer', 'rekor-airgap.mjs') : undefined;
  if (!js || !(await exists(js))) {
    throw new AirgapError('BUNDLE_INSTALLER_MISSING', `the bundled installer ${js ?? 'dist/installer/rekor-airgap.mjs'} is missing; run npm run build`);
  }
  await copyFileAtomic(js, bundlePath.installerJs(out), { mode: 0o644 });
  const runtime = await resolveNodeRuntime({ platform, explicit: nodeRuntime, npmRegistry, ca });
  // The runtime (~100 MiB) is hashed while it is copied, not read a second time for bundle.json.
  const h = createHash('sha256');
  const size = await copyFileAtomic(runtime, bundlePath.nodeRuntime(out), { mode: 0o755, through: (b) => h.update(b) });
  known.set(BundleLayout.NODE_RUNTIME, { size, sha256: h.digest('hex') });
  await copyFileAtomic(path.join(root!, 'templates', 'install.sh'), bundlePath.installSh(out), { mode: 0o755 });
}

export async function createBundle(opts: CreateOptions): Promise<CreateResult> {
  try {
    return await createBundleInner(opts);
  } catch (e) {
    const mapped = diskFullError(e, path.resolve(opts.out));
    if (mapped instanceof AirgapError && mapped.code === 'BUNDLE_WRITE_DISK_FULL') {
      throw new AirgapError('BUNDLE_WRITE_DISK_FULL', `no space left while writing the bundle in ${path.resolve(opts.out)}; it stays unsigned and incomplete (free space, then run the same command again to resume)`, { cause: e });
    }
    throw e;
  }
}

/** The profiles of a bundle, each naming a stack this tool installs; checked before anything is written. */
export async function loadBundleProfiles(names: readonly string[]): Promise<Profile[]> {
  if (names.length === 0) throw new AirgapError('USAGE_NO_PROFILE', 'no profile: pass --profile NAME (repeatable)');
  const profiles: Profile[] = [];
  for (const name of names) {
    const p = await loadProfile(name);
    verifyStackKind(p);
    profiles.push(p);
  }
  return profiles;
}

async function createBundleInner(opts: CreateOptions): Promise<CreateResult> {
  const { progress } = opts;
  const platform = opts.platform ?? hostPlatform();
  const profiles = await loadBundleProfiles(opts.profiles);
  // Before anything is pulled: each profile's templates are where they must be.
  const templateDirs = new Map(profiles.map((p) => [p.name, templatesDirFor(p)]));
  const out = path.resolve(opts.out);
  await prepareOut(out, opts.force ?? false);
  // The installer and its Node.js runtime (~100 MiB, written and fsynced) go in while the images
  // are pulled: the disk works while the network and the hashing threads do.
  progress.step('adding the installer and a Node.js runtime');
  const known = new Map<string, { size: number; sha256: string }>();
  const installer = writeInstaller(out, platform, opts.nodeRuntime, opts.npmRegistry, opts.access.ca, known);
  installer.catch(() => undefined); // awaited below; a pull failing first must not leave it unhandled

  const wanted = byReference(profiles, (p) => p.images);
  const locks = new Map<string, { file: string; lock: Awaited<ReturnType<typeof readLock>> }>();
  for (const p of profiles) {
    if (opts.lock === 'none') continue;
    const file = opts.lock && opts.lock !== 'auto' ? opts.lock : lockPathFor(p);
    const lock = await readLock(file);
    if (!lock && opts.lock && opts.lock !== 'auto') throw new AirgapError('USAGE_LOCK_MISSING', `lock file ${file} does not exist`);
    if (lock) locks.set(p.name, { file, lock });
  }

  const pool = new RegistryPool(opts.access);
  const layout = new OciLayoutWriter(bundlePath.images(out));
  await layout.init();
  const images: BundleImage[] = [];
  const indexEntries: Descriptor[] = [];
  const archive = [];
  let fetched = 0;
  let skipped = 0;
  let bytes = 0;
  let charts: BundleChart[];
  try {
    for (const [refText, w] of [...wanted.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const ref = parseImageRef(refText);
      const { client, repository } = pool.sourceFor(ref);
      const source = `${client.host}/${repository}`;
      progress.step(`pulling ${refText}${source !== `${ref.registry}/${ref.repository}` ? ` from ${source}` : ''} (${formatPlatform(platform)})`);
      const pulled = opts.source === 'docker'
        ? await pullViaEngine(connectEngine(), `${source}${ref.digest ? `@${ref.digest}` : `:${ref.tag}`}`, refText, platform, layout, (n) => progress.addBytes(n))
        : await pullImage(client, repository, ref.tag ?? ref.digest!, refText, layout, {
          platform,
          concurrency: opts.access.concurrency,
          onTotal: (total) => progress.startBytes(refText, total),
          onBlob: (e) => { if (e.skipped) skipped++; else fetched++; },
          onBytes: (n) => progress.addBytes(n),
        });
      progress.endBytes();
      for (const pname of w.profiles) {
        const l = locks.get(pname);
        if (l?.lock) checkLock(l.lock, l.file, refText, pulled.resolvedDigest);
      }
      bytes += pulled.size;
      images.push({
        name: w.name, ref: refText, digest: pulled.resolvedDigest, manifestDigest: pulled.manifest.digest,
        layoutManifestDigest: pulled.layoutManifest.digest, configDigest: pulled.configDigest, platform: pulled.platform, size: pulled.size,
        source: `${source}:${ref.tag ?? ''}`.replace(/:$/, ''), profiles: w.profiles,
      });
      indexEntries.push({ ...pulled.layoutManifest, annotations: { [REF_NAME_ANNOTATION]: refText } });
      archive.push(dockerArchiveEntry(pulled.configDigest, pulled.layers.map((l) => l.digest), [refText]));
    }
    charts = await pullCharts(opts, profiles, pool, layout, indexEntries);
    await writeFileAtomic(path.join(bundlePath.images(out), DOCKER_ARCHIVE_MANIFEST), JSON.stringify(archive, null, 2) + '\n');
    await layout.writeIndex(indexEntries);
    await removeStrayBlobs(layout, images, charts);
  } finally {
    await layout.close();
    // On a failure, nothing is written after this function has returned.
    await installer.catch(() => undefined);
  }

  // Profiles, templates and artifacts.
  for (const p of profiles) {
    await copyFileAtomic(p.file, bundlePath.profile(out, p.name), { mode: 0o644 });
    await fsp.rm(bundlePath.templates(out, p.name), { recursive: true, force: true });
    for (const t of p.templates) {
      const src = path.join(templateDirs.get(p.name)!, t);
      await copyFileAtomic(src, path.join(bundlePath.templates(out, p.name), t), { mode: (await fsp.stat(src)).mode & 0o777 });
    }
    for (const a of p.artifacts) {
      progress.step(`fetching artifact ${a.name}`);
      const data = await fetchArtifact(a, opts.access.mirrors, opts.access.ca);
      await writeFileAtomic(bundlePath.artifact(out, a.name), data);
    }
  }
  await installer;

  progress.step('listing every file');
  const files: BundleFile[] = [];
  const rels = await listFiles(out, (rel) => UNLISTED_FILES.has(rel) || rel === BundleLayout.INCOMPLETE_MARKER);
  for (const rel of rels) {
    // An image blob's name is its SHA-256, checked as it was written (or, kept from an earlier
    // run, checked again then); unreferenced blobs were removed. Other files are hashed now,
    // unless hashed while they were written.
    const blob = /^images\/blobs\/sha256\/([a-f0-9]{64})$/.exec(rel);
    const done = known.get(rel);
    if (blob) files.push({ path: rel, size: (await fsp.stat(path.join(out, rel))).size, sha256: blob[1]! });
    else if (done) files.push({ path: rel, ...done });
    else {
      const h = await hashFile(path.join(out, rel));
      files.push({ path: rel, size: h.size, sha256: h.sha256 });
    }
  }
  const manifest: BundleManifest = {
    formatVersion: BUNDLE_FORMAT_VERSION,
    createdAt: creationTime().toISOString(),
    tool: { name: 'rekor-airgap', version: TOOL_VERSION },
    platform: formatPlatform(platform),
    profiles: profiles.map((p) => p.name),
    releases: Object.fromEntries(profiles.map((p) => [p.name, opts.release ?? p.release])),
    images,
    ...(charts.length ? { charts } : {}),
    files,
  };
  const text = serializeManifest(manifest);
  await writeFileAtomic(bundlePath.manifest(out), text);
  await writeFileAtomic(bundlePath.signature(out), signDetached(Buffer.from(text), opts.signingKey));
  await fsp.rm(bundlePath.marker(out), { force: true });
  progress.step(`bundle written to ${out}: ${images.length} images, ${files.length} files`);
  return { dir: out, manifest, bytes, blobsFetched: fetched, blobsSkipped: skipped };
}

/** What the profiles list (images, charts), deduplicated by reference: each with the profiles that want it. */
function byReference(profiles: Profile[], listed: (p: Profile) => ReadonlyArray<{ name: string; ref: string }>): Map<string, { name: string; profiles: string[] }> {
  const wanted = new Map<string, { name: string; profiles: string[] }>();
  for (const p of profiles) {
    for (const item of listed(p)) {
      const w = wanted.get(item.ref);
      if (w) w.profiles.push(p.name);
      else wanted.set(item.ref, { name: item.name, profiles: [p.name] });
    }
  }
  return wanted;
}

/** Helm charts: the profiles' (with --with-charts) and the ones asked for by reference. */
async function pullCharts(opts: CreateOptions, profiles: Profile[], pool: RegistryPool, layout: OciLayoutWriter, indexEntries: Descriptor[]): Promise<BundleChart[]> {
  const wanted = byReference(profiles, (p) => (opts.withCharts ? p.charts : []));
  for (const text of opts.charts ?? []) {
    const ref = parseImageRef(text);
    if (!ref.tag && !ref.digest) throw new AirgapError('USAGE_INVALID', `--chart ${text}: name the chart version (registry/repository:1.2.3)`);
    wanted.set(text, { name: ref.repository.split('/').pop()!, profiles: profiles.map((p) => p.name) });
  }
  const charts: BundleChart[] = [];
  for (const [refText, w] of [...wanted.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const ref = parseImageRef(refText);
    const { client, repository } = pool.sourceFor(ref);
    opts.progress.step(`pulling chart ${refText}${client.host !== ref.registry ? ` from ${client.host}/${repository}` : ''}`);
    const c = await pullChart(client, repository, ref.digest ?? ref.tag!, refText, layout);
    const recorded = ref.digest ? refText.replace(/@sha256:[a-f0-9]{64}$/, '') : refText;
    charts.push({ name: w.name, ref: recorded, digest: c.digest, chartDigest: c.chartDigest, configDigest: c.configDigest, version: c.version, size: c.size, profiles: w.profiles });
    indexEntries.push({ ...c.manifest, annotations: { [REF_NAME_ANNOTATION]: recorded } });
  }
  return charts;
}

/** A resumed or forced run may leave blobs no image needs any more; they must not be shipped. */
async function removeStrayBlobs(layout: OciLayoutWriter, images: BundleImage[], charts: BundleChart[]): Promise<void> {
  const keep = new Set<string>();
  for (const c of charts) {
    keep.add(c.digest.slice(7));
    const m = JSON.parse(await fsp.readFile(layout.blobPath(c.digest), 'utf8')) as { config: { digest: string }; layers: Array<{ digest: string }> };
    keep.add(m.config.digest.slice(7));
    for (const l of m.layers) keep.add(l.digest.slice(7));
  }
  const blobsDir = path.join(layout.root, 'blobs', 'sha256');
  for (const img of images) {
    keep.add(img.manifestDigest.slice(7));
    keep.add(img.layoutManifestDigest.slice(7));
    keep.add(img.configDigest.slice(7));
    const m = JSON.parse(await fsp.readFile(layout.blobPath(img.manifestDigest), 'utf8')) as { layers: Array<{ digest: string }> };
    for (const l of m.layers) keep.add(l.digest.slice(7));
  }
  for (const f of await fsp.readdir(blobsDir)) if (!keep.has(f)) await fsp.rm(path.join(blobsDir, f), { force: true });
}

