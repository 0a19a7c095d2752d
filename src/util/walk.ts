/** Lists the regular files under a directory as sorted relative POSIX paths. */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { AirgapError } from '../errors.js';

export async function listFiles(root: string, skip: (rel: string) => boolean = () => false): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    const entries = await fsp.readdir(path.join(root, rel), { withFileTypes: true });
    for (const e of entries) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (skip(r)) continue;
      if (e.isDirectory()) await walk(r);
      else if (e.isFile()) out.push(r);
      else throw new AirgapError('BUNDLE_UNEXPECTED_ENTRY', `${path.join(root, r)} is not a regular file or directory`);
    }
  };
  await walk('');
  return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
