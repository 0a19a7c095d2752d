/**
 * Reading a small file of outside origin: it must be a regular file (not a link, FIFO or device,
 * which could block or redirect the read) no larger than a cap, checked before a byte is read.
 */
import { closeSync, constants, fstatSync, openSync, promises as fsp, readSync, type Stats } from 'node:fs';
import { AirgapError, type ErrorCode } from '../errors.js';

export const SMALL_JSON_LIMIT = 16 * 1024 * 1024;

export interface RegularFileOptions {
  /**
   * Follow a symbolic link to the file it names (still a regular file, still capped). Only for the
   * operator's own configuration, which is often a link: ~/.docker/config.json from a dotfile
   * manager, a client's trust files from a Kubernetes ConfigMap mount.
   */
  followLinks?: boolean;
}

// O_NOFOLLOW refuses a link; O_NONBLOCK keeps a FIFO from blocking the open.
const flags = (o: RegularFileOptions) =>
  constants.O_RDONLY | constants.O_NONBLOCK | (o.followLinks ? 0 : constants.O_NOFOLLOW);

function openFailed(e: unknown, file: string, code: ErrorCode, what: string): AirgapError {
  const errno = (e as NodeJS.ErrnoException).code;
  const why =
    errno === 'ELOOP'
      ? 'is a symbolic link'
      : errno === 'ENOENT'
        ? 'is missing'
        : `is unreadable (${errno ?? (e as Error).message})`;
  return new AirgapError(code, `${what} ${file} ${why}`, { cause: e });
}

function checkOpened(st: Stats, file: string, limit: number, code: ErrorCode, what: string): void {
  if (!st.isFile()) throw new AirgapError(code, `${what} ${file} is not a regular file`);
  if (st.size > limit)
    throw new AirgapError(code, `${what} ${file} is ${st.size} bytes, more than the ${limit} allowed`);
}

/** True when `e` is the error of a read above for a file that does not exist (and only then). */
export function isMissingFile(e: unknown): boolean {
  return e instanceof AirgapError && (e.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

export async function readRegularFile(
  file: string,
  limit: number,
  code: ErrorCode,
  what: string,
  opts: RegularFileOptions = {},
): Promise<Buffer> {
  let fh;
  try {
    fh = await fsp.open(file, flags(opts));
  } catch (e) {
    throw openFailed(e, file, code, what);
  }
  try {
    const st = await fh.stat();
    checkOpened(st, file, limit, code, what);
    const buf = Buffer.alloc(st.size);
    let off = 0;
    while (off < st.size) {
      const { bytesRead } = await fh.read(buf, off, st.size - off, off);
      if (bytesRead === 0) break;
      off += bytesRead;
    }
    if (off !== st.size) throw new AirgapError(code, `${what} ${file} changed while it was read`);
    return buf;
  } finally {
    await fh.close();
  }
}

/** The same read, for callers that cannot wait (registry credentials are looked up as clients are made). */
export function readRegularFileSync(
  file: string,
  limit: number,
  code: ErrorCode,
  what: string,
  opts: RegularFileOptions = {},
): Buffer {
  let fd: number;
  try {
    fd = openSync(file, flags(opts));
  } catch (e) {
    throw openFailed(e, file, code, what);
  }
  try {
    const st = fstatSync(fd);
    checkOpened(st, file, limit, code, what);
    const buf = Buffer.alloc(st.size);
    let off = 0;
    while (off < st.size) {
      const n = readSync(fd, buf, off, st.size - off, off);
      if (n === 0) break;
      off += n;
    }
    if (off !== st.size) throw new AirgapError(code, `${what} ${file} changed while it was read`);
    return buf;
  } finally {
    closeSync(fd);
  }
}
