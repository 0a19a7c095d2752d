/**
 * What `bundle pack` writes at the front of every archive and in every header, as verification
 * rebuilds it: bundle.json and its signature as the first two entries, and each entry's tar header
 * with owner 0, the bundle's creation time as its mtime and mode 0644 or 0755. Pack writes with
 * these; both verification passes (fast-verify.ts, stream-verify.ts) compare against them.
 */
import type { BundleManifest } from '../bundle/manifest.js';
import { tarFileHeader } from '../util/tar.js';

/** The largest bundle.json (or signature) the streaming pass takes from the archive's front. */
export const MAX_HEAD_ENTRY_SIZE = 64 * 1024 * 1024;

/** The archive's first two entries, verified: the manifest, its bytes and its signature's. */
export interface ArchiveHead {
  manifest: BundleManifest;
  manifestText: Buffer;
  signatureText: Buffer;
}

/** Every entry's mtime: the bundle's creation time in whole seconds (0 when it does not parse). */
export function packMtime(createdAt: string): number {
  return Math.floor(Date.parse(createdAt) / 1000) || 0;
}

/** A test of a raw tar header: is it, byte for byte, the one pack writes for `name` of `size` bytes? */
export type PackHeaderTest = (raw: Buffer, name: string, size: number) => boolean;

/** The header test for an archive of the bundle created at `createdAt` (either file mode). */
export function packHeaderTest(createdAt: string): PackHeaderTest {
  const mtime = packMtime(createdAt);
  return (raw, name, size) =>
    raw.equals(tarFileHeader(name, size, 0o644, mtime)) || raw.equals(tarFileHeader(name, size, 0o755, mtime));
}
