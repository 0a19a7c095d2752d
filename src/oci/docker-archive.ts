/**
 * The docker-archive `manifest.json` that sits beside the OCI layout, so `docker load` of the same
 * blob store works on Docker Engine 20.10+ (the loaded image ID equals the config digest).
 */
import { blobRelPath } from './layout.js';

export const DOCKER_ARCHIVE_MANIFEST = 'manifest.json';

export interface DockerArchiveEntry {
  Config: string;
  RepoTags: string[];
  Layers: string[];
}

export function dockerArchiveEntry(
  configDigest: string,
  layerDigests: readonly string[],
  repoTags: readonly string[],
): DockerArchiveEntry {
  return {
    Config: blobRelPath(configDigest),
    RepoTags: [...repoTags],
    Layers: layerDigests.map(blobRelPath),
  };
}
