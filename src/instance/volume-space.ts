/**
 * Room left on the volumes that hold an instance's log (the tiles of v2, the database of v1):
 * status reports each, and names the one action when one is full.
 */
import { promises as fsp } from 'node:fs';
import type { InstancePaths } from './layout.js';

export interface VolumeSpace {
  dir: string;
  freeBytes: number;
  totalBytes: number;
  full: boolean;
  /** What the operator does about a full volume. */
  action?: string;
}

/** Below this much room for an unprivileged writer (the log servers are not root), a volume is full. */
export function isFull(freeBytes: number, totalBytes: number): boolean {
  return freeBytes < Math.max(16 * 1024 * 1024, totalBytes / 100);
}

export async function logVolumes(paths: InstancePaths): Promise<VolumeSpace[]> {
  const out: VolumeSpace[] = [];
  for (const dir of [paths.log, paths.db]) {
    const st = await fsp.statfs(dir).catch(() => undefined);
    if (!st) continue;
    const freeBytes = st.bavail * st.bsize;
    const totalBytes = st.blocks * st.bsize;
    const full = isFull(freeBytes, totalBytes);
    out.push({
      dir,
      freeBytes,
      totalBytes,
      full,
      ...(full
        ? {
            action: `free space on the volume of ${dir} (or grow it): writes fail while it is full (HTTP 500/503), entries already answered 201 stay; the log server resumes writing by itself once there is room`,
          }
        : {}),
    });
  }
  return out;
}
