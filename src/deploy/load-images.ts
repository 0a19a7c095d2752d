/**
 * Loads a profile's images into the engine straight from the bundle: a docker-archive tar
 * (manifest.json + the needed blobs) is generated on the fly, each blob re-hashed as it streams
 * (it was verified moments ago; this closes the gap between check and use). Images already
 * present with the right ID are skipped. Afterwards every image ID must equal its config digest.
 */
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import type Docker from 'dockerode';
import { AirgapError } from '../errors.js';
import { BundleLayout } from '../bundle/layout.js';
import type { BundleImage, BundleManifest } from '../bundle/manifest.js';
import { dockerArchiveEntry, DOCKER_ARCHIVE_MANIFEST } from '../oci/docker-archive.js';
import { blobRelPath } from '../oci/layout.js';
import { parseImageManifest } from '../oci/manifest-parse.js';
import { imageId, loadImages } from '../engine/docker.js';
import type { Progress } from '../util/progress.js';
import { TAR_END, tarFileHeader, tarPadding } from '../util/tar.js';
import { WorkerHasher } from '../util/hash-worker.js';

/** A profile's images, to load from a verified bundle. */
export interface ProfileImages {
  /** The bundle's directory: the blobs are streamed from its files. */
  bundleDir: string;
  /** The bundle's verified manifest: each blob's size and digest. */
  manifest: BundleManifest;
  /** The images to load (the profile's). */
  images: BundleImage[];
  /** A listed file's verified bytes (the image manifests are read through it). */
  readVerified: (rel: string) => Promise<Buffer>;
  progress: Progress;
}

export async function loadProfileImages(
  docker: Docker,
  p: ProfileImages,
): Promise<{ loaded: string[]; present: string[] }> {
  const { bundleDir, manifest, images, readVerified, progress } = p;
  const need: Array<{ img: BundleImage; layers: string[] }> = [];
  const present: string[] = [];
  for (const img of images) {
    if ((await imageId(docker, img.ref)) === img.configDigest) {
      present.push(img.ref);
      continue;
    }
    const rel = `${BundleLayout.IMAGES_DIR}/${blobRelPath(img.layoutManifestDigest)}`;
    const m = parseImageManifest(await readVerified(rel), rel);
    need.push({ img, layers: m.layers.map((l) => l.digest) });
  }
  if (need.length === 0) return { loaded: [], present };
  const files = new Map(manifest.files.map((f) => [f.path, f]));
  const archive = need.map((n) => dockerArchiveEntry(n.img.configDigest, n.layers, [n.img.ref]));
  const blobs = [...new Set(need.flatMap((n) => [n.img.configDigest, ...n.layers]))];
  const entries = blobs.map((d) => {
    const rel = `${BundleLayout.IMAGES_DIR}/${blobRelPath(d)}`;
    const f = files.get(rel);
    if (!f) throw new AirgapError('BUNDLE_FILE_MISSING', `${rel} (needed by an image) is not in the bundle`);
    return { name: blobRelPath(d), file: path.join(bundleDir, rel), size: f.size, sha256: f.sha256 };
  });
  const total = entries.reduce((a, e) => a + e.size, 0);
  progress.step(
    `loading ${need.length} image(s) into the engine (no registry): ${need.map((n) => n.img.ref).join(', ')}`,
  );
  progress.startBytes('loading images', total);
  async function* tar(): AsyncGenerator<Buffer> {
    const mj = Buffer.from(JSON.stringify(archive));
    yield tarFileHeader(DOCKER_ARCHIVE_MANIFEST, mj.length, 0o644, 0);
    yield mj;
    yield tarPadding(mj.length);
    for (const e of entries) {
      yield tarFileHeader(e.name, e.size, 0o644, 0);
      // Re-hashed as it streams (on the second core, so this one only moves bytes): a blob changed
      // since verification fails the load before the end of the archive, so nothing is loaded.
      const hash = hasher.start();
      let seen = 0;
      for await (const b of createReadStream(e.file, { highWaterMark: 4 * 1024 * 1024 })) {
        const buf = b as Buffer;
        seen += buf.length;
        if (seen > e.size) break;
        await hash.update(buf);
        progress.addBytes(buf.length);
        yield buf;
      }
      const got = await hash.digest();
      if (seen !== e.size || got !== e.sha256) {
        throw new AirgapError(
          'BUNDLE_FILE_DIGEST_MISMATCH',
          `${e.file}: ${seen !== e.size ? `size ${seen} expected ${e.size}` : `sha256 mismatch, expected ${e.sha256}, got ${got}`} (changed since the bundle was verified)`,
        );
      }
      yield tarPadding(e.size);
    }
    yield TAR_END;
  }
  const hasher = new WorkerHasher();
  let loaded: string[];
  try {
    loaded = await loadImages(docker, Readable.from(tar()));
  } finally {
    await hasher.close();
  }
  progress.endBytes();
  for (const n of need) {
    const id = await imageId(docker, n.img.ref);
    if (id !== n.img.configDigest) {
      throw new AirgapError(
        'ENGINE_IMAGE_MISMATCH',
        `${n.img.ref} loaded as ${id ?? '(nothing)'}, expected image ID ${n.img.configDigest}`,
      );
    }
  }
  return { loaded: loaded.length ? loaded : need.map((n) => n.img.ref), present };
}
