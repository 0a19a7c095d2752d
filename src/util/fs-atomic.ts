/** Atomic file writes: temp file in the same directory → fsync → rename. */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';

export function tempPathFor(target: string): string {
  return path.join(path.dirname(target), `.tmp-${path.basename(target)}-${randomBytes(4).toString('hex')}`);
}

export async function writeFileAtomic(target: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  await fsp.mkdir(path.dirname(target), { recursive: true });
  const tmp = tempPathFor(target);
  const fh = await fsp.open(tmp, 'w', mode);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fsp.rename(tmp, target);
}

export async function exists(p: string): Promise<boolean> {
  try {
    await fsp.lstat(p);
    return true;
  } catch {
    return false;
  }
}
