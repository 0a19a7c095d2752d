/**
 * What an archive entry may be, decided from its header alone, before any byte is written:
 * only regular files, at safe relative paths, listed once in the signed manifest, with its size.
 */
import { AirgapError } from '../errors.js';
import type { BundleFile } from '../bundle/manifest.js';
import { isSafeRelativePath } from '../util/safe-path.js';
import type { TarEntryHeader } from '../util/tar.js';

const TYPE_NAMES: Record<string, string> = {
  '1': 'hard link',
  '2': 'symbolic link',
  '3': 'character device',
  '4': 'block device',
  '5': 'directory',
  '6': 'FIFO',
  x: 'PAX header',
  g: 'PAX global header',
  L: 'GNU long name',
  K: 'GNU long link',
};

/** Returns the manifest entry the header may be written as, or the fault that forbids it. */
export function checkEntry(
  h: TarEntryHeader,
  listed: ReadonlyMap<string, BundleFile>,
  seen: Set<string>,
): BundleFile | AirgapError {
  const shown = JSON.stringify(h.path);
  if (h.type !== '0') {
    const kind = TYPE_NAMES[h.type] ?? `type ${JSON.stringify(h.type)}`;
    return new AirgapError(
      'MEDIA_UNSAFE_ENTRY',
      `${shown}: a ${kind}${h.linkname ? ` to ${JSON.stringify(h.linkname)}` : ''} is not allowed in a bundle`,
    );
  }
  if (h.path.startsWith('/') || h.path.split('/').includes('..') || !isSafeRelativePath(h.path)) {
    return new AirgapError('MEDIA_UNSAFE_PATH', `${shown}: absolute paths, .. and odd names are not allowed`);
  }
  if (seen.has(h.path)) return new AirgapError('MEDIA_DUPLICATE_ENTRY', `${shown}: appears twice in the archive`);
  seen.add(h.path);
  const f = listed.get(h.path);
  if (!f) return new AirgapError('MEDIA_UNLISTED_ENTRY', `${shown}: not listed in the signed bundle.json`);
  if (f.size !== h.size) return new AirgapError('MEDIA_SIZE_MISMATCH', `${h.path}: size ${h.size} expected ${f.size}`);
  return f;
}
