/**
 * Lock files (`<profile>.lock.json` next to the profile): the digest each image tag resolved to.
 * `bundle create` with a lock refuses any drift.
 */
import { promises as fsp } from 'node:fs';
import { AirgapError } from '../errors.js';
import { canonicalJson } from '../util/canonical-json.js';
import { writeFileAtomic } from '../util/atomic-file.js';
import type { Profile } from './profile.js';

export interface LockFile {
  profile: string;
  images: Record<string, { digest: string }>;
}

export function lockPathFor(profile: Profile): string {
  return profile.file.replace(/\.ya?ml$/, '') + '.lock.json';
}

export async function readLock(file: string): Promise<LockFile | undefined> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const lock = JSON.parse(text) as LockFile;
    if (!lock.images || typeof lock.images !== 'object') throw new Error('no images');
    return lock;
  } catch (e) {
    throw new AirgapError('PROFILE_LOCK_INVALID', `${file}: not a valid lock file: ${(e as Error).message}`, { cause: e });
  }
}

export async function writeLock(file: string, lock: LockFile): Promise<void> {
  await writeFileAtomic(file, canonicalJson(lock));
}

/** Throws BUNDLE_LOCK_DRIFT naming both digests when a tag now resolves elsewhere. */
export function checkLock(lock: LockFile, lockFile: string, ref: string, resolved: string): void {
  const pinned = lock.images[ref];
  if (!pinned) throw new AirgapError('BUNDLE_LOCK_DRIFT', `${ref} is not in the lock file ${lockFile}; run bundle lock again`);
  if (pinned.digest !== resolved) {
    throw new AirgapError('BUNDLE_LOCK_DRIFT', `${ref} drifted: the lock file ${lockFile} pins ${pinned.digest}, the registry now serves ${resolved}`, { details: { ref, locked: pinned.digest, resolved } });
  }
}
