/**
 * Copies one image from a registry into an OCI layout: manifest (choosing the platform from an
 * index) → config and layers, each verified while it streams, in parallel, skipped when already
 * present and verified (so an interrupted run resumes), retried when a stream breaks.
 */
import { AirgapError } from '../errors.js';
import { asStreamBroken, withRetry } from '../util/retry.js';
import type { OciLayoutWriter } from '../oci/layout.js';
import { isIndexType, isManifestType, type Descriptor, type ImageManifest, type Platform } from '../oci/media-types.js';
import { mapLimit } from '../util/pool.js';
import { toOciManifest } from '../oci/convert.js';
import { parseImageConfigPlatform, parseImageIndex, parseImageManifest } from '../oci/manifest-parse.js';
import type { RegistryClient } from './client.js';
import { formatPlatform, selectPlatform } from './platform.js';
import { printable } from '../util/untrusted-text.js';

export interface PulledImage {
  /** Digest the tag resolved to (the index when multi-platform). */
  resolvedDigest: string;
  manifest: Descriptor;
  /** The manifest index.json points at: the OCI form of `manifest`. */
  layoutManifest: Descriptor;
  manifestJson: ImageManifest;
  configDigest: string;
  layers: Descriptor[];
  platform: string;
  /** Bytes of manifest + config + layers. */
  size: number;
}

/** Blobs of one repository of a registry, copied into an OCI layout. */
interface RepositoryCopy {
  /** The repository on the client's registry (a mirror's, when the reference is mirrored). */
  repo: string;
  /** The upstream reference, for messages. */
  displayRef: string;
  /** Where the blobs are written, each verified. */
  layout: OciLayoutWriter;
  /** Blobs fetched at a time. */
  concurrency: number;
  onBlob?: (event: { digest: string; size: number; skipped: boolean }) => void;
  onBytes?: (n: number) => void;
}

export interface LayerFetch extends RepositoryCopy {
  layers: readonly Descriptor[];
}

export interface ImagePull extends RepositoryCopy {
  /** The tag or digest asked of the registry. */
  reference: string;
  /** The platform chosen from an index; a single-platform image must be of it. */
  platform: Platform;
  /** Called once the layers' total size is known. */
  onTotal?: (bytes: number) => void;
}

/**
 * Copies layers (blobs) into the layout, `concurrency` at a time: one already present and verified is
 * skipped, one whose stream breaks is fetched again, one that does not match its digest is refused.
 */
export async function fetchLayers(client: RegistryClient, opts: LayerFetch): Promise<void> {
  const { repo, displayRef, layers, layout } = opts;
  await mapLimit(layers, opts.concurrency, async (layer) => {
    if (await layout.hasBlob(layer)) {
      opts.onBlob?.({ digest: layer.digest, size: layer.size, skipped: true });
      opts.onBytes?.(layer.size);
      return;
    }
    await withRetry(async () => {
      let written = 0;
      try {
        const stream = await client.blob(repo, layer.digest, layer.size);
        await layout.putBlob(layer, stream, (n) => {
          written += n;
          opts.onBytes?.(n);
        });
      } catch (e) {
        opts.onBytes?.(-written);
        const code = (e as AirgapError).code;
        if (code === 'OCI_DIGEST_MISMATCH' || code === 'OCI_SIZE_MISMATCH') {
          throw new AirgapError(
            'REGISTRY_DIGEST_MISMATCH',
            `${displayRef}: layer from ${client.host} does not match its digest: ${(e as Error).message}`,
            { cause: e },
          );
        }
        throw asStreamBroken(e, 'REGISTRY', `${displayRef}: layer ${layer.digest} from ${client.host}`);
      }
    });
    opts.onBlob?.({ digest: layer.digest, size: layer.size, skipped: false });
  });
}

export async function pullImage(client: RegistryClient, opts: ImagePull): Promise<PulledImage> {
  const { repo, reference, displayRef, layout } = opts;
  const top = await client.manifest(repo, reference);
  let manifestBytes = top.bytes;
  let manifestDesc: Descriptor = { mediaType: top.mediaType, digest: top.digest, size: top.bytes.length };
  if (isIndexType(top.mediaType)) {
    const index = parseImageIndex(top.bytes, `index of ${displayRef}`);
    const chosen = selectPlatform(index, opts.platform, displayRef);
    const m = await client.manifest(repo, chosen.digest);
    manifestBytes = m.bytes;
    manifestDesc = { mediaType: m.mediaType || chosen.mediaType, digest: m.digest, size: m.bytes.length };
  } else if (!isManifestType(top.mediaType)) {
    throw new AirgapError(
      'REGISTRY_UNSUPPORTED_MANIFEST',
      `${displayRef}: unsupported manifest type ${printable(top.mediaType, { max: 100 }) || '(none)'} (Docker schema 2 and OCI are supported)`,
    );
  }
  const manifest = parseImageManifest(manifestBytes, `manifest of ${displayRef}`);
  const config = await client.blobBytes(repo, manifest.config.digest);
  const configJson = parseImageConfigPlatform(config, `config of ${displayRef}`);
  const platform = formatPlatform({
    os: configJson.os ?? 'unknown',
    architecture: configJson.architecture ?? 'unknown',
    ...(configJson.variant ? { variant: configJson.variant } : {}),
  });
  if (
    !isIndexType(top.mediaType) &&
    (configJson.os !== opts.platform.os || configJson.architecture !== opts.platform.architecture)
  ) {
    throw new AirgapError(
      'REGISTRY_PLATFORM_NOT_FOUND',
      `${displayRef} is a single-platform image for ${platform}, not ${formatPlatform(opts.platform)}`,
      { details: { available: [platform] } },
    );
  }
  await layout.putBytes(config, manifest.config.mediaType);
  opts.onTotal?.(manifest.layers.reduce((a, l) => a + l.size, 0));

  await fetchLayers(client, { ...opts, layers: manifest.layers });
  // The upstream manifest is kept (its digest is what was pinned); the layout references its OCI form.
  await layout.putBytes(manifestBytes, manifestDesc.mediaType);
  const oci = toOciManifest(manifest, manifestBytes, manifestDesc.mediaType);
  const layoutManifest = await layout.putBytes(oci.bytes, oci.mediaType);
  const size = manifestBytes.length + config.length + manifest.layers.reduce((a, l) => a + l.size, 0);
  return {
    resolvedDigest: top.digest,
    manifest: manifestDesc,
    layoutManifest,
    manifestJson: manifest,
    configDigest: manifest.config.digest,
    layers: manifest.layers,
    platform,
    size,
  };
}
