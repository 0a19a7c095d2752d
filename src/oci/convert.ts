/**
 * Docker schema 2 → OCI image manifest, as `skopeo copy docker:// oci:` does: same blobs, OCI media
 * types. Older OCI tools find images in an index.json only by OCI manifest types.
 */
import { MediaType, type Descriptor, type ImageManifest } from './media-types.js';

const LAYER_TYPES: Record<string, string> = {
  'application/vnd.docker.image.rootfs.diff.tar.gzip': 'application/vnd.oci.image.layer.v1.tar+gzip',
  'application/vnd.docker.image.rootfs.diff.tar': 'application/vnd.oci.image.layer.v1.tar',
  'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip':
    'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
};

function desc(d: Descriptor, mediaType: string): Descriptor {
  return { mediaType, digest: d.digest, size: d.size, ...(d.annotations ? { annotations: d.annotations } : {}) };
}

/** Returns the manifest unchanged when it is already OCI; otherwise its OCI form (deterministic bytes). */
export function toOciManifest(
  m: ImageManifest,
  bytes: Buffer,
  mediaType: string,
): { bytes: Buffer; mediaType: string } {
  if (mediaType === MediaType.OCI_MANIFEST) return { bytes, mediaType };
  const oci = {
    schemaVersion: 2,
    mediaType: MediaType.OCI_MANIFEST,
    config: desc(m.config, MediaType.OCI_CONFIG),
    layers: m.layers.map((l) => desc(l, LAYER_TYPES[l.mediaType] ?? l.mediaType)),
  };
  return { bytes: Buffer.from(JSON.stringify(oci)), mediaType: MediaType.OCI_MANIFEST };
}
