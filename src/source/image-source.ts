/**
 * Where a bundle's images come from: a registry, daemonless (the default), or the local engine
 * (`bundle create --source docker`, for credentials kept in the daemon). Each copies one
 * platform's image into the bundle's OCI layout, every blob verified as it is written.
 */
import type { OciLayoutWriter } from '../oci/layout.js';
import type { Platform } from '../oci/media-types.js';
import type { ImageRef } from '../ref/image-ref.js';
import type { PulledImage } from '../registry/pull.js';

export interface ImageCopy {
  ref: ImageRef;
  /** The upstream reference as the profile names it, for messages and the layout's annotations. */
  displayRef: string;
  platform: Platform;
  layout: OciLayoutWriter;
  /** The image's size, once its manifest is read (not every source knows it in advance). */
  onTotal?: (total: number) => void;
  onBlob?: (event: { digest: string; size: number; skipped: boolean }) => void;
  onBytes?: (n: number) => void;
}

export interface ImageSource {
  /** `host/repository` the image is read from: its mirror when one is set. */
  locate(ref: ImageRef): string;
  pull(copy: ImageCopy): Promise<PulledImage>;
}
