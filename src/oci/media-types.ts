export const MediaType = {
  OCI_INDEX: 'application/vnd.oci.image.index.v1+json',
  OCI_MANIFEST: 'application/vnd.oci.image.manifest.v1+json',
  OCI_CONFIG: 'application/vnd.oci.image.config.v1+json',
  DOCKER_LIST: 'application/vnd.docker.distribution.manifest.list.v2+json',
  DOCKER_MANIFEST: 'application/vnd.docker.distribution.manifest.v2+json',
  DOCKER_CONFIG: 'application/vnd.docker.container.image.v1+json',
} as const;

export const MANIFEST_ACCEPT = [
  MediaType.OCI_INDEX,
  MediaType.DOCKER_LIST,
  MediaType.OCI_MANIFEST,
  MediaType.DOCKER_MANIFEST,
].join(', ');

export function isIndexType(mt: string | undefined): boolean {
  return mt === MediaType.OCI_INDEX || mt === MediaType.DOCKER_LIST;
}

export function isManifestType(mt: string | undefined): boolean {
  return mt === MediaType.OCI_MANIFEST || mt === MediaType.DOCKER_MANIFEST;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
}

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
}

export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
}

/** Helm charts stored as OCI artifacts (Helm 3.8+ `helm push`). */
export const HelmMediaType = {
  CONFIG: 'application/vnd.cncf.helm.config.v1+json',
  CHART: 'application/vnd.cncf.helm.chart.content.v1.tar+gzip',
  PROVENANCE: 'application/vnd.cncf.helm.chart.provenance.v1.prov',
} as const;
