/**
 * The pulling step of `bundle create`: every image the profiles list (deduplicated by reference,
 * from its registry or mirror, or through the local engine), checked against the profiles' lock
 * files, then the Helm charts, into the bundle's one OCI layout — with its index and a docker-archive
 * manifest over the same blobs. Blobs a resumed or forced run left that nothing needs are removed.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { AirgapError } from '../errors.js';
import { engineSource } from '../source/engine-source.js';
import type { ImageSource } from '../source/image-source.js';
import { parseDigest } from '../oci/digest.js';
import { dockerArchiveEntry, DOCKER_ARCHIVE_MANIFEST, type DockerArchiveEntry } from '../oci/docker-archive.js';
import { OciLayoutWriter, REF_NAME_ANNOTATION } from '../oci/layout.js';
import type { Descriptor } from '../oci/media-types.js';
import { parseImageRef } from '../ref/image-ref.js';
import { formatPlatform } from '../registry/platform.js';
import { pullChart } from '../registry/pull-chart.js';
import { writeFileAtomic } from '../util/atomic-file.js';
import { readRegularFile, SMALL_JSON_LIMIT } from '../util/bounded-read.js';
import { readUntrustedJson } from '../util/untrusted-json.js';
import type { BundleBuild } from './create.js';
import { bundlePath } from './layout.js';
import { checkLock, lockPathFor, readLock, type LockFile } from './lock.js';
import type { BundleChart, BundleImage } from './manifest.js';
import type { Profile } from './profile.js';
import { RegistryPool, registrySource } from '../source/registry-source.js';

/** Everything pulled into the layout. */
export interface Pulled {
  images: BundleImage[];
  charts: BundleChart[];
  /** The images' bytes. */
  bytes: number;
  blobsFetched: number;
  blobsSkipped: number;
}

/** What the profiles list, by reference, with the profiles that want it. */
type Wanted = Map<string, { name: string; profiles: string[] }>;

/** Pulling into the bundle's OCI layout: the build, where its images come from, its registries (charts), the layout, the lock files by profile. */
interface Pulling {
  build: BundleBuild;
  source: ImageSource;
  pool: RegistryPool;
  layout: OciLayoutWriter;
  locks: Map<string, { file: string; lock: LockFile }>;
}

/** One image pulled: its bundle.json entry, its layout index entry, its docker-archive entry, blob counts. */
interface PulledImage {
  image: BundleImage;
  indexEntry: Descriptor;
  archiveEntry: DockerArchiveEntry;
  fetched: number;
  skipped: number;
}

/**
 * Every image, then the charts, into one OCI layout, with its index and a docker-archive manifest
 * over the same blobs; blobs no image or chart needs any more are removed.
 */
export async function pullIntoLayout(b: BundleBuild): Promise<Pulled> {
  const locks = await readLocks(b);
  const pool = new RegistryPool(b.opts.access);
  const layout = new OciLayoutWriter(bundlePath.images(b.out));
  await layout.init();
  const source = b.opts.engine
    ? engineSource(b.opts.engine.docker, b.opts.access.mirrors)
    : registrySource(pool, b.opts.access.concurrency);
  const p: Pulling = { build: b, source, pool, layout, locks };
  try {
    const pulled: PulledImage[] = [];
    for (const [refText, w] of sortedByRef(byReference(b.profiles, (x) => x.images)))
      pulled.push(await pullOneImage(p, refText, w));
    const charts = await pullCharts(p);
    const images = pulled.map((x) => x.image);
    await writeFileAtomic(
      path.join(bundlePath.images(b.out), DOCKER_ARCHIVE_MANIFEST),
      JSON.stringify(
        pulled.map((x) => x.archiveEntry),
        null,
        2,
      ) + '\n',
    );
    await layout.writeIndex([...pulled.map((x) => x.indexEntry), ...charts.map((c) => c.indexEntry)]);
    await removeStrayBlobs(
      layout,
      images,
      charts.map((c) => c.chart),
    );
    return {
      images,
      charts: charts.map((c) => c.chart),
      bytes: images.reduce((a, i) => a + i.size, 0),
      blobsFetched: pulled.reduce((a, x) => a + x.fetched, 0),
      blobsSkipped: pulled.reduce((a, x) => a + x.skipped, 0),
    };
  } finally {
    await layout.close();
  }
}

/**
 * Each profile's lock file: the one given, or `<profile>.lock.json` when it exists; none with
 * 'none'. A companion without a lock file of its own is held to the lock of the profile that
 * carries it (`bundle lock` pins a profile's companions in its lock too).
 */
async function readLocks(b: BundleBuild): Promise<Pulling['locks']> {
  const locks: Pulling['locks'] = new Map();
  if (b.opts.lock === 'none') return locks;
  for (const p of b.profiles) {
    const file = b.opts.lock && b.opts.lock !== 'auto' ? b.opts.lock : lockPathFor(p);
    const lock = await readLock(file);
    if (!lock && b.opts.lock && b.opts.lock !== 'auto')
      throw new AirgapError('USAGE_LOCK_MISSING', `lock file ${file} does not exist`);
    if (lock) locks.set(p.name, { file, lock });
  }
  for (const p of b.profiles) {
    const carrier = b.profiles.find((q) => q.companions.includes(p.name) && locks.has(q.name));
    if (!locks.has(p.name) && carrier) locks.set(p.name, locks.get(carrier.name)!);
  }
  return locks;
}

/** One image, from its registry (or mirror) or through the local engine; checked against the lock files of the profiles that want it. */
async function pullOneImage(
  p: Pulling,
  refText: string,
  w: { name: string; profiles: string[] },
): Promise<PulledImage> {
  const { opts, platform } = p.build;
  const { progress } = opts;
  const ref = parseImageRef(refText);
  const source = p.source.locate(ref);
  progress.step(
    `pulling ${refText}${source !== `${ref.registry}/${ref.repository}` ? ` from ${source}` : ''} (${formatPlatform(platform)})`,
  );
  const blobs = { fetched: 0, skipped: 0 };
  const pulled = await p.source.pull({
    ref,
    displayRef: refText,
    platform,
    layout: p.layout,
    onTotal: (total) => progress.startBytes(refText, total),
    onBlob: (e) => {
      if (e.skipped) blobs.skipped++;
      else blobs.fetched++;
    },
    onBytes: (n) => progress.addBytes(n),
  });
  progress.endBytes();
  for (const pname of w.profiles) {
    const l = p.locks.get(pname);
    if (l?.lock) checkLock(l.lock, l.file, refText, pulled.resolvedDigest);
  }
  const image: BundleImage = {
    name: w.name,
    ref: refText,
    digest: pulled.resolvedDigest,
    manifestDigest: pulled.manifest.digest,
    layoutManifestDigest: pulled.layoutManifest.digest,
    configDigest: pulled.configDigest,
    platform: pulled.platform,
    size: pulled.size,
    source: `${source}:${ref.tag ?? ''}`.replace(/:$/, ''),
    profiles: w.profiles,
  };
  return {
    image,
    indexEntry: { ...pulled.layoutManifest, annotations: { [REF_NAME_ANNOTATION]: refText } },
    archiveEntry: dockerArchiveEntry(
      pulled.configDigest,
      pulled.layers.map((l) => l.digest),
      [refText],
    ),
    ...blobs,
  };
}

/** What the profiles list (images, charts), deduplicated by reference: each with the profiles that want it. */
function byReference(
  profiles: Profile[],
  listed: (p: Profile) => ReadonlyArray<{ name: string; ref: string }>,
): Wanted {
  const wanted: Wanted = new Map();
  for (const p of profiles) {
    for (const item of listed(p)) {
      const w = wanted.get(item.ref);
      if (w) w.profiles.push(p.name);
      else wanted.set(item.ref, { name: item.name, profiles: [p.name] });
    }
  }
  return wanted;
}

function sortedByRef(wanted: Wanted): Array<[string, { name: string; profiles: string[] }]> {
  return [...wanted.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
}

/** Helm charts: the profiles' (with --with-charts) and the ones asked for by reference. */
async function pullCharts(p: Pulling): Promise<Array<{ chart: BundleChart; indexEntry: Descriptor }>> {
  const { opts, profiles } = p.build;
  const wanted = byReference(profiles, (x) => (opts.withCharts ? x.charts : []));
  for (const text of opts.charts ?? []) {
    const ref = parseImageRef(text);
    if (!ref.tag && !ref.digest)
      throw new AirgapError('USAGE_INVALID', `--chart ${text}: name the chart version (registry/repository:1.2.3)`);
    wanted.set(text, { name: ref.repository.split('/').pop()!, profiles: profiles.map((x) => x.name) });
  }
  const charts: Array<{ chart: BundleChart; indexEntry: Descriptor }> = [];
  for (const [refText, w] of sortedByRef(wanted)) {
    const ref = parseImageRef(refText);
    const { client, repository } = p.pool.sourceFor(ref);
    opts.progress.step(
      `pulling chart ${refText}${client.host !== ref.registry ? ` from ${client.host}/${repository}` : ''}`,
    );
    const c = await pullChart(client, repository, ref.digest ?? ref.tag!, refText, p.layout);
    const recorded = ref.digest ? refText.replace(/@sha256:[a-f0-9]{64}$/, '') : refText;
    charts.push({
      chart: {
        name: w.name,
        ref: recorded,
        digest: c.digest,
        chartDigest: c.chartDigest,
        configDigest: c.configDigest,
        version: c.version,
        size: c.size,
        profiles: w.profiles,
      },
      indexEntry: { ...c.manifest, annotations: { [REF_NAME_ANNOTATION]: recorded } },
    });
  }
  return charts;
}

/** A resumed or forced run may leave blobs no image needs any more; they must not be shipped. */
async function removeStrayBlobs(layout: OciLayoutWriter, images: BundleImage[], charts: BundleChart[]): Promise<void> {
  const keep = new Set<string>();
  for (const c of charts) {
    keep.add(parseDigest(c.digest));
    for (const d of await blobsNamedBy(layout, c.digest, { config: true })) keep.add(d);
  }
  for (const img of images) {
    for (const d of [img.manifestDigest, img.layoutManifestDigest, img.configDigest]) keep.add(parseDigest(d));
    for (const d of await blobsNamedBy(layout, img.manifestDigest, { config: false })) keep.add(d);
  }
  const blobsDir = path.join(layout.root, 'blobs', 'sha256');
  for (const f of await fsp.readdir(blobsDir)) if (!keep.has(f)) await fsp.rm(path.join(blobsDir, f), { force: true });
}

/**
 * The blobs (hex digests) a manifest stored in the layout names: its layers, and its config when
 * asked. The manifest came from a registry: it is read as untrusted JSON, bounded.
 */
export async function blobsNamedBy(
  layout: OciLayoutWriter,
  digest: string,
  want: { config: boolean },
): Promise<string[]> {
  const file = layout.blobPath(digest);
  const src = { what: `manifest ${digest} (${file})`, code: 'REGISTRY_BAD_MANIFEST' as const };
  const m = readUntrustedJson(await readRegularFile(file, SMALL_JSON_LIMIT, src.code, 'manifest'), src);
  const descriptors = [...(want.config ? [m.at('config')] : []), ...m.at('layers').list()];
  return descriptors.map((d) => parseDigest(d.at('digest').string(), `${src.what}: ${d.path}.digest`));
}
