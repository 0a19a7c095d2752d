/**
 * Path safety at the moment of writing (node-tar's CHECKPATH): the relative path is checked as a
 * string, then every directory between the root and the file is looked at with lstat — a link
 * or a non-directory anywhere is refused — and missing ones are made one level at a time. Called
 * right before each write, so a staging tree left by an earlier run cannot redirect it.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { AirgapError } from '../errors.js';

const SAFE_PATH = /^(?!\/)(?!.*(?:^|\/)\.\.?(?:\/|$))[\w.@+-]+(?:\/[\w.@+-]+)*$/;

/** A relative path of plain names (letters, digits, `._@+-`) joined by `/`; no `.` or `..` part. */
export function isSafeRelativePath(p: string): boolean {
  return SAFE_PATH.test(p);
}

/** Returns root/rel after making its parent directories inside root, refusing links on the way. */
export async function safeFilePath(root: string, rel: string): Promise<string> {
  const base = path.resolve(root);
  const unsafe = (why: string) =>
    new AirgapError('MEDIA_UNSAFE_PATH', `refusing to write ${JSON.stringify(rel)} under ${base}: ${why}`);
  if (!isSafeRelativePath(rel)) throw unsafe('not a plain relative path');
  const full = path.resolve(base, rel);
  if (!full.startsWith(base + path.sep)) throw unsafe('it resolves outside the target');
  const rootSt = await fsp.lstat(base).catch(() => undefined);
  if (!rootSt || rootSt.isSymbolicLink() || !rootSt.isDirectory())
    throw unsafe(`${base} is not a directory (or is a link)`);
  let cur = base;
  for (const part of rel.split('/').slice(0, -1)) {
    cur = path.join(cur, part);
    const st = await fsp.lstat(cur).catch(() => undefined);
    if (!st) {
      await fsp.mkdir(cur, { mode: 0o755 }).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'EEXIST') throw e;
      });
      const again = await fsp.lstat(cur);
      if (!again.isDirectory() || again.isSymbolicLink())
        throw unsafe(`${cur} appeared as something other than a directory`);
      continue;
    }
    if (st.isSymbolicLink()) throw unsafe(`${cur} is a symbolic link`);
    if (!st.isDirectory()) throw unsafe(`${cur} is not a directory`);
  }
  const last = await fsp.lstat(full).catch(() => undefined);
  if (last && !last.isFile()) throw unsafe(`${full} exists and is not a regular file`);
  return full;
}
