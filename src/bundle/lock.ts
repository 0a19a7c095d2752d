/**
 * Lock files (`<profile>.lock.json` next to the profile): the digest each image tag resolved to.
 * `bundle create` with a lock refuses any drift.
 */
import { AirgapError } from '../errors.js';
import { canonicalJson } from '../util/canonical-json.js';
import { writeFileAtomic } from '../util/atomic-file.js';
import { isMissingFile, readRegularFile } from '../util/bounded-read.js';
import { readUntrustedJson } from '../util/untrusted-json.js';
import type { Profile } from './profile.js';
import { SHA256_DIGEST_PATTERN } from '../util/sha256.js';

export interface LockFile {
  profile: string;
  images: Record<string, { digest: string }>;
}

export function lockPathFor(profile: Profile): string {
  return profile.file.replace(/\.ya?ml$/, '') + '.lock.json';
}

/** A lock file pins a few images: far below this. */
const MAX_LOCK_FILE = 4 * 1024 * 1024;

/**
 * The lock file, or undefined when there is none (only a file that does not exist is "none"): one
 * that cannot be read (permissions, a link, a directory, too large) or is not a lock file is
 * PROFILE_LOCK_INVALID naming it, never a silent bundle without the drift check.
 */
export async function readLock(file: string): Promise<LockFile | undefined> {
  let bytes: Buffer;
  try {
    bytes = await readRegularFile(file, MAX_LOCK_FILE, 'PROFILE_LOCK_INVALID', 'the lock file');
  } catch (e) {
    if (isMissingFile(e)) return undefined;
    throw e;
  }
  return parseLock(bytes, file);
}

/** A lock file's bytes as a lock, or PROFILE_LOCK_INVALID naming the file and the field. */
export function parseLock(bytes: Uint8Array | string, file: string): LockFile {
  const v = readUntrustedJson(
    bytes,
    { what: `the lock file ${file}`, code: 'PROFILE_LOCK_INVALID' },
    { maxBytes: MAX_LOCK_FILE },
  );
  const images: LockFile['images'] = {};
  const pins = v.at('images');
  for (const ref of pins.keys()) {
    Object.defineProperty(images, ref, {
      value: { digest: pins.at(ref).at('digest').string(SHA256_DIGEST_PATTERN) },
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return { profile: v.at('profile').optString() ?? '', images };
}

export async function writeLock(file: string, lock: LockFile): Promise<void> {
  await writeFileAtomic(file, canonicalJson(lock));
}

/** Throws BUNDLE_LOCK_DRIFT naming both digests when a tag now resolves elsewhere. */
export function checkLock(lock: LockFile, lockFile: string, ref: string, resolved: string): void {
  const pinned = Object.prototype.hasOwnProperty.call(lock.images, ref) ? lock.images[ref] : undefined;
  if (!pinned)
    throw new AirgapError('BUNDLE_LOCK_DRIFT', `${ref} is not in the lock file ${lockFile}; run bundle lock again`);
  if (pinned.digest !== resolved) {
    throw new AirgapError(
      'BUNDLE_LOCK_DRIFT',
      `${ref} drifted: the lock file ${lockFile} pins ${pinned.digest}, the registry now serves ${resolved}`,
      { details: { ref, locked: pinned.digest, resolved } },
    );
  }
}
